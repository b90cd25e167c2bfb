"""The report page: what one file is, every session it holds, and what is wrong with it.

`render_report(data, name, hexmap_href=...)` returns one self-contained HTML page (no network,
works from file://): the file (kind, size, SHA-256, the `.mv2` layout and live segment, every
block `forensics.carve` finds), every session `forensics.all_sessions` recovers (live, stale,
recovered, sidecar) with a timeline chart of its actions by type (inline SVG) and its actions
listed, and the diagnostics of `validate.validate`.

Links into the hex map: the map is a sibling page (`hexmap.render_html`, written next to the
report by `replayfmt report`, see `hexmap_page`); each diagnostic links to
`<hexmap_href>#<field path>`, which selects that field there: the diagnostic's own path when
the map has that field, else the field holding the diagnostic's first byte. Diagnostics
outside the mapped bytes (the hex map of a `.mv2` covers its live segment) have no link.

Everything taken from the file is escaped as text (names, previews, queries, metadata), no
data is put inside a script, and a Content-Security-Policy allows only the page's own script
(by hash) and inline styles: nothing from the file can add markup, run script or load
anything. The page's one script measures the charts once laid out (`data-rendered` on body).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import html
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from . import __version__
from . import mv2 as mv2mod
from .forensics import CarvedBlock, SessionRecord, all_sessions, carve
from .model import ReplaySession
from .timeline import file_kind, origin_of

if TYPE_CHECKING:
    from .hexmap import HexMap
    from .model import ReplayAction
    from .mv2 import Data
    from .validate import Report

__all__ = ["render_report", "hexmap_page", "hexmap_sibling", "MAX_MARKS", "MAX_LISTED"]

#: Actions drawn one mark each; above this a session's chart shows counts per time bucket.
MAX_MARKS = 2000
#: Actions listed per session (the timeline command gives them all).
MAX_LISTED = 1000
#: Diagnostics shown.
MAX_DIAGNOSTICS = 5000

_TYPES = ("PUT", "PUT_MANY", "FIND", "ASK", "CHECKPOINT", "UPDATE", "DELETE", "TOOL_CALL")
_COLORS = {"PUT": "#2b7bb9", "PUT_MANY": "#17a2b8", "FIND": "#2ca02c", "ASK": "#9467bd",
           "CHECKPOINT": "#ff7f0e", "UPDATE": "#8c564b", "DELETE": "#d62728",
           "TOOL_CALL": "#e377c2"}
_KINDS = {"mv2": "memvid memory file (.mv2)", "segment": "replay segment (MV2RPLY!)",
          "active_session": "active-session sidecar (MV2ACTIV envelope)",
          "other": "not a replay file (carved for embedded segments and envelopes)"}
_ORIGIN_TEXT = {"live": "live: in the segment the TOC points at",
                "stale": "stale: an older save, superseded",
                "recovered": "recovered: deleted, memvid no longer lists it",
                "sidecar": "sidecar: still being recorded (MV2ACTIV)",
                "segment": "segment: outside a .mv2 (no TOC to say live or stale)"}

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2430;background:#fff}
header,main,footer{padding:0 24px}header{background:#1d2430;color:#fff;padding:14px 24px}
h1{font-size:20px;margin:0}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ccd}
h3{font-size:15px;margin:18px 0 6px}table{border-collapse:collapse;margin:6px 0}
td,th{border:1px solid #dde;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f2f4f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,monospace;font-size:12.5px;white-space:pre-wrap;
word-break:break-all}.badge{display:inline-block;border-radius:3px;padding:0 6px;
font-size:12px;color:#fff;background:#667}.badge.live{background:#2a8a3a}
.badge.stale{background:#a36a00}.badge.recovered{background:#b02a2a}
.badge.sidecar{background:#2b6cb0}.sev-error{color:#b02a2a;font-weight:600}
.sev-warning{color:#a36a00;font-weight:600}.sev-info{color:#556}
article.session{border:1px solid #dde;border-radius:6px;padding:4px 14px 12px;margin:14px 0}
svg.chart{display:block;max-width:100%;height:auto;margin:8px 0}
svg text{font:11px system-ui,sans-serif;fill:#445}details{margin:6px 0}
.note{color:#556;font-size:13px}
"""

