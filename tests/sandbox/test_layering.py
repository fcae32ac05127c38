"""The sandbox imports nothing from the client side of rutter_nb."""

from __future__ import annotations

import ast
from pathlib import Path

import rutter_nb.sandbox

SANDBOX = Path(rutter_nb.sandbox.__file__).parent


def test_sandbox_modules_import_only_the_sandbox_stdlib_and_libraries() -> None:
    offenders = []
    for module in sorted(SANDBOX.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level > 1 or (
                    node.level == 0 and (node.module or "").startswith("rutter_nb")
                ):
                    offenders.append(f"{module.name}: from {'.' * node.level}{node.module}")
            elif isinstance(node, ast.Import):
                offenders += [
                    f"{module.name}: import {a.name}"
                    for a in node.names
                    if a.name.startswith("rutter_nb")
                ]
    assert offenders == []
    assert len(list(SANDBOX.glob("*.py"))) >= 10  # the walk really saw the package
