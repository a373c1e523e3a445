"""A drain that ran past its partition's lease (its worker paused, R23) writes no checkpoint and
stops; one whose worker died (R26) has its partition drained by the next runner at once on
PostgreSQL, without waiting for the lease."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections

from eventstore import leases
from eventstore.consumers import Drained, drain
from eventstore.models import ConsumerPartition, ProcessedEvent
from tests.test_consumers import Handler, billing, payments, received
from tests.threads import in_threads

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.postgresql  # concurrent writers: SQLite serialises them
def test_a_drain_that_outlived_its_lease_writes_no_checkpoint_and_says_busy(settings):
    settings.CONSUMER_PARTITIONS = 1
    received("A-1")
    received("A-2")
    handle = Handler()
    taken_over = []

    def another_worker(n: int) -> Drained:  # on its own connection, once the first one's lease ran out
        ConsumerPartition.objects.update(leased_until=datetime.now(UTC) - timedelta(seconds=1))
        return drain(billing(Handler()), 0)

    def stall_once(event):
        if not taken_over:  # paused here past the lease: another worker drains the partition
            taken_over.extend(in_threads(1, another_worker))
        handle(event)  # too late: the other's payments are there (WrongExpectedVersion, then settled)

    assert drain(billing(stall_once), 0) is Drained.BUSY
    assert taken_over == [Drained.CAUGHT_UP]
    after_the_other = ConsumerPartition.objects.get()
    assert after_the_other.leased_by == ""  # the late one let go of nothing it did not hold
    assert ProcessedEvent.objects.count() == 2
    assert len(payments("A-1")) == len(payments("A-2")) == 1  # nothing doubled


@pytest.mark.postgresql
def test_the_partition_of_a_drain_whose_connection_died_is_drained_at_once(settings):
    settings.CONSUMER_PARTITIONS = 1
    settings.PARTITION_LEASE_SECONDS = 600
    received("A-1")

    def dies_holding_the_partition(n: int) -> None:
        # The worker's process dies mid-drain: no `finally`, its connection closed by the kernel.
        holder = leases.new_holder()
        ConsumerPartition.objects.get_or_create(group="billing", partition=0, defaults={"leased_until": leases.FREE})
        assert leases.take(ConsumerPartition.objects.all(), holder, length=timedelta(seconds=600))
        connections["default"].close()

    in_threads(1, dies_holding_the_partition)
    assert ConsumerPartition.objects.get().leased_until > datetime.now(UTC) + timedelta(seconds=500)
    assert drain(billing(Handler()), 0) is Drained.CAUGHT_UP
    assert len(payments("A-1")) == 1