_JS = ("(function(){var c=document.querySelectorAll('svg.chart'),m=0,w=0;"
       "c.forEach(function(s){var r=s.getBoundingClientRect();if(r.width>0&&r.height>0)w++;"
       "s.querySelectorAll('.mark').forEach(function(e){var b=e.getBoundingClientRect();"
       "if(b.width>0&&b.height>0)m++;});});"
       "document.body.setAttribute('data-rendered',JSON.stringify({charts:c.length,"
       "visible_charts:w,visible_marks:m,sections:document.querySelectorAll('section').length,"
       "scripts:document.scripts.length}));})();")
_JS_HASH = base64.b64encode(hashlib.sha256(_JS.encode()).digest()).decode()
_CSP = (f"default-src 'none'; script-src 'sha256-{_JS_HASH}'; style-src 'unsafe-inline'; "
        "img-src 'none'; base-uri 'none'; form-action 'none'")


def _e(value: object) -> str:
    """Any value as escaped HTML text (also safe inside a quoted attribute)."""
    return html.escape("" if value is None else str(value), quote=True)


def _iso(secs: int | None) -> str:
    if secs is None:
        return "—"
    try:
        return datetime.fromtimestamp(secs, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"out of range ({secs})"


def _name(s: ReplaySession) -> str:
    return "(unnamed)" if s.name is None else repr(s.name)


def _table(rows: list[tuple[str, str]]) -> str:
    """Two-column table; values are already HTML."""
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows) + \
        "</table>"


# --- the file --------------------------------------------------------------------------------

def _file_section(data: Data, name: str, kind: str, blocks: list[CarvedBlock]) -> str:
    sha = hashlib.sha256()
    with memoryview(data) as view:
        for pos in range(0, len(data), 1 << 24):
            sha.update(view[pos:pos + (1 << 24)])
    rows = [("file", f"<code>{_e(name)}</code>"), ("kind", _e(_KINDS[kind])),
            ("size", f"{len(data)} bytes"), ("SHA-256", f"<code>{sha.hexdigest()}</code>")]
    if kind == "mv2":
        try:
            lay = mv2mod.read_layout(data)
            rows.append(("TOC", f"offset {lay.footer_offset}, {lay.toc_len} bytes; footer at "
                                f"{lay.footer_pos}; generation {lay.generation}"))
        except ValueError as exc:
            rows.append(("layout", f"unreadable: {_e(exc)}"))
        try:
            live = mv2mod.live_segment(data)
        except ValueError as exc:
            live = None
            rows.append(("live segment", f"unreadable: {_e(exc)}"))
        else:
            rows.append(("live segment", "none (the TOC manifest is None)" if live is None else
                         f"offset {live.offset}, {live.size} bytes (TOC manifest tag at "
                         f"{live.tag_pos})"))
    out = ["<section id=\"file\"><h2>The file</h2>", _table(rows)]
    out.append(f"<h3>Blocks found ({len(blocks)})</h3>")
    if blocks:
        out.append("<table><tr><th>kind</th><th>offset</th><th>size</th><th>live</th>"
                   "<th>sessions</th><th>same bytes as</th></tr>")
        for b in blocks:
            dup = "" if b.duplicate_of is None else str(b.duplicate_of)
            out.append(f"<tr><td>{_e(b.kind)}</td><td class=\"num\">{b.offset}</td>"
                       f"<td class=\"num\">{b.size}</td><td>{'yes' if b.live else ''}</td>"
                       f"<td class=\"num\">{len(b.summaries)}</td><td>{dup}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p class=\"note\">No replay segment or sidecar envelope decodes in this "
                   "file.</p>")
    out.append("</section>")
    return "".join(out)


# --- sessions and their charts ---------------------------------------------------------------

