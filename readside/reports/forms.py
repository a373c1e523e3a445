"""The reports' date range: a plain GET form, `?from=YYYY-MM-DD&to=YYYY-MM-DD`, both days included."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django import forms
from django.utils import timezone

DEFAULT_DAYS = 30
#: The longest range a report covers: it bounds the rows one request reads.
MAX_DAYS = 731


@dataclass(frozen=True)
class DateRange:
    """The days from `first_day` to `last_day`, both included, in the site's time zone."""

    first_day: datetime.date
    last_day: datetime.date

    @property
    def start(self) -> datetime.datetime:
        return _midnight(self.first_day)

    @property
    def end(self) -> datetime.datetime:
        """The first moment after the range (exclusive)."""
        return _midnight(self.last_day + datetime.timedelta(days=1))

    def days(self) -> list[datetime.date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + datetime.timedelta(days=n) for n in range(count)]

    def previous(self) -> DateRange:
        """The period of the same length just before this one."""
        length = self.last_day - self.first_day + datetime.timedelta(days=1)
        return DateRange(self.first_day - length, self.first_day - datetime.timedelta(days=1))

    def query(self) -> str:
        """The range as the query string of a report's URL."""
        return f"from={self.first_day.isoformat()}&to={self.last_day.isoformat()}"


@dataclass(frozen=True)
class QuickRange:
    label: str
    period: DateRange


def quick_ranges(today: datetime.date) -> list[QuickRange]:
    """The ranges a click away: the last 7, 30 and 90 days, and this month so far."""
    last = [
        QuickRange(f"Last {days} days", DateRange(today - datetime.timedelta(days=days - 1), today))
        for days in (7, 30, 90)
    ]
    return last + [QuickRange("This month", DateRange(today.replace(day=1), today))]


class DateRangeForm(forms.Form):
    """`from` and `to` (`from` is a Python keyword, hence the fields are added in `__init__`).

    Either may be left out: `to` defaults to today, `from` to 29 days before `to`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        date_input = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        self.fields["from"] = forms.DateField(required=False, input_formats=["%Y-%m-%d"], widget=date_input)
        self.fields["to"] = forms.DateField(required=False, input_formats=["%Y-%m-%d"], widget=date_input)

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        last_day = cleaned.get("to") or timezone.localdate()
        first_day = cleaned.get("from") or last_day - datetime.timedelta(days=DEFAULT_DAYS - 1)
        if first_day > last_day:
            raise forms.ValidationError("The start of the range is after its end.")
        if (last_day - first_day).days + 1 > MAX_DAYS:
            raise forms.ValidationError(f"A range covers at most {MAX_DAYS} days.")
        cleaned["from"], cleaned["to"] = first_day, last_day
        return cleaned

    def date_range(self) -> DateRange:
        """The valid range; call after `is_valid()`."""
        return DateRange(self.cleaned_data["from"], self.cleaned_data["to"])


def _midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
