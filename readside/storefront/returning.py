"""Asking for a return from the status page: the raw return message of docs/design.md 6.8,
through the gateway service as the storefront partner, like the order form's orders.

The returns component decides (a delivered order only, once); the status page shows the
message's outcome until the order summary follows.
"""

from __future__ import annotations

from django import forms

from gateway.models import IdempotencyRecord
from gateway.one_time_keys import OneTimeKeyField
from gateway.service import IdempotencyKeyReused, receive_message
from readside.storefront.catalog import STORE_DOWN_ERRORS
from readside.storefront.ordering import SOURCE, StoreUnavailable, storefront_partner

MAX_REASON_LENGTH = 200  # returns/adapters.py: the longest reason the returns component takes
NO_REASON = "Tell us in a few words why you are sending it back."


class ReturnForm(forms.Form):
    """The reason of a return, and the form's one-time key (the same form sent twice is one request)."""

    reason = forms.CharField(
        label="Why are you sending it back?",
        max_length=MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": MAX_REASON_LENGTH}),
        error_messages={"required": NO_REASON},
    )
    return_key = OneTimeKeyField()

    def one_time_key(self) -> str:
        return self.cleaned_data["return_key"]


def request_return(order_id: str, *, reason: str, key: str) -> str:
    """Send the customer's return request for `order_id`, once per form `key`; its message id.

    Raises StoreUnavailable when the store cannot be reached; nothing is stored then.
    """
    partner = storefront_partner()
    body = {"applies": "return", "source": SOURCE, "profile": "customer", "order_id": order_id, "reason": reason}
    try:
        return str(receive_message(body, caller=partner, idempotency_key=key).message_id)
    except IdempotencyKeyReused:
        # The same form sent again with another reason: the request it sent first stands.
        return str(IdempotencyRecord.objects.get(partner=partner, key=key).message_id)
    except STORE_DOWN_ERRORS as error:
        raise StoreUnavailable(str(error)) from error