def _chart(s: ReplaySession, index: int) -> str:
    """Actions by type against time: one lane per type present; actions within one second are
    spread across it in sequence order (times are whole seconds). Checkpoint records are
    ticks on the axis. Above MAX_MARKS actions, counts per bucket instead of marks."""
    actions = s.actions
    types = [t for t in _TYPES if any(a.action_type.DISPLAY == t for a in actions)] or ["—"]
    times = [a.timestamp_secs for a in actions] + [c.timestamp_secs for c in s.checkpoints]
    t0 = min([s.created_secs] + times)
    t1 = max([s.created_secs if s.ended_secs is None else s.ended_secs] + times) + 1
    span = max(1, t1 - t0)
    left, width, lane, top = 110, 760, 22, 10
    height = top + lane * len(types) + 46
    def x(t: float) -> float:
        return left + (t - t0) / span * width

    per_second: dict[int, int] = {}
    for a in actions:
        per_second[a.timestamp_secs] = per_second.get(a.timestamp_secs, 0) + 1
    out = [f'<svg class="chart" id="chart-{index}" xmlns="http://www.w3.org/2000/svg" '
           f'width="{left + width + 20}" height="{height}" viewBox="0 0 {left + width + 20} '
           f'{height}" role="img" aria-label="actions of session {index} by type over time">']
    for i, t in enumerate(types):
        y: float = top + i * lane  # an int here; bucket bars below are placed at fractions
        out.append(f'<rect x="{left}" y="{y}" width="{width}" height="{lane - 2}" '
                   f'fill="{"#f6f7fa" if i % 2 == 0 else "#fff"}"/>'
                   f'<text x="{left - 6}" y="{y + lane / 2 + 3}" text-anchor="end">{t}</text>')
    lane_of = {t: i for i, t in enumerate(types)}
    if len(actions) <= MAX_MARKS:
        seen: dict[int, int] = {}
        for a in actions:
            k = seen.get(a.timestamp_secs, 0)
            seen[a.timestamp_secs] = k + 1
            cx = x(a.timestamp_secs + (k + 0.5) / per_second[a.timestamp_secs])
            t = a.action_type.DISPLAY
            cy = top + lane_of[t] * lane + (lane - 2) / 2
            tip = f"#{a.sequence} {t} at {_iso(a.timestamp_secs)}"
            what = _summary(a)
            if what:
                tip += f": {what}"
            out.append(f'<circle class="mark" cx="{cx:.2f}" cy="{cy:.1f}" r="4" '
                       f'fill="{_COLORS[t]}"><title>{_e(tip)}</title></circle>')
    else:
        buckets = width // 4
        counts: dict[tuple[str, int], int] = {}
        for a in actions:
            b = min(buckets - 1, int((a.timestamp_secs - t0) / span * buckets))
            key = (a.action_type.DISPLAY, b)
            counts[key] = counts.get(key, 0) + 1
        peak = max(counts.values())
        for (t, b), n in sorted(counts.items()):
            h = max(2.0, (lane - 4) * n / peak)
            y = top + lane_of[t] * lane + (lane - 2 - h) / 2
            out.append(f'<rect class="mark" x="{left + b * 4}" y="{y:.1f}" width="3" '
                       f'height="{h:.1f}" fill="{_COLORS[t]}"><title>{n} {t} action(s)'
                       f'</title></rect>')
    axis = top + lane * len(types) + 4
    out.append(f'<line x1="{left}" y1="{axis}" x2="{left + width}" y2="{axis}" '
               'stroke="#889"/>')
    for cp in s.checkpoints:
        cx = x(cp.timestamp_secs + 0.5)
        out.append(f'<line class="cp" x1="{cx:.2f}" y1="{axis - 4}" x2="{cx:.2f}" '
                   f'y2="{axis + 6}" stroke="#ff7f0e" stroke-width="2"><title>checkpoint '
                   f'{cp.id} at action {cp.at_sequence}, {_iso(cp.timestamp_secs)}</title>'
                   '</line>')
    out.append(f'<text x="{left}" y="{axis + 20}">{_e(_iso(t0))}</text>'
               f'<text x="{left + width}" y="{axis + 20}" text-anchor="end">'
               f'{_e(_iso(t1))}</text>'
               f'<text x="{left + width / 2}" y="{axis + 36}" text-anchor="middle">'
               f'{len(actions)} action(s), {len(s.checkpoints)} checkpoint(s) over '
               f'{span} s</text></svg>')
    return "".join(out)


