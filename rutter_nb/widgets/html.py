"""Static HTML and one-line text for jobs and boards: what nbconvert, GitHub and terminals see.

Pure functions of snapshots, so the widget views, the saved-notebook fallback and the
terminal line all say the same thing. Inline styles (not a stylesheet) so the colours
survive wherever the HTML is pasted; stable ``rutter-*`` classes and ``data-*``
attributes so tests and users can find things without depending on a front end's DOM.
"""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rutter_nb.widgets.board_state import BoardSnapshot, Row
    from rutter_nb.widgets.snapshot import JobSnapshot

__all__ = [
    "STATUS_COLOURS",
    "badge",
    "board_html",
    "board_summary_html",
    "board_table_html",
    "board_text",
    "body_html",
    "format_seconds",
    "job_header_html",
    "job_html",
    "job_text",
    "row_label",
]

STATUS_COLOURS = {
    "prequeued": "#6b7280",
    "pending": "#2563eb",
    "success": "#15803d",
    "failure": "#b91c1c",
    "partial_success": "#c2410c",
}
_UNKNOWN_COLOUR = "#7c3aed"
_MAX_BODY_CHARS = 20_000
_FONT = "font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px"


def format_seconds(seconds: float | None, *, precise: bool = True) -> str:
    """``1.23 s``, ``4 min 05 s``; whole seconds while a clock is still running."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.2f} s" if precise else f"{int(seconds)} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def badge(status: str) -> str:
    """A colour-coded status pill."""
    colour = STATUS_COLOURS.get(status, _UNKNOWN_COLOUR)
    return (
        f'<span class="rutter-badge rutter-status-{escape(status)}" '
        f'style="background:{colour};color:#fff;border-radius:9px;padding:1px 8px;'
        f'font-weight:600">{escape(status)}</span>'
    )


def body_html(body: Any) -> str:
    """Pretty JSON in a ``<pre>``, escaped and capped (a huge body must not freeze a page)."""
    if body is None:
        return '<pre class="rutter-body" style="margin:0">(none yet)</pre>'
    text = json.dumps(body, indent=2, ensure_ascii=False, default=str)
    if len(text) > _MAX_BODY_CHARS:
        text = text[:_MAX_BODY_CHARS] + f"\n… ({len(text) - _MAX_BODY_CHARS} more characters)"
    return (
        '<pre class="rutter-body" style="margin:0;max-height:24em;overflow:auto">'
        f"{escape(text)}</pre>"
    )


def _short(job_id: str) -> str:
    return job_id[:8] if job_id else "?"


def job_header_html(snap: JobSnapshot) -> str:
    """Badge, what was sent, elapsed time, poll count and HTTP status on one line."""
    what = " ".join(escape(p) for p in (snap.method or "", snap.entity or "") if p)
    parts = [
        badge(snap.status),
        f"<b>{what}</b>" if what else "",
        f'job <code title="{escape(snap.id)}">{escape(_short(snap.id))}</code>',
        f'<span class="rutter-elapsed">{format_seconds(snap.elapsed, precise=snap.done)}</span>',
        f'<span class="rutter-polls">{snap.polls} poll{"s" if snap.polls != 1 else ""}</span>',
        f'<span class="rutter-http">HTTP {snap.http_status if snap.http_status else "–"}</span>',
    ]
    if snap.error:
        parts.append(
            f'<span class="rutter-error" style="color:#b91c1c">{escape(snap.error)}</span>'
        )
    line = " · ".join(p for p in parts if p)
    return (
        f'<div class="rutter-job-header" data-status="{escape(snap.status)}" '
        f'style="{_FONT}">{line}</div>'
    )


def job_html(snap: JobSnapshot) -> str:
    """The static snapshot of a job: header plus collapsible request and response."""
    url = f"<div><code>{escape(snap.url)}</code></div>" if snap.url else ""
    return (
        f'<div class="rutter-job" data-job-id="{escape(snap.id)}">'
        f"{job_header_html(snap)}{url}"
        f'<details class="rutter-job-request"><summary>request</summary>'
        f"{body_html(snap.request_body)}</details>"
        f'<details class="rutter-job-response"><summary>response</summary>'
        f"{body_html(snap.response_body)}</details></div>"
    )


def job_text(snap: JobSnapshot) -> str:
    """One line: ``job 3f2a… invoice · success · HTTP 200 · 1.23 s · 4 polls``."""
    parts = [f"job {_short(snap.id)}"]
    if snap.entity:
        parts[0] += f" {snap.entity}"
    parts.append(snap.status)
    if snap.http_status:
        parts.append(f"HTTP {snap.http_status}")
    parts.append(format_seconds(snap.elapsed, precise=snap.done))
    parts.append(f"{snap.polls} poll{'s' if snap.polls != 1 else ''}")
    if snap.error:
        parts.append(snap.error)
    return " · ".join(parts)


def _rate(snap: BoardSnapshot) -> str:
    return f"{snap.throughput:.1f}/s" if snap.throughput is not None else "–"


def _percentiles(snap: BoardSnapshot) -> str:
    if not snap.percentiles:
        return "latency –"
    return "latency " + " ".join(
        f"{name} {format_seconds(value)}" for name, value in snap.percentiles.items()
    )


def board_summary_html(snap: BoardSnapshot) -> str:
    """Counts per status, throughput, ETA and latency percentiles (no table)."""
    counts = " ".join(
        f'{badge(status)} <b class="rutter-count" data-status="{escape(status)}">{n}</b>'
        for status, n in snap.counts.items()
    )
    data = " ".join(f'data-count-{escape(status)}="{n}"' for status, n in snap.counts.items())
    eta = "done" if snap.finished else f"ETA {format_seconds(snap.eta, precise=False)}"
    return (
        f'<div class="rutter-board-summary" data-total="{snap.total}" data-done="{snap.done}" '
        f'data-finished="{str(snap.finished).lower()}" {data} style="{_FONT}">'
        f"<div>{snap.done}/{snap.total} done · {counts}</div>"
        f'<div style="color:#555">elapsed {format_seconds(snap.elapsed, precise=snap.finished)}'
        f" · {_rate(snap)} · {eta} · {_percentiles(snap)}</div></div>"
    )


def row_label(row: Row) -> str:
    """A fixed-width text row (used by the widget's selectable table)."""
    http = str(row.http_status) if row.http_status else "–"
    elapsed = format_seconds(row.elapsed, precise=row.done)
    return (
        f"{row.status:<15} {http:>4} {elapsed:>12}  {row.id[:36]:<36}  "
        f"{row.entity or '':<12} {row.error or ''}"
    ).rstrip()


def _progress_html(snap: BoardSnapshot) -> str:
    share = 100.0 * snap.done / snap.total if snap.total else 0.0
    colour = STATUS_COLOURS["failure"] if snap.counts.get("failure") else "#15803d"
    return (
        '<div class="rutter-progress" style="background:#e5e7eb;height:8px;width:100%;'
        f'border-radius:4px"><div style="background:{colour};height:8px;width:{share:.1f}%;'
        'border-radius:4px"></div></div>'
    )


def board_table_html(snap: BoardSnapshot) -> str:
    """The capped table of the rows that matter."""
    head = "".join(
        f'<th style="text-align:left;padding:2px 8px">{h}</th>'
        for h in ("status", "HTTP", "elapsed", "job", "entity", "error")
    )
    body = "".join(
        f'<tr class="rutter-row" data-status="{escape(r.status)}">'
        f'<td style="padding:2px 8px">{badge(r.status)}</td>'
        f'<td style="padding:2px 8px">{r.http_status or "–"}</td>'
        f'<td style="padding:2px 8px">{format_seconds(r.elapsed, precise=r.done)}</td>'
        f'<td style="padding:2px 8px"><code>{escape(r.id)}</code></td>'
        f'<td style="padding:2px 8px">{escape(r.entity or "")}</td>'
        f'<td style="padding:2px 8px">{escape(r.error or "")}</td></tr>'
        for r in snap.rows
    )
    more = snap.matching - len(snap.rows)
    note = f'<div style="color:#555">… and {more} more</div>' if more > 0 else ""
    return (
        f'<table class="rutter-board-table" style="border-collapse:collapse;{_FONT}">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"
    )


def board_html(snap: BoardSnapshot) -> str:
    """The static snapshot of a board: summary, progress bar and the capped table."""
    return (
        f'<div class="rutter-board">{board_summary_html(snap)}{_progress_html(snap)}'
        f"{board_table_html(snap)}</div>"
    )


def board_text(snap: BoardSnapshot) -> str:
    """One line: ``200 jobs · 150 success, 10 failure, 40 pending · 80% · 25.0/s · ETA 2 s``."""
    counts = ", ".join(f"{n} {status}" for status, n in snap.counts.items() if n)
    share = f"{100.0 * snap.done / snap.total:.0f}%" if snap.total else "0%"
    eta = "done" if snap.finished else f"ETA {format_seconds(snap.eta, precise=False)}"
    p50 = snap.percentiles.get("p50")
    latency = f" · p50 {format_seconds(p50)}" if p50 is not None else ""
    return f"{snap.total} jobs · {counts or 'none'} · {share} · {_rate(snap)} · {eta}{latency}"
