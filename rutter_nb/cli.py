"""The `rutter-nb` console script; subcommands live next to what they run."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .sandbox.cli import add_parser as add_sandbox_parser


def parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand."""
    top = argparse.ArgumentParser(prog="rutter-nb", description="rutter_nb command-line tools")
    subcommands = top.add_subparsers(dest="command", metavar="COMMAND")
    add_sandbox_parser(subcommands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: `rutter-nb sandbox [--port 0] ...`."""
    top = parser()
    args = top.parse_args(argv)
    if getattr(args, "run", None) is None:
        top.print_help()
        return 2
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
