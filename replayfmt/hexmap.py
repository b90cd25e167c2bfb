"""The forensic hex map: every byte of a segment, sidecar or `.mv2` container, named.

`build_hexmap` runs the tracing parse (`trace`, the one span walker) over the bytes and keeps
its spans with absolute file offsets; `render_text` prints them in `xxd` layout with the fields
that start on each line listed under it, and `render_html` writes one self-contained page
(no network, works from file://) with the field tree beside the hex: hovering or clicking a
field highlights its bytes, clicking a byte selects its field, and `#path` in the URL selects a
field on load. Damaged input maps what decoded, then the undecoded rest as raw bytes with the
error. A `.mv2` is mapped whole (`trace.trace_mv2`): header page, WAL, frame payloads by frame
id, the live segment field by field, TOC-referenced and unreferenced bytes, the TOC field by
field and the footer. A long run of bytes named as one field (a "range": WAL, payload,
reserved or unreferenced bytes) shows its first two hex rows and its last, the rows between
summarised in one line, so a map's size follows its fields, not the file's.
Nothing here decodes bytes itself.
"""

from __future__ import annotations

import html
import json
import uuid
from typing import Any

import attrs

from . import framing
from .errors import ReplayFormatError
from .trace import Span, Trace, trace_active_session, trace_mv2, trace_segment

__all__ = ["HexMap", "Node", "build_hexmap", "render_text", "render_html", "hexmap_json",
           "error_text"]

#: Raw bytes after the decoded part shown by default (the rest is counted, not dumped).
RAW_LIMIT = 4096


@attrs.frozen
class Node:
    """One field of the map: a trace Span at its absolute offset, with its place in the tree.

    `leaves` is the half-open range of leaf indexes (into HexMap.leaves) the field covers;
    `parent` is the index of the enclosing node in HexMap.nodes (-1 at the top).
    """

    path: str
    offset: int
    size: int
    kind: str
    value: Any
    label: str  # the value as shown to people
    parent: int
    depth: int
    leaves: tuple[int, int]
    is_leaf: bool
    complete: bool = True

    @property
    def end(self) -> int:
        return self.offset + self.size

    def to_json(self) -> dict:
        return {"path": self.path, "offset": self.offset, "size": self.size, "kind": self.kind,
                "value": _json_value(self.value), "label": self.label,
                "complete": self.complete}


@attrs.frozen
class HexMap:
    """A traced region of a file: `data` is the whole file, `base`..`stop` the mapped bytes."""

    file_kind: str  # segment | active_session | mv2
    record_kind: str  # segment | active_session | mv2: what the mapped region holds
    data: bytes
    base: int
    stop: int
    trace: Trace
    nodes: tuple[Node, ...]  # every field, in byte order, composites before their contents
    leaves: tuple[int, ...]  # indexes into nodes of the leaf fields, in byte order
    where: str  # one line saying what was mapped

    @property
    def error(self) -> ReplayFormatError | None:
        return self.trace.error

    @property
    def stopped(self) -> bool:
        """True when decoding could not go on (the rest of the region is raw)."""
        return self.trace.error is not None and self.trace.value is None

    @property
    def region(self) -> bytes:
        return self.data[self.base:self.stop]

    def field_at(self, offset: int) -> Node | None:
        """The leaf field holding the byte at absolute `offset`."""
        for i in self.leaves:
            n = self.nodes[i]
            if n.offset <= offset < n.end:
                return n
        return None


# --- building --------------------------------------------------------------------------------

def _kind_of(data: bytes) -> str:
    # a damaged or foreign magic is reported by the segment trace
    return framing.sniff(data) or framing.SEGMENT


