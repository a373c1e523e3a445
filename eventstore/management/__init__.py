"""The event store's commands; `named` looks a registered thing up for one of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.core.management.base import CommandError

T = TypeVar("T")


def named(get: Callable[[str], T], name: str) -> T:
    """`get(name)` (a registry's lookup), its LookupError, which names the known ones, as the command's error."""
    try:
        return get(name)
    except LookupError as missing:
        raise CommandError(str(missing)) from None
