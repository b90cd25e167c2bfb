"""`replayfmt report`: the page of every kind of real file, links into the hex map page, and,
in a real headless Chromium, that it renders, loads nothing and that no byte of a hostile file
(names, previews, queries, metadata, file name) becomes markup or script."""

from __future__ import annotations

import html as htmlmod
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import uuid
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest
from _real import real_dir

from replayfmt import build_active_session, build_segment, parse_segment
from replayfmt.cli import main
from replayfmt.forensics import all_sessions
from replayfmt.hexmap import build_hexmap
from replayfmt.model import (
    ActiveSession,
    Ask,
    Find,
    Put,
    ReplayAction,
    ReplaySession,
    ToolCall,
)
from replayfmt.report import _JS, MAX_MARKS, hexmap_sibling, render_report
from replayfmt.validate import validate


class _Page(HTMLParser):
    """Elements, attributes and the text of each element of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.stack: list[list] = []
        self.texts: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.stack.append([tag, []])

    def handle_endtag(self, tag):
        while self.stack:
            t, parts = self.stack.pop()
            self.texts.setdefault(t, []).append("".join(parts))
            if self.stack:
                self.stack[-1][1].extend(parts)
            if t == tag:
                break

    def handle_data(self, data):
        if self.stack:
            self.stack[-1][1].append(data)


def _parse(text: str) -> _Page:
    p = _Page()
    p.feed(text)
    p.close()
    return p


def _links(page: _Page) -> list[str]:
    return [v for _, attrs in page.tags for k, v in attrs.items()
            if k in ("src", "href", "action", "srcset", "data", "poster", "xlink:href",
                     "formaction", "background", "ping")]


# --- every kind of real file ----------------------------------------------------------------

REAL = ["p17_mixed_medium/mem.mv2", "p10_two_cycles/mem.mv2", "p09_auto_checkpoint_3/segment-0.bin",
        "p20_ask_mock_llm/active-0.bin", "p15_abandoned_active/mem.mv2"]


@pytest.mark.parametrize("rel", REAL)
def test_report_of_real_files(rel, tmp_path, capsys):
    src = real_dir() / rel
    out = tmp_path / "report.html"
    assert main(["report", str(src), "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    page = _parse(text)
    data = src.read_bytes()
    records = all_sessions(data)
    assert text.count('<article class="session"') == len(records)
    assert text.count('<svg class="chart"') == len(records)
    marks = sum(min(len(r.session.actions), MAX_MARKS + 1) for r in records
                if len(r.session.actions) <= MAX_MARKS)
    assert text.count('class="mark"') == marks
    for r in records:
        assert str(r.session.session_id) in text
    assert [t for t, _ in page.tags].count("script") == 1
    sibling = tmp_path / "report.hexmap.html"
    has_map = rel != "p15_abandoned_active/mem.mv2"  # no live segment: nothing to map
    assert sibling.exists() == has_map
    for link in _links(page):
        assert link.startswith("report.hexmap.html"), link
    diags = validate(data).diagnostics
    assert text.count('<tr id="diag-') == len(diags)


def test_diagnostics_link_to_their_field_in_the_hexmap(tmp_path):
    data = bytearray((real_dir() / "p09_auto_checkpoint_3" / "segment-0.bin").read_bytes())
    seg = parse_segment(bytes(data))
    first = seg.sessions[0].actions[0]
    # a preview with a control character (a warning at a known field), rebuilt validly
    first.input_preview = "bad\x01preview"
    src = tmp_path / "seg.bin"
    src.write_bytes(build_segment(seg.sessions))
    out = tmp_path / "r.html"
    assert main(["report", str(src), "-o", str(out)]) == 0  # warnings only
    page = _parse(out.read_text(encoding="utf-8"))
    hm = build_hexmap(src.read_bytes())
    paths = {n.path for n in hm.nodes}
    hrefs = [v for t, a in page.tags if t == "a" for k, v in a.items() if k == "href"]
    diag_links = [h for h in hrefs if "#" in h]
    assert diag_links, "no diagnostic links"
    for h in diag_links:
        assert h.startswith(hexmap_sibling("r.html") + "#")
        assert unquote(h.split("#", 1)[1]) in paths
    assert "r.hexmap.html#sessions[0].actions[0].input_preview" in hrefs
    # damaged: decoding stopped inside the action, so the link selects the enclosing record
    bad = bytearray((real_dir() / "p01_basic_put_find" / "segment-0.bin").read_bytes())
    bad[0x114] = 9  # the second action's ActionType index
    (tmp_path / "bad.bin").write_bytes(bad)
    assert main(["report", str(tmp_path / "bad.bin"), "-o", str(tmp_path / "b.html")]) == 1
    text = (tmp_path / "b.html").read_text()
    assert 'class="sev-error">error</td><td>RF009 unknown-variant' in text
    assert 'href="b.hexmap.html#sessions[0].actions[1]">276 (0x114)' in text
    assert "sessions[0].actions[1]" in {n.path for n in build_hexmap(bytes(bad)).nodes}


def test_outputs_never_overwrite_evidence(tmp_path, capsys):
    src = tmp_path / "seg.bin"
    shutil.copy(real_dir() / "p01_basic_put_find" / "segment-0.bin", src)
    before = src.read_bytes()
    assert main(["report", str(src), "-o", str(src)]) == 2
    assert main(["report", str(src), "-o", str(src), "--force"]) == 2
    assert src.read_bytes() == before
    out = tmp_path / "r.html"
    assert main(["report", str(src), "-o", str(out)]) == 0
    assert main(["report", str(src), "-o", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing.bin"), "-o", str(tmp_path / "m.html")]) == 2
    assert not (tmp_path / "m.html").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# --- hostile content in a real browser -------------------------------------------------------

def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail("headless Chromium is needed for the report page tests: "
                "apt-get install -y chromium")


class _Canary:
    """An HTTP server on 127.0.0.1 that counts every request made to it."""

    def __init__(self) -> None:
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _payloads(url: str) -> list[str]:
    pwn = "document.body.setAttribute('data-pwned','1')"
    return [
        f"<script>{pwn}</script>",
        "<!--<script>",
        f"</style><script>{pwn}</script><style>",
        f"\"><img src=\"{url}/img\" onerror=\"{pwn}\">",
        f"'><svg onload=\"{pwn}\"><image href=\"{url}/svg\"/></svg>",
        f"</title><link rel=\"stylesheet\" href=\"{url}/css\">",
        f"<base href=\"{url}/\"><a href=\"x\">x</a>",
        f"<meta http-equiv=\"refresh\" content=\"0;url={url}/refresh\">",
        f"<style>@import '{url}/import'; body{{background:url({url}/bg)}}</style>",
        f"]]><iframe src=\"{url}/frame\"></iframe>",
        "line\u2028separator\u2029paragraph &amp; &lt;b&gt; \"quotes\" 'single' `back`",
        f"</script><script>{pwn}</script>",
        f"<textarea></textarea><plaintext><object data=\"{url}/obj\">",
    ]


def _hostile_file(tmp_path, url: str, kind: str):
    texts = _payloads(url)
    actions = []
    for i, t in enumerate(texts):
        variant = [Find(t, t, 0), Ask(t, t, t), ToolCall(t, bytes(32)), Put(i)][i % 4]
        actions.append(ReplayAction(i, 1_795_000_000 + i, variant, input_preview=t,
                                    output_preview=t[::-1]))
    sessions = [ReplaySession(uuid.UUID(int=i + 1), t, 1_795_000_000, 1_795_000_100, [],
                              actions if i == 0 else actions[:2],
                              {t: t, f"k{i}": t[::-1]})
                for i, t in enumerate(texts)]
    name = "<img src=x onerror=alert(1)>'\"&.bin"
    path = tmp_path / name
    if kind == "segment":
        path.write_bytes(build_segment(sessions))
    else:
        path.write_bytes(build_active_session(ActiveSession(sessions[0])))
    return path, sessions, texts


def _run_chromium(page, tmp_path, canary) -> tuple[str, list]:
    net = tmp_path / "net.json"
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
           f"--log-net-log={net}", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    # Chromium's own temporary files: a short private dir (its socket path has a length limit)
    with tempfile.TemporaryDirectory(prefix="rfc-") as tmp:
        env = {**os.environ, "TMPDIR": tmp, "HOME": str(tmp_path / "profile")}
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    port = canary.url.rsplit(":", 1)[1]
    seen = [u for u in re.findall(r'"url":"([^"]*)"', net.read_text(errors="replace"))
            if "127.0.0.1" in u or f":{port}" in u]
    return res.stdout, seen


@pytest.mark.chromium
@pytest.mark.parametrize("kind", ["segment", "sidecar"])
def test_hostile_file_renders_as_text_and_loads_nothing(kind, tmp_path):
    canary = _Canary()
    try:
        src, sessions, texts = _hostile_file(tmp_path, canary.url, kind)
        out = tmp_path / "out" / "report.html"
        out.parent.mkdir()
        rc = main(["report", str(src), "-o", str(out)])
        assert rc in (0, 1)
        static = out.read_text(encoding="utf-8")
        dom, seen = _run_chromium(out, tmp_path, canary)
        mapdom, mapseen = _run_chromium(out.parent / "report.hexmap.html", tmp_path, canary)
    finally:
        canary.close()
    assert canary.hits == [] and seen == [] and mapseen == [], "a request left the page"
    shown = sessions if kind == "segment" else sessions[:1]
    for text in (static, dom):
        page = _parse(text)
        tags = [t for t, _ in page.tags]
        assert tags.count("script") == 1 and page.texts["script"] == [_JS]
        head = tags[:tags.index("body")]
        assert tags.count("style") == 1 and head.count("title") == 1  # others: SVG tooltips
        assert not set(tags) & {"img", "iframe", "link", "base", "object", "embed", "textarea",
                                "plaintext", "image", "form", "input"}
        assert [a.get("http-equiv") for t, a in page.tags if t == "meta"] == \
            [None, "Content-Security-Policy", None]
        for t, attrs in page.tags:
            assert not any(k.startswith("on") for k in attrs), (t, attrs)
            assert "data-pwned" not in attrs
        assert _links(page) == [] or all(link.startswith("report.hexmap.html")
                                         for link in _links(page))
        # every hostile string is there as text, exactly (metadata cells hold them raw)
        codes = page.texts["code"]
        for s in shown:
            for k, v in s.metadata.items():
                assert k in codes and v in codes
        assert f"{src} — replayfmt report" in page.texts["title"]
    # the page's script ran after layout, and only it: the charts are drawn
    rendered = re.search(r'data-rendered="([^"]*)"', dom)
    assert rendered, "the page script did not run"
    info = json.loads(htmlmod.unescape(rendered.group(1)))
    assert info["charts"] == info["visible_charts"] == len(shown)
    assert info["visible_marks"] == sum(len(s.actions) for s in shown)
    assert info["scripts"] == 1
    # the hex map page beside it also ran its script and shows the strings as data
    mpage = _parse(mapdom)
    body = next(a for t, a in mpage.tags if t == "body")
    assert body.get("data-ready") == "1" and "data-pwned" not in body
    assert [t for t, _ in mpage.tags].count("script") == 2
    assert not set(t for t, _ in mpage.tags) & {"img", "iframe", "link", "base", "object"}
    assert not any(k.startswith("on") for _, a in mpage.tags for k in a)
    assert any("<!--<script>" in label for label in mpage.texts.get("span", []) +
               mpage.texts.get("div", []))


def test_render_report_is_deterministic_and_escapes_the_name():
    data = (real_dir() / "p10_two_cycles" / "mem.mv2").read_bytes()
    a = render_report(data, "<b>x</b>")
    assert a == render_report(data, "<b>x</b>")
    assert "<b>x</b>" not in a and "&lt;b&gt;x&lt;/b&gt;" in a
