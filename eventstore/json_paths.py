"""Dotted paths in a JSON object ("customer.email"), as eventstore.personal_data names its fields."""

from __future__ import annotations

import functools
from typing import Any


@functools.lru_cache(maxsize=1024)
def _split(path: str) -> tuple[tuple[str, ...], str]:
    *parents, leaf = path.split(".")
    return tuple(parents), leaf


def _parent(data: Any, parents: tuple[str, ...]) -> Any:
    for name in parents:
        if not isinstance(data, dict):
            return None
        data = data.get(name)
    return data


def has_path(data: Any, path: str) -> bool:
    parents, leaf = _split(path)
    parent = _parent(data, parents)
    return isinstance(parent, dict) and leaf in parent


def get_path(data: Any, path: str) -> Any:
    """The value at `path`, or None."""
    parents, leaf = _split(path)
    parent = _parent(data, parents)
    return parent.get(leaf) if isinstance(parent, dict) else None


def take_path(data: dict[str, Any], path: str) -> Any:
    """Remove the value at `path` (which must be there) and return it."""
    parents, leaf = _split(path)
    return _parent(data, parents).pop(leaf)


def put_paths(data: dict[str, Any], paths: list[str], values: list[Any]) -> None:
    """Set each value at its path, making the objects on the way; not one whose way meets a value
    that is not an object. In one call: opening a sealed event puts its few fields back on every
    read of the log, where a call per field cost more than the putting."""
    for path, value in zip(paths, values, strict=True):
        parents, leaf = _split(path)
        at = data
        for name in parents:
            at = at.setdefault(name, {})
            if not isinstance(at, dict):
                break
        else:
            at[leaf] = value


def copied_along(data: dict[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    """A copy of `data` in which every object on the way to each path is a copy too, so the
    values at the paths can be taken out of it and `data` stays as it was."""
    copy = dict(data)
    for path in paths:
        parents, _ = _split(path)
        at = copy
        for name in parents:
            inner = at.get(name)
            if not isinstance(inner, dict):
                break
            at[name] = at = dict(inner)
    return copy
