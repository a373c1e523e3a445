"""The event store and the generic mechanics every component reuses.

- `eventstore.store`: `EventStore` (append, read a stream, read the log), expected versions, errors.
- `eventstore.aggregate`: the `Aggregate` base (standard library only).
- `eventstore.repository`: `Repository` (load and save with snapshots) and `retry_on_conflict`.
- `eventstore.codec`: domain dataclasses to JSON and back (standard library only).
"""
