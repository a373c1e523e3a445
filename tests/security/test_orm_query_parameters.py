"""S9: query parameters aimed at the ORM (`_connector=OR`, an arbitrary ordering, lookups across
relations or on any column, an invalid regular expression, a year past the calendar, NUL) sent to
every change list of the admin, to the reports and their CSV exports, and to the storefront's
status JSON. Each answers as without them, or 400 (the admin may redirect to its own `?e=1` error
page); never a server error, never more rows. The read API's own parameters are attacked in
tests/test_partner_api.py, the gateway's in tests/test_gateway.py.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import models
from django.test import Client
from django.urls import reverse

from orders.models import OrderSummary
from readside.reports.sections import REPORTS
from tests.flows import dispatched, web_order
from tests.partners import new_partner_key

pytestmark = pytest.mark.django_db(transaction=True)

#: Aimed at any change list; a model's own text columns are aimed at as well (`column_lookups`).
AIMED = [
    "_connector=OR&pk__gt=0",
    "_negated=True",
    "ordering=password",
    "status__in=paid,placed",
    "partner__name=acme",
    "partner__api_keys__hashed_key__startswith=p",
    "user__password__startswith=p",
    "order_id__startswith=S",
    "pk=%00",
    "placed_at__year=99999999999",
    "placed_at__year=2026&placed_at__month=13",
    "recorded_at__gte=garbage",
    "lines__contains=x",
    "data__icontains=x",
    "total__gt=1e999",
    # Django's own parameters: a sort, a search, a page
    "o=-1",
    "o=1.-2.x",
    "q=%27%20OR%201%3D1%20--%00",
    "p=99999",
]


def column_lookups(model: type[models.Model]) -> list[str]:
    """An invalid regular expression on each of the model's text columns."""
    texts = [f.name for f in model._meta.concrete_fields if isinstance(f, models.CharField | models.TextField)]
    return [f"{name}__regex=(" for name in texts]


@pytest.fixture
def staff(post) -> Client:
    """A superuser's browser, and a row in every table the admin lists."""
    call_command("loaddata", "demo_catalog", verbosity=0)
    new_partner_key("globex")
    post(web_order("S9-1", "tok_ok"))
    post(web_order("S9-2", "tok_decline"))
    post(dispatched("S9-1"))
    post({**web_order("S9-BAD", "tok_ok"), "lines": []})  # parked
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("boss", "boss@example.com", "a long password"))
    return client


def rows_of(answer) -> set:
    return {obj.pk for obj in answer.context_data["cl"].result_list}


def assert_ignored_or_refused(answer, plain: set | bytes, what: str) -> None:
    assert answer.status_code < 500, (what, answer.status_code)
    if answer.status_code == 302:
        assert answer["Location"].endswith("?e=1"), (what, answer["Location"])
    elif answer.status_code != 400:
        assert answer.status_code == 200, (what, answer.status_code)
        if isinstance(plain, set):
            assert rows_of(answer) <= plain, what  # never more rows
        else:
            assert answer.content == plain, what  # the very same answer


def test_every_admin_change_list_ignores_or_refuses_parameters_aimed_at_the_orm(staff):
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        plain = staff.get(url)
        assert plain.status_code == 200, url
        if plain.context_data is None or "cl" not in plain.context_data:
            continue  # a page of its own (the processing page): it reads no lookups
        before = rows_of(plain)
        for query in [*AIMED, *column_lookups(model)]:
            assert_ignored_or_refused(staff.get(f"{url}?{query}"), before, f"{url}?{query}")


def test_the_reports_and_their_exports_ignore_or_refuse_parameters_aimed_at_the_orm(staff):
    for path in ["/reports/", *[f"/reports/{name}.csv" for name in REPORTS]]:
        plain = staff.get(path)  # the last 30 days: today's orders
        assert plain.status_code == 200, path
        for query in [*AIMED, "from=2000-01-01&from=1999-01-01", f"to={quote('2001-12-31')}%00"]:
            assert_ignored_or_refused(staff.get(f"{path}?{query}"), plain.content, f"{path}?{query}")


def test_the_storefronts_status_json_ignores_parameters_aimed_at_the_orm(staff, client):
    order_id = "6f1c4a52-4a7a-4e64-9a0e-1a3a7d9b2c11"  # the storefront's order: 200 (an id no one placed, 404)
    OrderSummary.objects.filter(order_id="S9-1").update(order_id=order_id, partner="storefront")
    path = reverse("order-status-json", kwargs={"order_id": order_id})
    answer = client.get(path)
    assert answer.status_code == 200
    plain = answer.content
    for query in AIMED:
        assert_ignored_or_refused(client.get(f"{path}?{query}"), plain, query)