def _summary(a: ReplayAction) -> str:
    t = a.action_type
    for attr in ("query", "name"):
        if hasattr(t, attr):
            return repr(getattr(t, attr))[:200]
    if hasattr(t, "frame_id"):
        return f"frame {t.frame_id}"
    if hasattr(t, "checkpoint_id"):
        return f"checkpoint {t.checkpoint_id}"
    if hasattr(t, "count"):
        return f"{t.count} frame(s)"
    return ""


def _session_section(rec: SessionRecord, index: int, kind: str) -> str:
    s = rec.session
    origin, _ = origin_of(rec, kind)
    by_type: dict[str, int] = {}
    for a in s.actions:
        by_type[a.action_type.DISPLAY] = by_type.get(a.action_type.DISPLAY, 0) + 1
    where = ", ".join(f"{b.kind} at {b.offset}{' (live)' if b.live else ''}" for b in rec.blocks)
    rows = [("session id", f"<code>{_e(s.session_id)}</code>"),
            ("name", f"<code>{_e(_name(s))}</code>"),
            ("origin", f'<span class="badge {origin}">{_e(origin)}</span> '
                       f"{_e(_ORIGIN_TEXT[origin])}"),
            ("created", _e(_iso(s.created_secs))), ("ended", _e(_iso(s.ended_secs))),
            ("actions", f"{len(s.actions)}" + (" (" + ", ".join(
                f"{t} {n}" for t, n in by_type.items()) + ")" if by_type else "")),
            ("checkpoints", str(len(s.checkpoints))), ("held in", _e(where)),
            ("version", str(s.version))]
    out = [f'<article class="session" id="session-{index}"><h3>Session {index + 1}: '
           f"<code>{_e(_name(s))}</code></h3>", _table(rows)]
    if s.metadata:
        out.append("<h4>metadata</h4><table><tr><th>key</th><th>value</th></tr>")
        out.extend(f"<tr><td><code>{_e(k)}</code></td><td><code>{_e(v)}</code></td></tr>"
                   for k, v in s.metadata.items())
        out.append("</table>")
    out.append(_chart(s, index))
    if s.actions:
        shown = s.actions[:MAX_LISTED]
        out.append(f"<details><summary>actions ({len(s.actions)})</summary><table><tr>"
                   "<th>seq</th><th>time</th><th>type</th><th>what</th><th>input preview</th>"
                   "<th>output preview</th><th>input hash</th></tr>")
        for a in shown:
            out.append(f'<tr><td class="num">{a.sequence}</td><td>{_e(_iso(a.timestamp_secs))}'
                       f"</td><td>{a.action_type.DISPLAY}</td><td><code>{_e(_summary(a))}"
                       f"</code></td><td><code>{_e(a.input_preview[:300])}</code></td>"
                       f"<td><code>{_e(a.output_preview[:300])}</code></td>"
                       f"<td><code>{a.input_hash.hex()[:16]}…</code></td></tr>")
        out.append("</table>")
        if len(s.actions) > len(shown):
            out.append(f'<p class="note">{len(s.actions) - len(shown)} more action(s): '
                       "<code>replayfmt timeline</code> lists every one.</p>")
        out.append("</details>")
    out.append("</article>")
    return "".join(out)


# --- diagnostics and the hex map -------------------------------------------------------------

def hexmap_sibling(out_path: str) -> str:
    """Where `replayfmt report` writes the hex map page for a report at `out_path`:
    `report.html` -> `report.hexmap.html`, beside it."""
    root, _ = os.path.splitext(out_path)
    return root + ".hexmap.html"


def hexmap_page(data: Data, name: str) -> tuple[HexMap, str] | None:
    """(HexMap, page HTML) of what the hex map covers, or None when it maps nothing (a `.mv2`
    without a usable live segment, a file that is not a replay file)."""
    from .hexmap import build_hexmap, render_html

    kind = file_kind(data)
    if kind == "other":
        return None
    try:
        hm = build_hexmap(data)
    except ValueError:
        return None
    return hm, render_html(hm, f"{name} — replayfmt hexmap")


