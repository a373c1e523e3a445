"""Time travel on an order's admin page: the order summary as it was right after any event of the
order's story, beside the row as it is now, field by field.

Nothing of the past is stored: the row is folded again by the order summary's projector
(`OrderSummaryProjector.fold`) over the story's events up to the chosen one, read through the
event store (`EventStore.get_all`), so each event comes out as the code reads it
(`eventstore.mapping.on_read`: upcast to the current shape, personal data opened).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from eventstore.models import Event
from eventstore.store import EventStore

from .models import OrderSummary
from .order_page import TIME_FORMAT, money
from .projections import OrderSummaryProjector

PROJECTOR = OrderSummaryProjector()
#: The query string parameter naming the event: its position in the log.
PARAMETER = "as_of"


class NotInStory(ValueError):
    """`as_of` names no event of the order's story; the message says so in words."""


@dataclass(frozen=True)
class FieldThen:
    name: str
    label: str
    then: Any
    now: Any

    @property
    def differs(self) -> bool:
        return self.then != self.now


@dataclass(frozen=True)
class AsOf:
    """The row after the `number`-th event of the story (`event`), or None if it had none yet."""

    event: Event
    number: int
    row: dict[str, Any] | None
    fields: list[FieldThen]


def chosen_event(story: list[Event], value: str) -> tuple[int, Event]:
    """The story's event whose position `value` gives, and its number in the story (from 1)."""
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 19):
        raise NotInStory(f"“{value[:40]}” is not an event's position: choose an event of the story below.")
    position = int(text)
    for number, event in enumerate(story, start=1):
        if event.position == position:
            return number, event
    raise NotInStory(f"Event {position} is not in this order's story: choose an event of the story below.")


def fold_up_to(order_id: str, story: list[Event], number: int) -> dict[str, Any] | None:
    """The order summary row after the story's first `number` events: the projector's fold over
    those of them it follows that are about this order (None if none is)."""
    wanted = [event.event_id for event in story[:number] if event.event_type in PROJECTOR.event_types]
    row = None
    for event in EventStore().get_all(wanted):  # in log order, as the story
        if PROJECTOR.key(event) == (order_id,):
            row = PROJECTOR.fold(row, event)
            row["order_id"] = order_id
    return row


def as_of(summary: OrderSummary, story: list[Event], value: str) -> AsOf:
    """The summary as it was right after the event `value` names, beside `summary` as it is now."""
    number, event = chosen_event(story, value)
    row = fold_up_to(summary.order_id, story, number)
    fields = []
    for field in OrderSummary._meta.fields:
        then = None if row is None else row.get(field.name, field.get_default())
        fields.append(FieldThen(field.name, str(field.verbose_name), then, getattr(summary, field.name)))
    return AsOf(event, number, row, fields)


def shown(value: Any) -> str:
    """A value of the row in words: times in UTC, amounts with two decimals, lines one by one."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime(TIME_FORMAT)
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, list):
        if not value:
            return "no lines"
        return "; ".join(f"{line.get('quantity')} × {line.get('sku')} at {line.get('unit_price')}" for line in value)
    return str(value)


def _mark(differs: bool) -> SafeString:
    """The mark of a field that differs: a sign, said as a word to screen readers."""
    if not differs:
        return SafeString("")
    return format_html('<span aria-hidden="true">≠</span><span class="tt-hidden">{}</span>', "differs")


def panel(found: AsOf, *, close_url: str) -> SafeString:
    """The comparison: each field after the event and now, the fields that differ marked in words."""
    rows = format_html_join(
        "",
        '<tr class="{}"><th scope="row">{}</th><td>{}</td><td>{}</td><td class="tt-mark">{}</td></tr>',
        (
            (f"tt-{'differs' if f.differs else 'same'}", f.label, shown(f.then), shown(f.now), _mark(f.differs))
            for f in found.fields
        ),
    )
    differing = sum(f.differs for f in found.fields)
    event = found.event
    summary_line = (
        "The order summary had no row yet after this event."
        if found.row is None
        else f"{differing} field{'s' if differing != 1 else ''} differ{'s' if differing == 1 else ''} from now."
    )
    return format_html(
        '<fieldset class="module time-travel" id="time-travel"><h2>As it was after event {} of the story</h2>'
        '<p class="tt-event"><a href="#event-{}">{}</a> ({}, position {}) at {} UTC. {} <a href="{}">Close</a></p>'
        '<div class="order-table-box"><table class="tt-compare"><thead><tr><th scope="col">Field</th>'
        '<th scope="col">After event {}</th><th scope="col">Now</th><th scope="col"><span class="tt-hidden">'
        "Differs</span></th></tr></thead><tbody>{}</tbody></table></div></fieldset>",
        found.number,
        event.position,
        event.event_type,
        event.stream_id,
        event.position,
        event.recorded_at.strftime(TIME_FORMAT),
        summary_line,
        close_url,
        found.number,
        rows,
    )


def refusal(message: str, *, close_url: str) -> SafeString:
    return format_html(
        '<fieldset class="module time-travel" id="time-travel"><h2>Time travel</h2>'
        '<p class="errornote" role="alert">{} <a href="{}">Close</a></p></fieldset>',
        message,
        close_url,
    )
