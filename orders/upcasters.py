"""How orders' events of older shapes are read now (eventstore.upcasting).

OrderCancelled 1 -> 2: version 2 says who asked for the cancel (`requested_by`: customer, staff or
partner). A version-1 event did not record it, nor does its metadata say it (only its flow and its
cause), and an upcaster reads only the event it is given: it is "unknown", rather than a guess the
order's story would then show as a fact.
"""

from __future__ import annotations

from typing import Any

from eventstore.upcasting import upcaster

from .domain import UNKNOWN_REQUESTER


@upcaster("OrderCancelled", from_version=1)
def cancel_requested_by_unknown(data: dict[str, Any], metadata: dict[str, Any]) -> dict[str, Any]:
    return {**data, "requested_by": UNKNOWN_REQUESTER}


UPCASTERS = (cancel_requested_by_unknown,)
