"""Staff reports at /reports/, read from the read models."""

from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.reports_page, name="index"),
    path("<slug:name>.csv", views.report_csv, name="csv"),
]
