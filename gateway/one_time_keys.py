"""A form's one-time key: made when the form is shown, posted back with it, and sent as the
gateway's Idempotency-Key, so the same form sent twice (a double click, a reload, back and
resubmit) is one message. The storefront's order form and the admin's cancel carry one.

A key is a uuid4 in one spelling only (lower case, with hyphens): the gateway compares keys as
text, so two spellings of one uuid would be two keys.
"""

from __future__ import annotations

import re
import uuid

from django import forms

_KEY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def new_key() -> str:
    """A one-time key for a form about to be shown (a uuid4: unguessable)."""
    return str(uuid.uuid4())


def is_key(value: object) -> bool:
    """Whether `value` is a key `new_key` makes."""
    return isinstance(value, str) and _KEY.fullmatch(value) is not None


class OneTimeKeyField(forms.CharField):
    """A hidden field holding a key `new_key` made (a new one for each form shown); anything else
    is refused (`invalid`), as is no key at all (`required`)."""

    widget = forms.HiddenInput
    default_error_messages = {"invalid": "This form could not be read as one the shop showed you; nothing was sent."}

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("initial", new_key)  # a callable: each form shown gets a key of its own
        super().__init__(**kwargs)

    def validate(self, value: str) -> None:
        super().validate(value)
        if value and not is_key(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
