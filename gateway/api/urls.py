"""The gateway's paths (docs/design.md 6.1 and 6.6): the post, and what became of each message."""

from django.urls import path, re_path

from gateway.api.messages import MessageOutcomeView
from gateway.api.views import ShopInputView

urlpatterns = [
    path("shop/api/v1", ShopInputView.as_view(), name="shop-input"),
    # Any text after messages/, so that a malformed id gets the API's JSON 404, not Django's page.
    re_path(r"^shop/api/v1/messages/(?P<message_id>[\s\S]+)$", MessageOutcomeView.as_view(), name="message-outcome"),
]
