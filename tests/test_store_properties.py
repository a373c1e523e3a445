"""Property test: any sequence of appends leaves the store equal to a plain in-memory model."""

import uuid
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore.store import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    EventStore,
    NewEvent,
    WrongExpectedVersion,
)
from tests.waiting import settled_log

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass(frozen=True)
class Append:
    stream: int
    size: int
    expected: str  # "right", "wrong", "no_stream", "any", "stream_exists", "repeat"


appends = st.lists(
    st.builds(
        Append,
        stream=st.integers(0, 2),
        size=st.integers(1, 3),
        expected=st.sampled_from(["right", "wrong", "no_stream", "any", "stream_exists", "repeat"]),
    ),
    max_size=25,
)


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(appends)
def test_appends_and_reads_match_a_model(operations: list[Append]):
    category = f"p{uuid.uuid4().hex[:12]}"  # each example in a category of its own
    store = EventStore(page_size=4)
    model: dict[str, list[uuid.UUID]] = {}
    last_batch: dict[str, tuple[list[NewEvent], object]] = {}

    for op in operations:
        stream_id = f"{category}-{op.stream}"
        stream = model.setdefault(stream_id, [])
        head = len(stream) - 1
        batch = [NewEvent("Happened", {"n": n}) for n in range(op.size)]
        if op.expected == "repeat":
            if stream_id not in last_batch:
                continue
            batch, expected = last_batch[stream_id]
        else:
            expected = {
                "right": head if head >= 0 else NO_STREAM,
                "wrong": head + 1 + op.size,
                "no_stream": NO_STREAM,
                "any": ANY,
                "stream_exists": STREAM_EXISTS,
            }[op.expected]

        should_write = op.expected != "repeat" and (
            op.expected in ("right", "any")
            or (op.expected == "no_stream" and head < 0)
            or (op.expected == "stream_exists" and head >= 0)
        )
        try:
            result = store.append(stream_id, batch, expected)
        except WrongExpectedVersion as refused:
            assert not should_write
            assert refused.actual == head
            continue
        if op.expected == "repeat":
            # Repeating a batch that was written, with its expected version, writes nothing.
            assert result.positions == ()
            start = stream.index(batch[0].event_id)
            assert stream[start : start + len(batch)] == [e.event_id for e in batch]
            continue
        assert should_write
        stream.extend(e.event_id for e in batch)
        assert result.version == len(stream) - 1
        last_batch[stream_id] = (batch, expected)

    # Each stream reads back as the model has it, forwards and backwards, contiguous from 0.
    for stream_id, ids in model.items():
        recorded = store.read_stream(stream_id)
        assert [e.event_id for e in recorded] == ids
        assert [e.version for e in recorded] == list(range(len(ids)))
        assert [e.event_id for e in store.read_stream(stream_id, backwards=True)] == ids[::-1]
        assert store.stream_version(stream_id) == len(ids) - 1

    # The log holds every event once, each stream in version order, and paging loses nothing.
    log = settled_log(store, sum(len(ids) for ids in model.values()), categories=[category])
    assert sorted(e.event_id for e in log) == sorted(i for ids in model.values() for i in ids)
    for stream_id, ids in model.items():
        assert [e.event_id for e in log if e.stream_id == stream_id] == ids
    assert [e.checkpoint for e in log] == sorted(e.checkpoint for e in log)