def build_hexmap(data, kind: str | None = None) -> HexMap:
    """Trace `data` (segment, MV2ACTIV sidecar or .mv2) into a HexMap.

    `kind` forces 'segment' or 'active_session' (default: from the magic; anything that is
    neither a sidecar nor a .mv2 is traced as a segment, so a bad magic is reported as such).
    A .mv2 is mapped whole, damaged or not (what does not decode is raw bytes with the error).
    """
    data = framing.readable(data)  # an mmap stays mapped: a huge sparse file is not copied
    file_kind = kind or _kind_of(data)
    if file_kind == "mv2":
        base, stop = 0, len(data)
        trace = trace_mv2(data)
        record_kind = "mv2"
        where = _mv2_where(trace)
    elif file_kind in ("segment", "active_session"):
        base, stop = 0, len(data)
        record_kind = file_kind
        trace = (trace_segment if file_kind == "segment" else trace_active_session)(data)
        what = ("replay segment (MV2RPLY!)" if file_kind == "segment"
                else "active-session envelope (MV2ACTIV)")
        where = f"{what}, {len(data)} bytes"
    else:
        raise ValueError(f"unknown kind {kind!r}")
    nodes, leaves = _tree(trace.fields, base)
    return HexMap(file_kind, record_kind, data, base, stop, trace, tuple(nodes), tuple(leaves),
                  where)


def _mv2_where(trace: Trace) -> str:
    out = f".mv2 container, {trace.size} bytes"
    toc = trace.find("toc")
    if toc is not None:
        layout = trace.value["toc_layout"] if trace.value else None
        out += f"; TOC at {toc.offset} (0x{toc.offset:x}), {toc.size} bytes"
        out += f" ({layout} layout)" if layout else " (does not decode)"
    seg = trace.find("replay_segment")
    if seg is not None:
        out += (f"; live replay segment at offset {seg.offset} (0x{seg.offset:x}), "
                f"{seg.size} bytes")
    elif trace.ok:
        out += "; no live replay segment (the TOC manifest is None)"
    frames = sum(1 for s in trace.fields if s.kind == "range" and s.path.startswith("frame#"))
    if frames:
        out += f"; {frames} frame payload(s)"
    return out


#: Hex rows of a range field shown before its middle rows are summarised.
RANGE_ROWS = 2


def _skips(hm: HexMap) -> list[tuple[int, int, str, int]]:
    """Rows not dumped: (lo, hi, path, k) for each range field (and each unparsed run before
    the decoded end) with more than a few whole rows inside it; k is its index in hm.leaves.
    Rows lo..hi lie wholly inside the field; the first RANGE_ROWS rows and the row holding its
    end are shown."""
    decoded_end = hm.base + hm.trace.end
    out = []
    for k, i in enumerate(hm.leaves):
        n = hm.nodes[i]
        if n.kind != "range" and not (n.kind == "unparsed" and n.end <= decoded_end):
            continue
        lo = n.offset - n.offset % 16 + 16 * RANGE_ROWS
        hi = n.end - n.end % 16
        if hi - lo >= 32:
            out.append((lo, hi, n.path, k))
    return out


def _tree(spans: list[Span], base: int) -> tuple[list[Node], list[int]]:
    """Nest spans by containment (composites come before what they hold) and index leaves."""
    rows: list[list] = []  # [span, parent, depth, lo, hi]
    leaves: list[int] = []
    stack: list[int] = []

    def close(i: int) -> None:
        rows[i][4] = len(leaves)

    for s in spans:
        while stack:
            top = rows[stack[-1]][0]
            if top.offset <= s.offset and s.offset + s.size <= top.offset + top.size:
                break
            close(stack.pop())
        idx = len(rows)
        rows.append([s, stack[-1] if stack else -1, len(stack), len(leaves), 0])
        if s.is_leaf:
            leaves.append(idx)
            close(idx)
        else:
            stack.append(idx)
    for i in stack:
        close(i)
    nodes = []
    for s, parent, depth, lo, hi in rows:
        parent_kind = rows[parent][0].kind if parent != -1 else ""
        nodes.append(Node(s.path, base + s.offset, s.size, s.kind, s.value,
                          _label(s, parent_kind), parent, depth, (lo, hi), s.is_leaf,
                          s.complete))
    return nodes, leaves


def _short_text(text: str, limit: int = 80) -> str:
    shown = json.dumps(text, ensure_ascii=False)
    return shown if len(shown) <= limit else shown[:limit - 4] + '..."'