class _Linker:
    def __init__(self, hm: HexMap | None, href: str | None) -> None:
        self.href = href
        self.hm = hm
        if hm is not None:
            self.paths = {n.path for n in hm.nodes}
            self.leaves = [hm.nodes[i] for i in hm.leaves]
            self.starts = [n.offset for n in self.leaves]

    def __call__(self, path: str, offset: int) -> str | None:
        """The map's field for a diagnostic: its own path, else the nearest enclosing field
        the map has (damage stops decoding inside a record), else the leaf field holding
        its first byte; None when the map has none of these."""
        if self.hm is None or self.href is None:
            return None
        target = None
        inside = self.hm.base <= offset < max(self.hm.stop, self.hm.base + 1)
        probe = path
        while probe and inside:
            if probe in self.paths:
                target = probe
                break
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        if target is None:
            i = bisect.bisect_right(self.starts, offset) - 1
            if i >= 0 and self.leaves[i].offset <= offset < self.leaves[i].end:
                target = self.leaves[i].path or None
        if target is None:
            return None
        return f"{self.href}#{quote(target, safe='[]._-')}"


def _diagnostics_section(report: Report, link: _Linker, has_map: bool) -> str:
    diags = report.diagnostics
    counts = {s: report.count(s) for s in ("error", "warning", "info")}
    out = ['<section id="diagnostics"><h2>Validation</h2>',
           f"<p>{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} "
           f"info(s) (<code>replayfmt validate</code>).",
           " Offsets link to the field in the hex map page." if has_map else
           " No hex map page: offsets are not linked.", "</p>"]
    if diags:
        out.append("<table><tr><th>severity</th><th>code</th><th>offset</th><th>length</th>"
                   "<th>path</th><th>message</th></tr>")
        for i, d in enumerate(diags[:MAX_DIAGNOSTICS]):
            href = link(d.path, d.offset)
            where = f"{d.offset} (0x{d.offset:x})"
            cell = f'<a href="{_e(href)}">{where}</a>' if href else where
            out.append(f'<tr id="diag-{i}"><td class="sev-{d.severity}">{d.severity}</td>'
                       f"<td>{d.code} {_e(d.name)}</td><td class=\"num\">{cell}</td>"
                       f'<td class="num">{d.length}</td><td><code>{_e(d.path)}</code></td>'
                       f"<td>{_e(d.message)}</td></tr>")
        out.append("</table>")
        if len(diags) > MAX_DIAGNOSTICS:
            out.append(f'<p class="note">{len(diags) - MAX_DIAGNOSTICS} more: '
                       "<code>replayfmt validate --json</code> lists every one.</p>")
    out.append("</section>")
    return "".join(out)


# --- the page --------------------------------------------------------------------------------

def render_report(data: Data, name: str, *, hexmap: HexMap | None = None,
                  hexmap_href: str | None = None, validation: Report | None = None) -> str:
    """The report page for the bytes `data` of the file called `name`.

    hexmap: the HexMap the sibling page shows (see `hexmap_page`), hexmap_href: that page's
    address relative to the report; without them diagnostics are not linked. validation:
    `validate.validate(data)` when the caller already has it.
    """
    from .validate import validate

    kind = file_kind(data)
    blocks = carve(data)
    records = all_sessions(data, blocks)
    report = validation if validation is not None else validate(data)
    link = _Linker(hexmap, hexmap_href)
    title = f"{name} — replayfmt report"
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body>",
        f"<header><h1>replayfmt report: <code>{_e(name)}</code></h1></header>\n<main>",
        _file_section(data, name, kind, blocks),
        f'<section id="sessions"><h2>Sessions ({len(records)})</h2>',
    ]
    if not records:
        parts.append('<p class="note">No session decodes in this file.</p>')
    for i, rec in enumerate(records):
        parts.append(_session_section(rec, i, kind))
    parts.append("</section>")
    parts.append(_diagnostics_section(report, link, link.hm is not None and
                                      hexmap_href is not None))
    if hexmap is not None and hexmap_href is not None:
        parts.append(f'<p class="note">Hex map: <a href="{_e(hexmap_href)}">'
                     f"{_e(hexmap.where)}</a></p>")
    parts.append(f"</main><footer><p class=\"note\">replayfmt {__version__}</p></footer>\n"
                 f"<script>{_JS}</script>\n</body></html>\n")
    return "".join(parts)
