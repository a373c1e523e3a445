from django.contrib import admin
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from shopsite import views
from shopsite.api.views import ShopInputView
from shopsite.health import healthz

urlpatterns = [
    path("", views.home, name="home"),
    path("shop/api/v1", ShopInputView.as_view(), name="shop-input"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