def _label(s: Span, parent_kind: str) -> str:
    v, k = s.value, s.kind
    if k == "len":
        return f"{'count' if parent_kind in ('vec', 'map') else 'length'} {v}"
    if k == "tag":
        return {0: "None", 1: "Some"}.get(v, str(v))
    if k == "variant":
        return str(v)
    if k == "magic":
        return bytes(v).decode("latin-1")
    if k == "text" or k == "string":
        return _short_text(v) if v is not None else "(incomplete)"
    if k == "bytes":
        if parent_kind == "uuid":
            return str(uuid.UUID(bytes=bytes(v)))
        return bytes(v).hex()
    if k == "unparsed":
        return f"{s.size} bytes not decoded"
    if k == "trailing":
        return f"{s.size} bytes after the record"
    if k == "range":
        v = v or {}
        what = (f"frame id {v['frame_id']} ({v['toc']})" if "frame_id" in v
                else f"named by {v['toc']}" if "toc" in v else "")
        if v.get("overlaps"):
            what += "; starts inside the range before it"
        return f"{s.size} bytes" + (f", {what}" if what else "")
    if k == "uuid":
        return str(v) if v is not None else "(incomplete)"
    if k == "option":
        return "None" if s.complete and v is None and s.size == 1 else ("Some" if s.complete
                                                                       else "(incomplete)")
    if k == "vec":
        return f"{len(v)} items" if v is not None else "(incomplete)"
    if k == "map":
        return f"{len(v)} entries" if v is not None else "(incomplete)"
    if k == "enum":
        return next(iter(v)) if v else "(incomplete)"
    if k in ("struct", "segment", "envelope", "sessions", "mv2"):
        return "" if s.complete else "(incomplete)"
    if k == "bool":
        return "true" if v else "false"
    return str(v)


