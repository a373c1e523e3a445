"""Raw shop-input messages and other components' events -> returns commands.

`{"applies": "return", "source": ..., "profile": ..., "order_id": "...", "note": "..."}`. Content
that can never become a command raises `PermanentFailure` with the reason: the message is parked.
"""

from __future__ import annotations

from typing import Any

from eventstore.consumers import PermanentFailure

from .domain import OpenReturn

MAX_TEXT_LENGTH = 200  # the read model's columns


def command_for_message(message: Any) -> OpenReturn:
    """The command of a raw input message (a RecordedEvent) that applies to returns."""
    return OpenReturn(order_id=_text(message.data, "order_id"), note=_text(message.data, "note"))


def _text(body: dict[str, Any], name: str) -> str:
    """A required, non-empty string field of the message."""
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise PermanentFailure(f"Field {name!r} must be a non-empty string.")
    if len(value) > MAX_TEXT_LENGTH:
        raise PermanentFailure(f"Field {name!r} is longer than {MAX_TEXT_LENGTH} characters.")
    return value
