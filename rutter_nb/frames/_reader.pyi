# The C reader (_reader.c); see rutter_nb/frames/_native.py for how it is used.
from typing import Any

def read_columns(
    rows: list[Any], spec: tuple[tuple[Any, ...], ...], modes: bytes, empty: Any = None, /
) -> list[Any]: ...
def plain_rows(rows: list[Any], id_key: str, type_key: str, /) -> bool: ...
