"""Staff act through messages, never by editing rows: what they ask goes through the gateway.

Staff are a partner of the gateway like any other, named "staff" and allowed the `staff` source;
their messages carry the staff user in their metadata, so an order's story shows who sent them.
The components handle a staff message as they handle any other (a cancel is accepted from any
source, docs/design.md 6.2), and its outcome is the message's like any partner's. The admin calls
this module; a management command would too.
"""

from __future__ import annotations

from typing import Any

from gateway.models import Partner
from gateway.service import Receipt, receive_message

STAFF_PARTNER = "staff"
SOURCE = "staff"


def staff_partner() -> Partner:
    """The gateway caller staff messages are sent as, created on first use."""
    return Partner.of_the_shop(STAFF_PARTNER, [SOURCE])


def cancel_message(order_id: str, *, reason: str) -> dict[str, Any]:
    """The raw cancel message of docs/design.md 6.2, from the `staff` source."""
    return {
        "applies": "order",
        "source": SOURCE,
        "profile": "staff",
        "action": "cancel",
        "order_id": order_id,
        "reason": reason,
    }


def send_staff_cancel(order_id: str, *, reason: str, user: str, idempotency_key: str | None = None) -> Receipt:
    """Send the cancel of `order_id` through the gateway as staff user `user` (a username).

    `idempotency_key`: the same key with the same order and reason sends one message (a double
    submit of one form); with another reason it raises `IdempotencyKeyReused`. Raises the gateway's
    errors (`GatewayError`), nothing being sent then. Call it outside a transaction, as the gateway
    wants. The orders component decides: it cancels the order, or rejects the cancel once dispatched.
    """
    return receive_message(
        cancel_message(order_id, reason=reason),
        caller=staff_partner(),
        idempotency_key=idempotency_key,
        metadata={"user": user},
    )
