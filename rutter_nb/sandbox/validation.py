"""A small JSON-Schema subset check for stage-one validation of write bodies.

Why not `jsonschema`: it is a dev dependency only, and the hot path needs just
type/required/properties/items/enum/pattern/minItems/minProperties with a clear first-error message.
The same dicts are published in `/openapi.json`, so the document and the check agree.
"""

from __future__ import annotations

import re
from typing import Any

Schema = dict[str, Any]

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def _is_type(value: object, name: str) -> bool:
    if name in ("number", "integer") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES[name])


def first_error(value: object, schema: Schema, path: str = "") -> str | None:
    """The first violation as `"<path>: <problem>"`, or None when `value` fits."""
    where = path or "body"
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_is_type(value, name) for name in names):
            return f"{where}: expected {' or '.join(names)}, got {_describe(value)}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{where}: must be one of {', '.join(map(str, schema['enum']))}"
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        return f"{where}: {value[:40]!r} does not match {schema['pattern']}"
    if isinstance(value, dict):
        if len(value) < schema.get("minProperties", 0):
            return f"{where}: needs at least {schema['minProperties']} field(s)"
        for key in schema.get("required", ()):
            if key not in value or value[key] is None:
                return f"{_join(path, key)}: required field is missing"
        for key, sub in schema.get("properties", {}).items():
            if key in value:  # null only where the type allows it
                problem = first_error(value[key], sub, _join(path, key))
                if problem:
                    return problem
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return f"{where}: needs at least {schema['minItems']} item(s)"
        items = schema.get("items")
        if items is not None:
            for index, item in enumerate(value):
                problem = first_error(item, items, f"{where}[{index}]")
                if problem:
                    return problem
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _describe(value: object) -> str:
    if value is None:
        return "null"
    for name in ("boolean", "integer", "number", "string", "array", "object"):
        if _is_type(value, name):
            return name
    return type(value).__name__
