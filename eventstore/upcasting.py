"""Events that evolve: schema versions and upcasters (docs/design.md, "Events that evolve").

Being built (issue 15): `install()` adds this module's steps to `eventstore.mapping`.
"""


def install() -> None:
    """Add the schema-version steps to eventstore.mapping (none yet)."""


def register(upcasters: tuple) -> None:
    """Register a component's upcasters (its `upcasters.UPCASTERS`; none yet)."""
