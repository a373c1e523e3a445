"""R6: the transaction that appended rolls back: no task runs for its events.

In-process (no broker), deliveries and projector runs follow each commit in the committing thread,
so a rolled-back append is the one case where the on-commit announcement must not happen. (With
Celery workers, tests/faults/test_r14_r15_r16_readers_under_load.py rolls appends back under load.)
"""

import pytest
from django.db import transaction

from eventstore.models import Delivery, ParkedMessage, ProcessedEvent
from orders.models import OrderSummary
from tests.faults.invariants import (
    Order,
    assert_nothing_lost_nothing_doubled,
    assert_read_models_equal_rebuild,
)
from tests.flows import placed, streams, web_order

pytestmark = pytest.mark.django_db(transaction=True)


class Abandoned(Exception):
    """The appender changed its mind after the append."""


def test_an_append_rolled_back_runs_no_handler_and_no_projector(post):
    orders = [Order("R6-before"), Order("R6-after")]
    accepted = [post(web_order("R6-before", "tok_ok"))]
    handled = ProcessedEvent.objects.count()
    with pytest.raises(Abandoned), transaction.atomic():
        placed("R6-rolled-back")
        raise Abandoned
    assert ProcessedEvent.objects.count() == handled
    accepted.append(post(web_order("R6-after", "tok_ok")))

    assert streams("R6-rolled-back") == ([], [], [])  # never charged, never shipped
    assert not OrderSummary.objects.filter(order_id="R6-rolled-back").exists()
    assert not Delivery.objects.exists() and not ParkedMessage.objects.exists()
    assert_nothing_lost_nothing_doubled(accepted=accepted, orders=orders)
    assert_read_models_equal_rebuild(orders)
