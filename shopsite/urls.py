from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from shopsite.api.messages import MessageOutcomeView
from shopsite.api.views import ShopInputView
from shopsite.health import healthz
from shopsite.observability.metrics import metrics

# Swagger UI: its script from a URL of its own, not inline (the content security policy allows no
# inline script); its stylesheet draws icons as data: images, which this page alone may load.
api_docs = csp_update({"img-src": ["data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="shopsite/api_docs.html")
)

urlpatterns = [
    path("", include("shopsite.storefront.urls")),
    path("reports/", include("shopsite.reports.urls")),
    path("api/v1/", include("shopsite.api.read_urls")),
    path("shop/api/v1", ShopInputView.as_view(), name="shop-input"),
    # Any text after messages/, so that a malformed id gets the API's JSON 404, not Django's page.
    re_path(r"^shop/api/v1/messages/(?P<message_id>[\s\S]+)$", MessageOutcomeView.as_view(), name="message-outcome"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
]

# A generic page, or generic JSON on the API's paths, for an unhandled error (DEBUG off).
handler500 = "shopsite.server_error.server_error"
