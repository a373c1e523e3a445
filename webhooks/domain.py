"""What a partner's webhooks say and when: the kinds, an order's changes of status, and how long a
failing endpoint is retried. Standard library and the order's published status only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.order_status import status_after

#: Every change of an order's status a partner may subscribe to (docs/webhooks.md).
ORDER_KINDS = (
    "order.placed",
    "order.paid",
    "order.payment_declined",
    "order.dispatched",
    "order.delivered",
    "order.cancelled",
    "order.return_requested",
    "order.returned",
)
#: The outcome events of a message that its sender is told of, and their kinds.
MESSAGE_KIND_OF = {
    "MessageRejected": "message.rejected",
    "MessageParked": "message.parked",
    "MessageUnroutable": "message.unroutable",
}
MESSAGE_KINDS = tuple(MESSAGE_KIND_OF.values())
KINDS = ORDER_KINDS + MESSAGE_KINDS

#: The event that makes an order known; every other status event is about a known order.
ORDER_PLACED = "OrderPlaced"


class UnknownKind(ValueError):
    """An endpoint asked for a kind that does not exist."""


@dataclass(frozen=True)
class StatusChange:
    """An order moved from `previous_status` (None: it is new) to `status`."""

    status: str
    previous_status: str | None

    @property
    def kind(self) -> str:
        return f"order.{self.status}"

    def data(self, *, order_id: str) -> dict[str, str | None]:
        """The webhook body's `data` for this change."""
        return {"order_id": order_id, "status": self.status, "previous_status": self.previous_status}


def status_change(event_type: str, *, status: str | None) -> StatusChange | None:
    """The change an event of `event_type` makes to an order whose status is `status` (None: the
    order is not known yet); None when the status does not really change."""
    if status is None and event_type != ORDER_PLACED:
        return None  # not an order anyone placed: there is no one to tell
    new = status_after(status, event_type)
    return None if new == status else StatusChange(new, status)


def checked_kinds(kinds: Sequence[str]) -> list[str]:
    """The kinds an endpoint asks for, without repeats; UnknownKind for one that does not exist."""
    if unknown := [kind for kind in kinds if kind not in KINDS]:
        raise UnknownKind(f"Unknown webhook kinds: {', '.join(unknown)}. Known: {', '.join(KINDS)}.")
    return list(dict.fromkeys(kinds))


def wants(kinds: Sequence[str], kind: str) -> bool:
    """Whether an endpoint that asked for `kinds` (empty: every kind) wants `kind`."""
    return not kinds or kind in kinds


@dataclass(frozen=True)
class RetryPolicy:
    """How a failing endpoint is retried: the n-th failure in a row waits `base_seconds` * 2 **
    (n - 1), at most `max_backoff_seconds`; a delivery still undelivered `retry_for` after it was
    written is parked at its next failure."""

    base_seconds: float = 1.0
    max_backoff_seconds: float = 3600.0
    retry_for: timedelta = timedelta(hours=25)

    def backoff(self, failures: int) -> timedelta:
        """The wait after the `failures`-th failure in a row (1 or more)."""
        if failures < 1:
            raise ValueError("A backoff follows at least one failure.")
        # The exponent is capped before it is raised: 2 ** a long run of failures would overflow.
        exponent = min(failures - 1, 64)
        return timedelta(seconds=min(self.base_seconds * 2**exponent, self.max_backoff_seconds))

    def gives_up(self, *, retry_from: datetime, now: datetime) -> bool:
        """Whether a delivery tried since `retry_from` (written, or replayed) that fails at `now`
        is parked."""
        return now - retry_from >= self.retry_for
