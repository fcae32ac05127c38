"""`rutter-nb sandbox`: run the embedded server in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

from .config import (
    SandboxConfig,
    SandboxConfigError,
    parse_duration,
    parse_fault,
    parse_rate,
)
from .server import Sandbox, SandboxError


def _typed(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except SandboxConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SandboxConfigError(f"expected a number, got {text!r}") from None


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the `sandbox` subcommand and its flags (they mirror `Sandbox(...)`)."""
    defaults = SandboxConfig()
    p: argparse.ArgumentParser = subparsers.add_parser(
        "sandbox",
        help="run the embedded Rutter-compatible sandbox server",
        description="Run a Rutter-compatible sandbox server (demo credentials are printed).",
    )
    p.add_argument("--host", default=defaults.host, help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default 0)")
    p.add_argument("--db", default=None, help="SQLite file or :memory: (default: a temp file)")
    p.add_argument("--client-id", default=defaults.client_id)
    p.add_argument("--client-secret", default=defaults.client_secret)
    p.add_argument("--access-token", default=defaults.access_token)
    p.add_argument(
        "--sync-window",
        type=_typed(lambda t: SandboxConfig(sync_window=float(_number(t))).sync_window),
        default=defaults.sync_window,
        metavar="SECONDS",
        help="how long prefer_sync waits before answering async (default 30)",
    )
    p.add_argument(
        "--job-duration",
        type=_typed(parse_duration),
        default=defaults.job_duration,
        metavar="MIN:MAX",
        help="seconds a job takes (default 0.5:3)",
    )
    p.add_argument(
        "--failure-rate",
        type=_typed(lambda t: SandboxConfig(failure_rate=float(_number(t))).failure_rate),
        default=0.0,
        metavar="P",
        help="share of jobs failing with a platform error (default 0)",
    )
    p.add_argument(
        "--rate-limit",
        type=_typed(parse_rate),
        default=defaults.rate_limit,
        metavar="N/SECONDS",
        help="requests per client (default 500/10)",
    )
    p.add_argument(
        "--platform-rate",
        type=_typed(lambda t: parse_rate(t, "platform_rate")),
        default=defaults.platform_rate,
        metavar="N/SECONDS",
        help="writes a connection's platform starts (default 60/1)",
    )
    p.add_argument("--webhook-url", action="append", default=[], metavar="URL")
    p.add_argument("--seed", type=int, default=None, help="deterministic ids and timings")
    p.add_argument(
        "--fault",
        action="append",
        type=_typed(parse_fault),
        default=[],
        metavar="KIND=P",
        help="error_before_accept, error_after_accept, drop_connection or slow",
    )
    p.set_defaults(run=run)
    return p


def build(args: argparse.Namespace) -> Sandbox:
    """A `Sandbox` from parsed flags."""
    return Sandbox(
        host=args.host,
        port=args.port,
        db=args.db,
        client_id=args.client_id,
        client_secret=args.client_secret,
        access_token=args.access_token,
        sync_window=args.sync_window,
        job_duration=args.job_duration,
        failure_rate=args.failure_rate,
        rate_limit=args.rate_limit,
        platform_rate=args.platform_rate,
        webhook_urls=tuple(args.webhook_url),
        seed=args.seed,
        faults=dict(args.fault),
    )


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Start, print the URL and the demo credentials, serve until SIGINT/SIGTERM."""
    try:
        sb = build(args).start()
    except (SandboxConfigError, SandboxError) as exc:
        print(f"rutter-nb sandbox: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"Rutter sandbox listening on {sb.url}", file=out)
    print(f"  base_url       {sb.base_url}", file=out)
    print("  demo credentials (not secrets; for this sandbox only):", file=out)
    print(f"  client_id      {sb.client_id}", file=out)
    print(f"  client_secret  {sb.client_secret}", file=out)
    print(f"  access_token   {sb.access_token}", file=out)
    print("Press Ctrl-C to stop.", file=out, flush=True)
    try:
        while not stop.wait(0.5):
            if not sb.running:
                print("rutter-nb sandbox: the server stopped unexpectedly", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
    print("Sandbox stopped.", file=out, flush=True)
    return 0