def _json_value(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return None  # composites: see their fields


def _error_json(err: ReplayFormatError | None, base: int) -> dict | None:
    if err is None:
        return None
    return {"kind": err.kind, "offset": base + err.offset, "path": err.path,
            "reason": err.reason, "message": _error_text(err, base)}


def _error_text(err: ReplayFormatError, base: int) -> str:
    if not base:
        return str(err)
    return f"{err} (file offset {base + err.offset}, 0x{base + err.offset:x})"


def error_text(hm: HexMap) -> str | None:
    """Where and why the trace stopped, in words (None when everything decoded)."""
    return None if hm.error is None else _error_text(hm.error, hm.base)


def hexmap_json(hm: HexMap) -> dict:
    """Every field with absolute offset, size, path, kind, value and label, plus the error."""
    return {"file_kind": hm.file_kind, "record_kind": hm.record_kind, "where": hm.where,
            "start": hm.base, "end": hm.stop, "decoded_end": hm.base + hm.trace.end,
            "error": _error_json(hm.error, hm.base),
            "problems": [_error_json(p, hm.base) for p in hm.trace.problems],
            "fields": [n.to_json() for n in hm.nodes]}


# --- text ------------------------------------------------------------------------------------

def _hex_line(addr: int, chunk: bytes, start_col: int = 0) -> str:
    cells = ["  "] * start_col + [f"{b:02x}" for b in chunk]
    cells += ["  "] * (16 - len(cells))
    groups = " ".join(cells[i] + cells[i + 1] for i in range(0, 16, 2))
    text = " " * start_col + "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
    return f"{addr:08x}: {groups}  {text}"


def render_text(hm: HexMap, raw_limit: int = RAW_LIMIT) -> str:
    """xxd layout over the mapped bytes; under each line, the fields that start on it:
    offset, size, path (kind) and decoded value."""
    out = [f"# {hm.where}"]
    for i, p in enumerate(hm.trace.problems):
        what = "decoding stopped" if i == 0 and hm.stopped else "problem"
        out.append(f"# {what}: {_error_text(p, hm.base)}")
    if hm.stopped:
        out.append(f"# decoded bytes {hm.base}..{hm.base + hm.trace.end}; the rest is raw")
    starts: dict[int, list[Node]] = {}
    for i in hm.leaves:
        n = hm.nodes[i]
        starts.setdefault(n.offset - n.offset % 16, []).append(n)
    data = hm.data
    row = hm.base - hm.base % 16
    raw_shown = 0
    skipped_from = None
    skips = {lo: (hi, path) for lo, hi, path, _ in _skips(hm)}
    while row < hm.stop:
        if row in skips:
            hi, path = skips[row]
            out.append(f"          ... {hi - row} bytes of {path} not shown ({row}..{hi})")
            row = hi
            continue
        lo, hi = max(row, hm.base), min(row + 16, hm.stop)
        in_raw = hm.trace.end + hm.base <= lo
        if in_raw and raw_shown >= raw_limit:
            skipped_from = lo
            break
        out.append(_hex_line(row, data[lo:hi], lo - row))
        if in_raw:
            raw_shown += hi - lo
        notes = starts.get(row, [])
        for j, n in enumerate(notes):
            branch = "└" if j == len(notes) - 1 else "├"
            name = n.path or ("<rest>" if n.kind in ("unparsed", "trailing") else "<root>")
            if n.kind not in ("text", "bytes", "u8", "u16", "u32", "u64", "i64", "bool", "magic"):
                name += f" ({n.kind})"
            out.append(f"          {branch} {n.offset:#07x} {n.size:>5}  {name}  {n.label}")
        row += 16
    if skipped_from is not None:
        out.append(f"# ... {hm.stop - skipped_from} more raw bytes not shown "
                   f"({skipped_from}..{hm.stop}; --raw-limit)")
    return "\n".join(out) + "\n"


# --- HTML ------------------------------------------------------------------------------------

_CSS = """
body{margin:0;font:13px/1.35 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#222}
header{padding:6px 10px;background:#f3f3f3;border-bottom:1px solid #ccc}
header h1{font-size:14px;margin:0 0 2px 0}
.error{color:#a00;font-weight:bold}
#main{display:flex;height:calc(100vh - 74px)}
#tree{flex:0 0 46%;overflow:auto;border-right:1px solid #ccc;padding:4px 6px}
#hex{flex:1;overflow:auto;padding:4px 8px;white-space:pre}
#status{padding:3px 10px;border-top:1px solid #ccc;background:#fafafa;height:18px;
  white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
ul{list-style:none;margin:0;padding-left:14px}
#tree>ul{padding-left:0}
.n{cursor:pointer;border-radius:2px;padding:0 2px}
.n:hover,.n.sel{background:#ffe08a}
.k{color:#888}.v{color:#05a}.o{color:#999}
.tg{display:inline-block;width:12px;cursor:pointer;color:#777}
li.closed>ul{display:none}
li.fold>.tg::before{content:"\\25be"}li.fold.closed>.tg::before{content:"\\25b8"}
.r{cursor:pointer}.a{color:#999}
.r.raw{color:#a00}
.r.hl{background:#ffe08a}.r.hl2{background:#ffd0d0}
.r:hover{outline:1px solid #999}
"""

_JS = r"""
(function(){
  "use strict";
  var D = JSON.parse(document.getElementById("hexmap-data").textContent);
  var bytes = (function(h){var a=new Uint8Array(h.length/2);
    for(var i=0;i<a.length;i++)a[i]=parseInt(h.substr(2*i,2),16);return a;})(D.hex);
  var N = D.nodes, L = D.leaves, base = D.start;
  var runsByLeaf = [], nodeEls = [], selected = -1, hovered = -1;
  function esc(s){return String(s).replace(/[&<>"]/g,function(c){
    return {"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;"}[c];});}
  function leafAt(off){ // binary search over leaves by offset
    var lo=0, hi=L.length-1;
    while(lo<=hi){var m=(lo+hi)>>1, n=N[L[m]];
      if(off<n.offset)hi=m-1; else if(off>=n.offset+n.size)lo=m+1; else return m;}
    return -1;}
  // --- hex pane: one element per run of bytes of one leaf within a row ---
  var hex = document.getElementById("hex"), parts = [];
  var first = base - base % 16, raw = D.decoded_end;
  for(var row=first; row<D.end; row+=16){
    var hx=[], asc=[], o=row, pad=Math.max(0, base-row);
    hx.push(("0000000"+row.toString(16)).slice(-8)+": ");
    for(var i=0;i<pad;i++){hx.push("   ");asc.push(" ");}
    o = row+pad;
    while(o<row+16 && o<D.end){
      var li = leafAt(o), stop = Math.min(row+16, D.end);
      if(li>=0) stop = Math.min(stop, N[L[li]].offset+N[L[li]].size);
      else { var nx=o+1; while(nx<stop && leafAt(nx)<0) nx++; stop=nx; }
      var h=[], t="";
      for(var p=o;p<stop;p++){var b=bytes[p-base];h.push((b<16?"0":"")+b.toString(16));
        t+= (b>=32&&b<127)?String.fromCharCode(b):".";}
      var cls = "r"+(o>=raw?" raw":"");
      hx.push('<span class="'+cls+'" data-f="'+li+'" data-o="'+o+'" data-n="'+(stop-o)+'">'+
              h.join(" ")+'</span>');
      hx.push(" ");
      asc.push('<span class="'+cls+' a" data-f="'+li+'" data-o="'+o+'" data-n="'+(stop-o)+
               '">'+esc(t)+'</span>');
      o = stop;
    }
    var used = o-row; for(var q=used;q<16;q++)hx.push("   ");
    parts.push(hx.join("")+" "+asc.join(""));
  }
  hex.innerHTML = parts.join("\n");
  var runs = hex.querySelectorAll("span.r");
  for(var r=0;r<runs.length;r++){var f=+runs[r].getAttribute("data-f");
    if(f>=0)(runsByLeaf[f]=runsByLeaf[f]||[]).push(runs[r]);}
  // --- tree pane ---
  var kids = N.map(function(){return [];}), roots=[];
  N.forEach(function(n,i){(n.parent<0?roots:kids[n.parent]).push(i);});
  function build(list){
    var ul=document.createElement("ul");
    list.forEach(function(i){
      var n=N[i], li=document.createElement("li"), name=n.path.split(".").pop()||"<root>";
      if(n.parent>=0 && N[n.parent].path===n.path) name="\u00b7";
      var tg = '<span class="tg"></span>';
      li.innerHTML = tg+'<span class="n" data-i="'+i+'">'+esc(name)+' <span class="k">'+
        esc(n.kind)+'</span> <span class="v">'+esc(n.label)+'</span> <span class="o">@'+
        n.offset+' +'+n.size+'</span></span>';
      nodeEls[i]=li.querySelector(".n");
      if(kids[i].length){ li.appendChild(build(kids[i])); li.classList.add("fold");
        if(n.depth>=4) li.classList.add("closed"); }
      ul.appendChild(li);
    });
    return ul;}
  document.getElementById("tree").appendChild(build(roots));
  // --- highlight ---
  function mark(i, cls, on){
    if(i<0)return; var n=N[i];
    for(var k=n.leaves[0];k<n.leaves[1];k++)(runsByLeaf[k]||[]).forEach(function(e){
      e.classList.toggle(cls,on);});}
  function report(){
    var s = selected>=0?N[selected]:null, h = hovered>=0?N[hovered]:null, cur = h||s;
    document.body.setAttribute("data-selected", s? s.path : "");
    document.body.setAttribute("data-selected-range", s? s.offset+"-"+(s.offset+s.size) : "");
    document.body.setAttribute("data-hovered", h? h.path : "");
    var hl=[]; hex.querySelectorAll("span.hl:not(.a)").forEach(function(e){
      hl.push(e.getAttribute("data-o")+"+"+e.getAttribute("data-n"));});
    document.body.setAttribute("data-highlight", hl.join(","));
    document.getElementById("status").textContent = cur ?
      (cur.path||"<root>")+"  ("+cur.kind+")  offset "+cur.offset+" (0x"+cur.offset.toString(16)+
      "), "+cur.size+" bytes  "+cur.label : "hover or click a field or a byte";
  }
  function openTo(i){ for(var p=i;p>=0;p=N[p].parent){
    var li=nodeEls[p].parentNode; li.classList.remove("closed");} }
  function select(i, scroll){
    if(selected>=0){ mark(selected,"hl",false); nodeEls[selected].classList.remove("sel"); }
    selected=i;
    if(i>=0){ mark(i,"hl",true); nodeEls[i].classList.add("sel"); openTo(i);
      if(scroll){ nodeEls[i].scrollIntoView({block:"nearest"});
        var e=(runsByLeaf[N[i].leaves[0]]||[])[0]; if(e)e.scrollIntoView({block:"nearest"}); } }
    report();}
  function hover(i){ if(hovered>=0)mark(hovered,"hl2",false); hovered=i;
    if(i>=0)mark(i,"hl2",true); report(); }
  document.getElementById("tree").addEventListener("click",function(ev){
    var t=ev.target.closest(".tg");
    if(t){t.parentNode.classList.toggle("closed");return;}
    var n=ev.target.closest(".n"); if(n)select(+n.getAttribute("data-i"),true);});
  document.getElementById("tree").addEventListener("mouseover",function(ev){
    var n=ev.target.closest(".n"); hover(n?+n.getAttribute("data-i"):-1);});
  document.getElementById("tree").addEventListener("mouseleave",function(){hover(-1);});
  hex.addEventListener("click",function(ev){var e=ev.target.closest(".r");
    if(e&&+e.getAttribute("data-f")>=0)select(L[+e.getAttribute("data-f")],true);});
  hex.addEventListener("mouseover",function(ev){var e=ev.target.closest(".r");
    hover(e&&+e.getAttribute("data-f")>=0?L[+e.getAttribute("data-f")]:-1);});
  hex.addEventListener("mouseleave",function(){hover(-1);});
  function byPath(path){ for(var i=0;i<N.length;i++) if(N[i].path===path) return i; return -1; }
  function fromHash(){ var h=decodeURIComponent(location.hash.slice(1));
    if(h && h!=="selftest"){ select(byPath(h),true); } }
  window.addEventListener("hashchange",fromHash);
  // Test hook: #selftest clicks and hovers through the real handlers and reports into the DOM.
  function selftest(){
    var res={clicks:[],hovers:[],bytes:[]}, ev=function(type){return new MouseEvent(type,
      {bubbles:true,cancelable:true,view:window});};
    for(var i=0;i<N.length;i++){
      nodeEls[i].dispatchEvent(ev("click"));
      res.clicks.push({i:i,path:N[i].path,selected:document.body.getAttribute("data-selected"),
        highlight:document.body.getAttribute("data-highlight")});
      nodeEls[i].dispatchEvent(ev("mouseover"));
      var h=[]; hex.querySelectorAll("span.hl2:not(.a)").forEach(function(e){
        h.push(e.getAttribute("data-o")+"+"+e.getAttribute("data-n"));});
      res.hovers.push({i:i,hovered:document.body.getAttribute("data-hovered"),
        highlight:h.join(",")});
    }
    runs.forEach(function(e){ if(e.classList.contains("a"))return;
      e.dispatchEvent(ev("mouseover"));
      res.bytes.push({o:+e.getAttribute("data-o"),n:+e.getAttribute("data-n"),
        hovered:document.body.getAttribute("data-hovered")});
      e.dispatchEvent(ev("click"));
    });
    hex.dispatchEvent(new MouseEvent("mouseleave",{bubbles:false}));
    var pre=document.createElement("pre"); pre.id="selftest-result"; pre.hidden=true;
    pre.textContent=JSON.stringify(res); document.body.appendChild(pre);
  }
  report();
  if(location.hash==="#selftest") selftest(); else fromHash();
  document.body.setAttribute("data-ready","1");
})();
"""


def render_html(hm: HexMap, title: str = "replayfmt hexmap", raw_limit: int = RAW_LIMIT) -> str:
    """One self-contained HTML page: field tree beside the hex, linked both ways.

    Of the bytes after the decoded part, only the first `raw_limit` are put in the page."""
    decoded_end = hm.base + hm.trace.end
    shown_end = min(hm.stop, decoded_end + max(0, raw_limit))
    skips = [s for s in _skips(hm) if s[1] <= shown_end]
    if skips:  # the summarised rows' bytes stay out of the page
        chunks, pos = [], hm.base
        for lo, hi, _, _ in skips:
            chunks.append([pos, hm.data[pos:lo].hex()])
            pos = hi
        chunks.append([pos, hm.data[pos:shown_end].hex()])
        hexdata: Any = chunks
    else:
        hexdata = hm.data[hm.base:shown_end].hex()
    payload = {
        "start": hm.base, "end": shown_end, "decoded_end": decoded_end,
        "hex": hexdata,
        "leaves": list(hm.leaves),
        "nodes": [{"path": n.path, "offset": n.offset, "size": n.size, "kind": n.kind,
                   "label": n.label, "parent": n.parent, "depth": n.depth,
                   "leaves": list(n.leaves)} for n in hm.nodes],
        "error": _error_json(hm.error, hm.base),
    }
    if skips:
        payload["skips"] = [[lo, hi, path, k] for lo, hi, path, k in skips]
    # every "<" escaped: no "</script" ends the block early and no "<!--" switches the
    # HTML tokenizer into its escaped script states (which would swallow the rest of the page)
    blob = json.dumps(payload, ensure_ascii=True).replace("<", "\\u003c")
    err = "".join(
        f'<div class="error">{"decoding stopped" if i == 0 and hm.stopped else "problem"}: '
        f"{html.escape(_error_text(p, hm.base))}</div>"
        for i, p in enumerate(hm.trace.problems))
    if hm.stopped:
        err += (f'<div class="error">bytes from {decoded_end} on were not decoded '
                "and are shown raw (red)</div>")
    if shown_end < hm.stop:
        err += (f'<div class="error">{hm.stop - shown_end} raw bytes ({shown_end}..{hm.stop}) '
                "are not in this page (--raw-limit)</div>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>"
        f"<header><h1>{html.escape(title)}</h1><div id=\"where\">{html.escape(hm.where)}</div>"
        f"{err}</header>\n<div id=\"main\"><div id=\"tree\"></div><div id=\"hex\"></div></div>"
        "<div id=\"status\"></div>\n"
        f"<script type=\"application/json\" id=\"hexmap-data\">{blob}</script>\n"
        f"<script>{_JS_SKIPS if skips else _JS}</script>\n</body></html>\n")


def _js_with_skips() -> str:
    """The page script for maps with summarised rows: bytes come in chunks, and each run of
    summarised rows is one element of its field (it highlights, hovers and selects as the
    field's bytes do)."""
    js = _JS
    edits = [
        ("    for(var i=0;i<a.length;i++)a[i]=parseInt(h.substr(2*i,2),16);return a;})(D.hex);",
         "    for(var i=0;i<a.length;i++)a[i]=parseInt(h.substr(2*i,2),16);return a;})(\"\");\n"
         "  bytes = new Uint8Array(D.end-D.start);\n"
         "  D.hex.forEach(function(c){for(var i=0;i<c[1].length/2;i++)\n"
         "    bytes[c[0]-D.start+i]=parseInt(c[1].substr(2*i,2),16);});\n"
         "  var skips = {}; (D.skips||[]).forEach(function(s){skips[s[0]]=s;});"),
        ("  for(var row=first; row<D.end; row+=16){\n",
         "  for(var row=first; row<D.end; row+=16){\n"
         "    var sk=skips[row];\n"
         "    if(sk){parts.push(\"          \"+'<span class=\"r\" data-f=\"'+sk[3]+'\" data-o=\"'+"
         "row+\n"
         "      '\" data-n=\"'+(sk[1]-row)+'\">... '+(sk[1]-row)+' bytes of '+esc(sk[2])+\n"
         "      ' not shown ('+row+'..'+sk[1]+')</span>'); row=sk[1]-16; continue;}\n"),
    ]
    for old, new in edits:
        assert js.count(old) == 1, old
        js = js.replace(old, new)
    return js


_JS_SKIPS = _js_with_skips()
