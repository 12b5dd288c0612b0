"""The HTML report's inline style sheet, script and content security policy.

The script only reorders and hides rows already in the page (sorting and filtering the utterances);
it never builds markup from data, so nothing in a transcript can become code. Escaping is the first
guard; the policy is the second: it allows this style sheet and this script by their SHA-256 hashes
and nothing else inline, so a ``<script>``, an ``onerror=`` or a ``style=`` that slipped past an
escape would not run or apply. Markup added to the page (inline SVG included) must therefore style
itself through classes in :data:`CSS` or presentation attributes (``fill=``), never ``style=``.
"""

from __future__ import annotations

import base64
import hashlib

__all__ = ["CSP", "CSS", "SCRIPT", "source_hash"]

CSS = """
:root { --s: #f5a623; --d: #d0021b; --i: #4a90e2; --line: #ddd; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em auto;
       max-width: 1400px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
.meta { color: #555; margin: 0 0 1em; }
.warn { background: #fff3cd; border: 1px solid #e0c060; padding: .5em .8em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border-bottom: 1px solid var(--line); padding: .25em .6em; text-align: left;
         vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th[data-key] { cursor: pointer; user-select: none; }
th[data-key]::after { content: " \\2195"; color: #aaa; }
th.asc::after { content: " \\2191"; color: #222; } th.desc::after { content: " \\2193"; color: #222; }
.filters { display: flex; gap: 1em; flex-wrap: wrap; align-items: end; margin: .5em 0; }
.filters label { display: flex; flex-direction: column; font-size: .85em; color: #555; }
.align { font-family: ui-monospace, monospace; font-size: .9em; max-width: 60em; }
.op-s { background: #fde9c4; border-bottom: 2px solid var(--s); }
.op-d { background: #f8d0d5; border-bottom: 2px solid var(--d); }
.op-i { background: #d6e6f9; border-bottom: 2px solid var(--i); }
.op-s del, .op-d del { color: #8a1020; } .op-s ins, .op-i ins { color: #114a8a; text-decoration: none; }
.legend span { padding: 0 .4em; margin-right: .6em; }
.plots { display: flex; gap: 1em; flex-wrap: wrap; }
.plots figure { margin: 0; } .plots img { max-width: 640px; width: 100%; border: 1px solid var(--line); }
.note { color: #666; font-style: italic; }
details { margin: .3em 0; } summary { cursor: pointer; }
pre { white-space: pre-wrap; margin: 0; }
.kv th { font-weight: normal; color: #555; white-space: nowrap; }
.scroll { overflow-x: auto; } .cols { display: flex; gap: 2em; flex-wrap: wrap; align-items: start; }
"""

SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("utterances");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var shown = document.getElementById("shown");
  var fields = ["model", "device", "dataset"];
  function value(id) { var el = document.getElementById(id); return el ? el.value : ""; }
  function filter() {
    var text = value("f-text").toLowerCase();
    var min = parseFloat(value("f-wer"));
    var count = 0;
    rows.forEach(function (row) {
      var ok = fields.every(function (f) {
        var want = value("f-" + f);
        return !want || row.dataset[f] === want;
      });
      if (ok && text) { ok = row.textContent.toLowerCase().indexOf(text) >= 0; }
      if (ok && !isNaN(min)) { ok = parseFloat(row.dataset.wer) * 100 >= min; }
      row.hidden = !ok;
      if (ok) { count += 1; }
    });
    if (shown) { shown.textContent = String(count); }
  }
  function sort(th) {
    var key = th.getAttribute("data-key");
    var numeric = th.classList.contains("n");
    var dir = th.classList.contains("asc") ? -1 : 1;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) {
      c.classList.remove("asc", "desc");
    });
    th.classList.add(dir === 1 ? "asc" : "desc");
    rows.sort(function (a, b) {
      var x = a.dataset[key] || "", y = b.dataset[key] || "";
      if (numeric) {
        var p = x === "" ? Infinity : parseFloat(x), q = y === "" ? Infinity : parseFloat(y);
        return p === q ? 0 : (p < q ? -dir : dir);
      }
      return x.localeCompare(y) * dir;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  Array.prototype.forEach.call(table.querySelectorAll("th[data-key]"), function (th) {
    th.addEventListener("click", function () { sort(th); });
  });
  Array.prototype.forEach.call(document.querySelectorAll(".filters input, .filters select"),
    function (el) { el.addEventListener("input", filter); });
  filter();
}());
"""


def source_hash(text: str) -> str:
    """The CSP source (``'sha256-…'``) that allows exactly the inline element holding ``text``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


#: Nothing may be fetched, no form sent, no base URL changed; only this style sheet and this script
#: apply, by hash; images (SVG plots) are data: URIs, audio data: (or blob:) URIs.
CSP = (f"default-src 'none'; script-src {source_hash(SCRIPT)}; style-src {source_hash(CSS)}; "
       "img-src data:; media-src data: blob:; base-uri 'none'; form-action 'none'")
