"""Domain objects to JSON and back. Standard library only.

Two encodings:

* Events (frozen dataclasses) become plain JSON objects that other code and people read: `Decimal`
  as a string ("19.90", never a float), `UUID` as a string, dates and datetimes in ISO 8601, nested
  dataclasses as objects, tuples as lists. Decoding follows the dataclass's type hints, ignores keys
  the class does not know (an event written by newer code) and uses field defaults for missing ones.
* Snapshots (any aggregate state) use tagged JSON, so that the state comes back with its types and
  without hints: `{"$decimal": "19.90"}`. Objects are looked up by name in the aggregate's own
  module only, never imported from a name in the data.
"""

from __future__ import annotations

import dataclasses
import enum
import sys
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

# --- events -------------------------------------------------------------------------------------


def to_data(event: Any) -> dict[str, Any]:
    """A dataclass instance as a JSON object."""
    return {f.name: _plain(getattr(event, f.name)) for f in dataclasses.fields(event)}


def from_data(cls: type, data: dict[str, Any]) -> Any:
    """An instance of dataclass `cls` from the JSON object `data`."""
    return _decoder_for(cls)(data)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        raise TypeError("Floats are not stored in events; use Decimal for amounts.")
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value):
        return to_data(value)
    if isinstance(value, list | tuple | frozenset | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    raise TypeError(f"Cannot store a {type(value).__name__} in an event.")


@cache
def _decoder_for(hint: Any) -> Callable[[Any], Any]:
    """Build once per type a function that turns plain JSON into that type."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        decode = _decoder_for(inner[0]) if len(inner) == 1 else (lambda v: v)
        return lambda v: None if v is None else decode(v)
    if origin is tuple:
        item = _decoder_for(args[0])
        return lambda v: tuple(item(x) for x in v)
    if origin in (list, frozenset, set):
        item, make = _decoder_for(args[0]), origin
        return lambda v: make(item(x) for x in v)
    if origin is dict:
        value = _decoder_for(args[1])
        return lambda v: {k: value(x) for k, x in v.items()}
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        fields = [(f.name, _decoder_for(hints[f.name])) for f in dataclasses.fields(hint) if f.init]
        return lambda v: hint(**{name: decode(v[name]) for name, decode in fields if name in v})
    if hint in (Decimal, UUID):
        return hint
    if hint is datetime:
        return datetime.fromisoformat
    if hint is date:
        return date.fromisoformat
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    return lambda v: v


# --- snapshots ----------------------------------------------------------------------------------


def to_tagged(value: Any) -> Any:
    """Any state made of JSON types, Decimal, UUID, dates, tuples, sets, enums and dataclasses."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, UUID):
        return {"$uuid": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, enum.Enum):
        return {"$enum": type(value).__name__, "value": value.value}
    if dataclasses.is_dataclass(value):
        fields = {f.name: to_tagged(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$object": type(value).__name__, "fields": fields}
    if isinstance(value, tuple):
        return {"$tuple": [to_tagged(v) for v in value]}
    if isinstance(value, set | frozenset):
        return {"$set": [to_tagged(v) for v in value]}
    if isinstance(value, list):
        return [to_tagged(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("Snapshot state can hold dicts with string keys only.")
        if any(k.startswith("$") for k in value):
            raise TypeError("Snapshot state cannot hold dict keys starting with '$'.")
        return {k: to_tagged(v) for k, v in value.items()}
    raise TypeError(f"Cannot snapshot a {type(value).__name__}.")


def from_tagged(value: Any, *, module: str) -> Any:
    """The inverse of `to_tagged`; classes are found by name in `module` only."""
    if isinstance(value, list):
        return [from_tagged(v, module=module) for v in value]
    if not isinstance(value, dict):
        return value
    if "$decimal" in value:
        return Decimal(value["$decimal"])
    if "$uuid" in value:
        return UUID(value["$uuid"])
    if "$datetime" in value:
        return datetime.fromisoformat(value["$datetime"])
    if "$date" in value:
        return date.fromisoformat(value["$date"])
    if "$tuple" in value:
        return tuple(from_tagged(v, module=module) for v in value["$tuple"])
    if "$set" in value:
        return {from_tagged(v, module=module) for v in value["$set"]}
    if "$enum" in value:
        return _class_in(module, value["$enum"])(value["value"])
    if "$object" in value:
        cls = _class_in(module, value["$object"])
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{value['$object']} in {module} is not a dataclass.")
        return cls(**{k: from_tagged(v, module=module) for k, v in value["fields"].items()})
    return {k: from_tagged(v, module=module) for k, v in value.items()}


def _class_in(module: str, name: str) -> type:
    cls = getattr(sys.modules[module], name, None)
    if not isinstance(cls, type):
        raise TypeError(f"No class {name} in {module}.")
    return cls
