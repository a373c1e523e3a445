"""The one registry: what the installed components declare, by name (their consumer groups, their
projectors), filled when their apps are ready (`eventstore.components`)."""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar


class Named(Protocol):
    name: str


T = TypeVar("T", bound=Named)


class Registry(Generic[T]):
    """Named things, each registered once; `kind` names them in errors ("consumer group")."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._by_name: dict[str, T] = {}

    def register(self, item: T) -> None:
        """Registering the same name twice is an error (registering the same thing again is not)."""
        if self._by_name.get(item.name, item) is not item:
            raise ValueError(f"A {self.kind} named {item.name!r} is already registered.")
        self._by_name[item.name] = item

    def unregister(self, name: str) -> None:
        """Forget `name` (a test's own group or projector, once the test is done)."""
        self._by_name.pop(name, None)

    def registered(self) -> list[T]:
        return list(self._by_name.values())

    def get(self, name: str) -> T:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(sorted(self._by_name)) or "none"
            raise LookupError(f"No {self.kind} named {name!r} (known: {known}).") from None
