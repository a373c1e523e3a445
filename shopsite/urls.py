import threading

from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from shopsite.health import healthz
from shopsite.observability.metrics import metrics

# Swagger UI: its script from a URL of its own, not inline (the content security policy allows no
# inline script); its stylesheet draws icons as data: images, which this page alone may load.


class SchemaView(SpectacularAPIView):
    """The schema, built by one thread at a time: drf-spectacular's generator is not thread-safe
    (tfranzel/drf-spectacular#1122), and gunicorn's threads asking at once answered 500."""

    building = threading.Lock()

    @extend_schema(exclude=True)  # as the view it extends: the schema does not describe itself
    def get(self, request, *args, **kwargs):
        with self.building:
            return super().get(request, *args, **kwargs)


api_docs = csp_update({"img-src": ["data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="shopsite/api_docs.html")
)

urlpatterns = [
    path("", include("readside.storefront.urls")),
    path("reports/", include("readside.reports.urls")),
    path("api/v1/", include("readside.api.urls")),
    path("", include("gateway.api.urls")),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
]

# A generic page, or generic JSON on the API's paths, for an unhandled error (DEBUG off).
handler500 = "shopsite.server_error.server_error"
