from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from shopsite.api.views import ShopInputView
from shopsite.health import healthz

urlpatterns = [
    path("", include("shopsite.storefront.urls")),
    path("reports/", include("shopsite.reports.urls")),
    path("api/v1/", include("shopsite.api.read_urls")),
    path("shop/api/v1", ShopInputView.as_view(), name="shop-input"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
