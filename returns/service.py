"""One function per returns command: load, decide, save with the expected version."""

from __future__ import annotations

from typing import Any

from eventstore.repository import Repository

from .domain import OpenReturn, Return


def open_return(command: OpenReturn, *, returns: Repository[Return], metadata: dict[str, Any]) -> None:
    aggregate = returns.load(command.order_id)
    aggregate.open(command)
    returns.save(aggregate, metadata=metadata)
