"""What every admin of the shop builds on: read-only bases, and the guards that keep a change list
quick and its query string narrow.

- `NeverWrites`: no add, change or delete, for superusers too (a model admin or an inline).
- `FilterLookupsOnly`: the query string takes only the lookups the list's own filters write.
- `ReadOnlyAdmin`: the event log's and snapshots' base, quick on a table of millions
  (`CappedCountPaginator`, `SortableByOnlyChangeList`, only `allowed_lookups`).
- `ReadModelAdmin`: a read model's base, shown and never written (its projector writes it).
- `pretty_json` and `event_list_link`: how a page shows event data and links into the log.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString


class CappedCountPaginator(Paginator):
    """A paginator that counts at most `cap` rows, so no page view runs COUNT(*) over the log.

    A full COUNT(*) reads every row (or every index entry) of a table of millions of events, on
    every page view. This one counts `SELECT ... LIMIT cap + 1` instead, which stops after cap + 1
    index entries. When there are more rows, `count` reads as `cap` and `capped` is true: the list
    offers the first cap / per_page pages and says "more than cap"; older events are reached by
    narrowing the list with a filter or a search, whose results are counted the same way.
    """

    cap = 10_000

    @cached_property
    def _rows_up_to_cap_plus_one(self) -> int:
        if isinstance(self.object_list, QuerySet):
            # Unordered: any cap + 1 rows count the same, and the planner may read the narrowest index.
            return self.object_list.order_by().values("pk")[: self.cap + 1].count()
        return len(self.object_list)

    @cached_property
    def count(self) -> int:
        return min(self._rows_up_to_cap_plus_one, self.cap)

    @property
    def capped(self) -> bool:
        """True when there are more rows than `count` says."""
        return self._rows_up_to_cap_plus_one > self.cap


class SortableByOnlyChangeList(ChangeList):
    """A change list that sorts only by the `sortable_by` columns.

    Django hides the other column headers' sort links but still obeys ?o= for them; on the log an
    order no index serves (?o= on version, say) would sort millions of rows.
    """

    def get_ordering_field(self, field_name: str) -> str | None:
        if field_name not in self.sortable_by:
            return None
        return super().get_ordering_field(field_name)


#: The lookups Django's own list filters write after the filtered field's name (`status__exact`,
#: `recorded_at__gte`, `partner__id__exact`, `placed_at__year`, or the bare name).
FILTER_LOOKUPS = frozenset({"exact", "isnull", "gte", "lt", "year", "month", "day", "id__exact"})


class FilterLookupsOnly:
    """A change list that takes from the query string only the lookups its own list filters and
    date hierarchy write; any other lookup answers 400.

    Django's ModelAdmin takes any lookup on any column of the model: `?name__regex=(` fails in the
    database with a server error, and `?order_id__regex=...` scans the whole table. A year, month
    or day of the date hierarchy must also be a number of at most four digits: Django lets
    `?placed_at__year=99999999999` overflow into a server error.
    """

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        for name in self._filtered_fields():
            if lookup == name:
                return True
            suffix = lookup.removeprefix(f"{name}__")
            if suffix != lookup and suffix in FILTER_LOOKUPS:
                dated = suffix in ("year", "month", "day")
                return not dated or (value.isascii() and value.isdigit() and len(value) <= 4)
        return False

    def _filtered_fields(self) -> set[str]:
        names = {self.date_hierarchy} if self.date_hierarchy else set()
        for list_filter in self.list_filter:
            if isinstance(list_filter, str):
                names.add(list_filter)
            elif isinstance(list_filter, tuple | list):
                names.add(list_filter[0])  # (field, its filter class)
            else:
                names.add(list_filter.parameter_name)  # a filter of its own, reading its parameter
        return names


class NeverWrites:
    """No add, change or delete in the admin, for superusers too: the change view still opens,
    read only, and a POST to it or to the delete view is refused with 403."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # an inline is asked with its parent, `obj`

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyAdmin(NeverWrites, admin.ModelAdmin):
    """Shows rows and never writes them, and stays quick on a table of millions.

    The event log is append-only (events are written by EventStore.append alone) and snapshots are
    a cache kept by the repository.
    """

    actions = None
    # The query-string lookups accepted: those an index serves. Django would accept a lookup on any
    # field, and ?data__icontains= would scan the whole table.
    allowed_lookups: frozenset[str] = frozenset()
    paginator = CappedCountPaginator
    show_full_result_count = False
    # Facet counts run one COUNT per filter choice over the whole table.
    show_facets = admin.ShowFacets.NEVER

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return SortableByOnlyChangeList

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return lookup in self.allowed_lookups


class ReadModelAdmin(FilterLookupsOnly, NeverWrites, admin.ModelAdmin):
    """A read model in the admin: shown, never written (its projector writes it; rebuild it from
    the processing page), filtered only as its list filters offer."""

    actions = None
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [f.name for f in self.model._meta.fields]


def pretty_json(value: Any) -> SafeString:
    """`value` as indented JSON in a <pre>, HTML-escaped: event data comes from the outside world."""
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))


def event_list_link(text: str, *, full_text: str | None = None, **lookup: str) -> SafeString:
    """A link to the event change list filtered by `lookup`, e.g. stream_id="order-42"."""
    url = reverse("admin:eventstore_event_changelist") + "?" + urlencode(lookup)
    return format_html('<a href="{}" title="{}">{}</a>', url, full_text or text, text)
