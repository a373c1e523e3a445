"""The storefront: the catalog, the order form (through the gateway service) and the status page."""

from django.urls import path

from readside.storefront import views

urlpatterns = [
    path("", views.home, name="home"),
    path("orders/<uuid:order_id>/", views.order_status_page, name="order-status"),
    path("orders/<uuid:order_id>/return/", views.request_return_page, name="order-return"),
    path("orders/<uuid:order_id>/status.json", views.order_status_json, name="order-status-json"),
]
