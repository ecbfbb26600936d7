"""The changes between editions as pages people can read, and as a Markdown summary.

- :func:`write_report` writes ``out_dir/report.html``, an index of the series (each with its
  editions and what changed, the run's failures, when it was made), and one self-contained page
  per series, ``out_dir/series/<series>.html`` (inline CSS and inline SVG only: no script, no
  external font, style sheet or image, no network; readable on a phone). A series page: a
  timeline of the editions; the facts that changed, with their value in every edition, each
  value linked to its page in the PDF where the PDF is on this machine (``<file>.pdf#page=N``,
  relative to the page); then, for each pair of consecutive editions (newest first), the facts
  whose value changed (old → new), the entities added and removed, and the blocks that changed,
  side by side with word-level ``<del>``/``<ins>`` highlights (added, removed and moved blocks
  too); last, a chart of the entities per label in each edition. A run rewrites the pages of
  the series it changed, and the index. Past :data:`INDEX_PAGE_SERIES` series, the index lists
  its pages, ``out_dir/index/page-NNNN.html``, each a range of series whose bounds stay from run
  to run: a run rewrites only the pages whose series changed.
- :func:`changes_markdown` gives a Markdown summary of the same changes, and
  :func:`run_markdown` the body of a run's Prefect artifact: what that run added and changed.

They read only the tables, and a series page is deterministic: the same tables give the same
bytes. All text from the tables is escaped.
"""

from __future__ import annotations

import bisect
import calendar
import hashlib
import html
import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.records import FACT_LABELS, MARGIN_KINDS
from schemas.tables import ARROW, TABLES, types_mapper

from .compare import diff_segments

if TYPE_CHECKING:
    from outputs.merge import BatchSummary
    from outputs.store import Store

#: How entity labels read on the page, in the order they are shown.
LABEL_NAMES = {
    "ORG": "Organisations",
    "OPERATION": "Operations and missions",
    "PERSON": "People",
    "GPE": "Countries and cities",
    "LOC": "Places",
    "DATE": "Dates",
    "AMOUNT": "Amounts",
}
#: Short names under the bars of the chart.
CHART_NAMES = {"ORG": "Organisations", "OPERATION": "Operations", "PERSON": "People", "GPE": "Countries",
               "LOC": "Places", "DATE": "Dates", "AMOUNT": "Amounts"}
BLOCK_NAMES = {"title": "Title", "heading": "Heading", "paragraph": "Paragraph", "list_item": "List item", "caption": "Caption"}
#: Bar colours of the editions in the chart, oldest to newest (the newest is always the last).
EDITION_COLOURS = ("#b9d3ec", "#7fb0dd", "#4a8bc9", "#2267ad", "#004990")
_FACT = re.compile(r"^(.*?) \((.*)\)$", re.S)

REPORT_NAME = "report.html"
#: The folder of the series pages, beside the index.
SERIES_DIR = "series"
#: The folder of the index's pages, when the series are more than :data:`INDEX_PAGE_SERIES`.
INDEX_DIR = "index"
#: The index lists up to this many series on ``report.html`` itself; beyond, it lists its pages,
#: each of a range of series (in the order of their names), split in two past this many.
INDEX_PAGE_SERIES = 500
_INDEX_STATE = "pages.json"
_PAGE_FILE = re.compile(r"page-\d{4,}\.html")


# --------------------------------------------------------------------------------------------
# The model of the page: series, editions, pairs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EditionInfo:
    doc_id: str
    edition: str | None
    source: str
    title: str

    @property
    def label(self) -> str:
        return edition_label(self.edition)


@dataclass(frozen=True)
class Pair:
    series: str
    before: EditionInfo
    after: EditionInfo
    #: its rows of the ``changes`` table, as records (``r.level``, ``r.change``, ...): a page
    #: has hundreds of pairs, each filtered several times, and a frame per pair cost seconds
    changes: list[Any]
    #: False when another pair of the series has the same two edition labels (a re-issue):
    #: then the anchor holds the newer document's id and headings name the files
    distinct: bool = True

    @property
    def anchor(self) -> str:
        base = f"{self.series}--{self.before.edition or 'undated'}--{self.after.edition or 'undated'}"
        return base if self.distinct else f"{base}--{self.after.doc_id[:12]}"

    @property
    def files(self) -> str:
        """The two files, for a heading that edition labels alone do not tell apart."""
        return "" if self.distinct else f"{self.before.source} → {self.after.source}"


#: The columns of ``blocks`` that the report reads.
_BLOCK_COLUMNS = ("doc_id", "block_id", "kind", "section", "text")


@lru_cache(maxsize=4096)
def edition_label(edition: str | None) -> str:
    """``"2019-02"`` → ``"February 2019"``; no edition → ``"undated"``."""
    if not edition:
        return "undated"
    m = re.fullmatch(r"(\d{4})-(\d{2})", edition)
    if not m or not 1 <= int(m.group(2)) <= 12:
        return edition
    return f"{calendar.month_name[int(m.group(2))]} {m.group(1)}"


def _str(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return str(value)


def _text_key(value: object) -> tuple[bool, str]:
    """Sorts text as ``DataFrame.sort_values`` does: missing values last."""
    text = _str(value)
    return text is None, text or ""


def _editions(documents: pd.DataFrame) -> dict[str, list[EditionInfo]]:
    out: dict[str, list[EditionInfo]] = {}
    docs = documents.sort_values(["series", "edition", "source"], na_position="first")
    # columns as lists: itertuples over Arrow-backed columns was most of a large store's index
    for series, doc_id, edition, source, title in zip(*(docs[c].tolist() for c in ("series", "doc_id", "edition", "source", "title"))):
        out.setdefault(str(series), []).append(EditionInfo(str(doc_id), _str(edition), str(source), str(title)))
    return out


def _pairs(series: str, editions: list[EditionInfo], changes: pd.DataFrame) -> list[Pair]:
    """Consecutive editions with their changes (found by the two documents' ids, or by the
    edition labels in a store written before changes carried ids), newest pair first."""
    mine = changes[changes["series"] == series] if len(changes) else changes
    groups: dict[tuple[str, str], list[Any]] = {}
    by_ids = "from_doc_id" in mine.columns and bool(mine["from_doc_id"].notna().all())
    if len(mine):
        keys = ["from_doc_id", "to_doc_id"] if by_ids else ["from_edition", "to_edition"]
        for key, row in zip(zip(*(mine[k].fillna("").astype(str).tolist() for k in keys)), mine.itertuples(index=False)):
            groups.setdefault(key, []).append(row)
    labels = Counter((a.edition, b.edition) for a, b in zip(editions, editions[1:]))
    pairs = []
    for a, b in zip(editions, editions[1:]):
        key = (a.doc_id, b.doc_id) if by_ids else (a.edition or "", b.edition or "")
        pairs.append(Pair(series, a, b, groups.get(key, []), distinct=labels[(a.edition, b.edition)] == 1))
    return pairs[::-1]


_COUNTED = (
    ("entity", "changed", "fact", "facts", "changed"),
    ("entity", "added", "entity", "entities", "added"),
    ("entity", "removed", "entity", "entities", "removed"),
    ("block", "changed", "block", "blocks", "changed"),
    ("block", "added", "block", "blocks", "added"),
    ("block", "removed", "block", "blocks", "removed"),
    ("block", "moved", "block", "blocks", "moved"),
)


def _counts(changes: list[Any]) -> list[tuple[int, str]]:
    """Numbers a reader wants first, as (n, words): "5", "facts changed"; none left out."""
    counted = Counter((r.level, r.change) for r in changes)
    out = []
    for level, change, one, many, verb in _COUNTED:
        n = counted.get((level, change), 0)
        if n:
            out.append((n, f"{one if n == 1 else many} {verb}"))
    return out


def split_fact(value: str | None) -> tuple[str, str]:
    """``"70 measures (more than seventy measures)"`` → (``"more than seventy measures"``,
    ``"70 measures"``): the words as printed, and the normalised value."""
    if not value:
        return "", ""
    m = _FACT.match(value)
    return (m.group(2), m.group(1)) if m else (value, "")


def _plain(marked: str | None) -> str:
    """A word-diff side without its markup."""
    return "".join(text for _, text in diff_segments(marked))


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------


def esc(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def diff_html(marked: str | None) -> str:
    """A word-diff side (``[-…-]`` / ``{+…+}``) as escaped HTML with ``<del>``/``<ins>``."""
    return "".join(f"<{kind}>{esc(text)}</{kind}>" if kind else esc(text) for kind, text in diff_segments(marked))


CSS = """
:root{--blue:#004990;--ink:#1f2328;--muted:#5b6470;--line:#d9dee5;--bg:#f5f7fa;--card:#fff;
--del-bg:#ffe4e2;--del-ink:#8d1c12;--ins-bg:#d8f5e0;--ins-ink:#0d5a24;--move:#6b4fbb;--move-bg:#efeafd}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);
font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header.top{background:var(--blue);color:#fff;padding:28px 0 24px}
header.top .wrap{display:flex;flex-wrap:wrap;align-items:flex-end;justify-content:space-between;gap:12px}
header.top h1{margin:0;font-size:28px;letter-spacing:-.01em}
header.top p{margin:4px 0 0;opacity:.85}
.wrap{max-width:1120px;margin:0 auto;padding:0 24px}
nav.toc{margin:0;display:flex;flex-wrap:wrap;gap:8px}
nav.toc a{color:#fff;background:rgba(255,255,255,.14);border:1px solid rgba(255,255,255,.3);
padding:4px 12px;border-radius:999px;text-decoration:none;font-size:13px}
nav.toc a:hover{background:rgba(255,255,255,.26)}
main{padding:8px 0 40px}
section.series{background:var(--card);border:1px solid var(--line);border-radius:12px;margin:24px 0;
padding:24px 28px;box-shadow:0 1px 2px rgba(16,24,40,.04)}
section.series>h2{margin:0;font-size:24px;color:var(--blue)}
h3 .files{color:var(--muted);font-size:13px;font-weight:400;margin-left:.5em}
.slug{color:var(--muted);font-size:13px;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.timeline{margin:14px 0 4px;width:100%;height:auto;display:block}
.timeline a:hover rect{fill:#e6eef7}
section.pair,section.timeline{border-top:1px solid var(--line);margin-top:22px;padding-top:18px}
section.pair>h3,section.timeline>h3{margin:0 0 4px;font-size:20px}
.arrow{color:var(--muted);font-weight:400;padding:0 .25em}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0 4px;padding:0;list-style:none}
.chips li{font-size:12.5px;border-radius:999px;padding:2px 10px;background:#eef2f6;color:#2b3440}
.chips li b{font-weight:700}
h4{margin:22px 0 8px;font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
table.facts{width:100%;border-collapse:collapse;font-size:14.5px}
table.facts th{text-align:left;font-size:12px;color:var(--muted);font-weight:600;border-bottom:1px solid var(--line);padding:6px 10px}
table.facts td{border-bottom:1px solid #eef1f4;padding:9px 10px;vertical-align:top}
table.facts td.to{color:var(--muted);width:2em;text-align:center;font-size:18px}
table.facts col.k{width:84px}table.facts col.w{width:24%}table.facts col.t{width:36px}
.where{display:block;font-weight:400;font-size:12.5px;color:var(--muted)}
.kind{display:inline-block;font-size:11px;font-weight:700;letter-spacing:.04em;text-transform:uppercase;
border-radius:4px;padding:1px 6px;background:#e8eef6;color:var(--blue)}
.what{font-weight:600}
.norm{display:block;font-size:12.5px;color:var(--muted);font-variant-numeric:tabular-nums}
del,ins{text-decoration:none;border-radius:3px;padding:0 2px}
del{background:var(--del-bg);color:var(--del-ink);text-decoration:line-through;text-decoration-thickness:1px}
ins{background:var(--ins-bg);color:var(--ins-ink)}
.big del,.big ins{font-size:16px;font-weight:600;padding:1px 5px}
.entities{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.entities .col{border:1px solid var(--line);border-radius:10px;padding:10px 14px}
.entities h5{margin:0 0 6px;font-size:14px}
.entities h5 .n{color:var(--muted);font-weight:400}
.entities .grp{margin:6px 0}
.entities .lab{font-size:12px;color:var(--muted);margin-right:4px}
.tag{display:inline-block;margin:2px 3px 2px 0;padding:1px 8px;border-radius:999px;font-size:13.5px}
.tag.added{background:var(--ins-bg);color:var(--ins-ink)}
.tag.removed{background:var(--del-bg);color:var(--del-ink);text-decoration:line-through;text-decoration-thickness:1px}
.none{color:var(--muted);font-style:italic;font-size:14px;margin:4px 0}
.block{border:1px solid var(--line);border-radius:10px;margin:10px 0;overflow:hidden}
.block .meta{display:flex;flex-wrap:wrap;gap:8px;align-items:center;padding:6px 12px;background:#f8fafc;
border-bottom:1px solid var(--line);font-size:13px;color:var(--muted)}
.badge{font-size:11px;font-weight:700;text-transform:uppercase;letter-spacing:.05em;border-radius:4px;padding:1px 7px;color:#fff}
.badge.changed{background:#9a6700}.badge.added{background:#1a7f37}.badge.removed{background:#cf222e}.badge.moved{background:var(--move)}
.sec{color:var(--ink)}
.cols{display:grid;grid-template-columns:1fr 1fr}
.cols>div{padding:10px 14px;min-width:0}
.cols>div+div{border-left:1px solid var(--line)}
.cols .ed{display:block;font-size:11.5px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em;margin-bottom:2px}
.cols p{margin:0}
.cols .empty{color:#9aa3ad;font-style:italic}
.block.moved .cols p{color:#444c56}
.move{color:var(--move);font-weight:600}
.chart{margin-top:6px;max-width:100%;height:auto}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:13px;color:var(--muted);margin:4px 0 0}
.legend i{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:5px;vertical-align:-1px}
footer{color:var(--muted);font-size:12.5px;text-align:center;padding:8px 0 32px}
.page{font-size:12px;color:var(--muted);white-space:nowrap;margin-left:4px}
a.page{color:var(--blue)}
td.none{color:var(--muted)}
.scroll{overflow-x:auto}
@media (max-width:760px){.entities,.cols{grid-template-columns:1fr}.cols>div+div{border-left:0;border-top:1px solid var(--line)}
table.facts th:first-child,table.facts td:first-child{display:none}table.facts col.k{width:0}table.facts col.w{width:30%}
section.series{padding:18px 16px}}
@media print{body{background:#fff}header.top{background:#fff;color:var(--ink);border-bottom:2px solid var(--blue)}
nav.toc{display:none}section.series{box-shadow:none;break-inside:auto}.block{break-inside:avoid}}
"""


_EMPTY_DOCUMENTS = pd.DataFrame(columns=["doc_id", "series", "edition", "source", "title"])


def render_report(tables: Mapping[str, pd.DataFrame], links: Mapping[str, str] | None = None) -> str:
    """The page of the series in ``tables`` as one HTML string (a series page holds one);
    ``links`` maps a doc_id to its PDF, relative to the page, for the links to pages."""
    documents = tables.get("documents", pd.DataFrame(columns=["doc_id", "series", "edition", "source", "title"]))
    changes = tables.get("changes", pd.DataFrame(columns=["series", "from_edition", "to_edition", "change", "level"]))
    entities = tables.get("entities", pd.DataFrame(columns=["doc_id", "label", "entity_id"]))
    blocks = tables.get("blocks", pd.DataFrame(columns=list(_BLOCK_COLUMNS)))
    series_eds = _editions(documents)
    index = _Blocks(blocks)
    compared = sum(1 for eds in series_eds.values() if len(eds) > 1)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Factsheets: what changed between editions</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        '<header class="top"><div class="wrap"><div>',
        "<h1>What changed between editions</h1>",
        f"<p>{len(documents)} document{'s' * (len(documents) != 1)} in {len(series_eds)} series; "
        f"{compared} series with more than one edition; {len(changes)} change{'s' * (len(changes) != 1)} found.</p>",
        "</div>",
    ]
    if series_eds:
        parts.append('<nav class="toc" aria-label="Series">')
        parts += [f'<a href="#{esc(s)}">{esc(eds[-1].title)}</a>' for s, eds in series_eds.items()]
        parts.append("</nav>")
    parts.append("</div></header>")
    parts.append('<main><div class="wrap">')
    if not series_eds:
        parts.append('<section class="series"><p class="none">No documents yet.</p></section>')
    facts = tables.get("facts")
    for series, eds in series_eds.items():
        parts.append(_series_html(series, eds, changes, entities, index, facts, links or {}))
    parts.append("</div></main>")
    parts.append("<footer>Made by factsheets from the documents, entities and changes tables. "
                 "Removed words are <del>struck through in red</del>, added words <ins>in green</ins>.</footer>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def report_tables(store: Store, series: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    """What the report reads of a store: ``documents``, ``changes`` and ``failures``; the facts
    of the series shown; of ``entities`` the counts the chart shows (``doc_id``, ``label``, ``n``
    distinct entities, counted by Arrow); of ``blocks`` only those the pages look up
    (:func:`_blocks_needed`). ``series`` keeps the rows of the series whose pages are written
    (the index still reads every document, and of the changes their series, level and kind)."""
    documents = store.read("documents")
    shown = documents if series is None else documents[documents["series"].isin(set(series))]
    # the pages' change rows; the index counts every series' rows from three columns
    changes = store.read("changes") if series is None else store.read_series("changes", set(shown["series"]))
    counts = None if series is None else store.read("changes", columns=["series", "level", "change"])
    ids = shown["doc_id"].tolist()
    mine = _split_by(changes, "series", set(shown["series"]))  # one pass: a filter per series made this quadratic in the series
    pairs = [p for name, eds in _editions(shown).items() for p in _pairs(name, eds, mine.get(name, changes.iloc[:0])) if len(p.changes)]
    return {
        "documents": documents,
        "changes": changes,
        **({"change_counts": counts} if counts is not None else {}),
        "failures": store.read("failures"),
        "facts": store.read("facts", doc_ids=ids),
        "entities": _count_entities(store.read_parts("entities", ["doc_id", "label", "entity_id"], doc_ids=ids)),
        "blocks": _blocks_needed(store.read_parts("blocks", list(_BLOCK_COLUMNS), doc_ids=ids), pairs),
    }


def _blocks_needed(parts: Iterable[pa.Table], pairs: list[Pair]) -> pd.DataFrame:
    """The blocks that the page of ``pairs`` looks up, read part by part: those whose text
    places a changed block in reading order, and the body blocks that hold the words of a
    changed fact (for its section). The page is the same as with every block."""
    texts: dict[str, set[str]] = {}
    words: dict[str, set[str]] = {}
    for pair in pairs:
        after, before = pair.after.doc_id, pair.before.doc_id
        for r in pair.changes:
            if r.level == "block":
                older, text = _placed_by(r)
                texts.setdefault(before if older else after, set()).add(text)
            elif r.change == "changed":
                words.setdefault(after, set()).add(split_fact(r.after)[0])
                words.setdefault(before, set()).add(split_fact(r.before)[0])
    wanted = pa.array(sorted(set(texts) | set(words)), pa.string())
    kept = []
    for part in parts:
        part = part.filter(pc.is_in(part["doc_id"], value_set=wanted))
        keep = [
            text in texts.get(doc, ()) or any(_holds(kind, text, w) for w in words.get(doc, ()))
            for doc, kind, text in zip(part["doc_id"].to_pylist(), part["kind"].to_pylist(), part["text"].to_pylist())
        ]
        kept.append(part.filter(pa.array(keep, pa.bool_())))
    schema = pa.schema([ARROW["blocks"].field(c) for c in _BLOCK_COLUMNS])
    table = pa.concat_tables([k.select(list(_BLOCK_COLUMNS)).cast(schema) for k in kept]) if kept else schema.empty_table()
    return table.to_pandas(types_mapper=types_mapper)


def _count_entities(parts: Iterable[pa.Table]) -> pd.DataFrame:
    """Distinct entities per document and label (``doc_id``, ``label``, ``n``), part by part.
    A document's rows are contiguous in the store; the last document of a part is counted with
    the next part, in case it goes on there."""
    def count(t: pa.Table) -> pa.Table:
        return t.group_by(["doc_id", "label"]).aggregate([("entity_id", "count_distinct")])

    counts, carry = [], None
    for part in parts:
        if carry is not None:
            part = pa.concat_tables([carry, part])
        if not part.num_rows:
            continue
        last = pc.equal(part["doc_id"], part["doc_id"][-1])
        carry = part.filter(last)
        counts.append(count(part.filter(pc.invert(last))))
    if carry is not None:
        counts.append(count(carry))
    if not counts:
        return pd.DataFrame({"doc_id": pd.Series(dtype=str), "label": pd.Series(dtype=str), "n": pd.Series(dtype="int64")})
    return pa.concat_tables(counts).rename_columns(["doc_id", "label", "n"]).to_pandas()


def write_report(
    out_dir: Path,
    tables: Mapping[str, pd.DataFrame],
    series: Iterable[str] | None = None,
    pdfs: Mapping[str, str] | None = None,
    generated_at: datetime | None = None,
) -> Path:
    """Write the series pages of ``series`` (all series when None; a page a series no longer has
    is removed) and the index ``out_dir/report.html``; return the index's path. ``pdfs`` maps a
    doc_id to the path of its PDF, for the links to pages."""
    out_dir = Path(out_dir)
    folder = out_dir / SERIES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    documents = tables.get("documents", _EMPTY_DOCUMENTS)
    all_series = _editions(documents)
    wanted = set(all_series) if series is None else set(series) & set(all_series)
    links = _pdf_links(folder, documents, pdfs or {})
    for name, rows in _by_series(tables, sorted(wanted)):
        _atomic_write(folder / series_page(name), render_report(rows, links=links))
    files = {series_page(n) for n in all_series}
    for stale in folder.glob("*.html"):
        if stale.name not in files:
            stale.unlink()
    paged = len(all_series) > INDEX_PAGE_SERIES
    index = _index_rows(tables, all_series, f"../{SERIES_DIR}" if paged else SERIES_DIR)  # links from index/ or from report.html
    pages = _write_index_pages(out_dir / INDEX_DIR, index) if paged else _remove_index_pages(out_dir / INDEX_DIR)
    return _atomic_write(out_dir / REPORT_NAME, render_index(tables, generated_at or datetime.now(UTC), rows=index, pages=pages))


def update_report(store: Store, series: Iterable[str] | None = None, locked: bool = False, timeout: float = 600.0,
                  pdfs: Mapping[str, str] | None = None) -> Path:
    """Write the report of a store (:func:`write_report`): the pages of ``series`` (all when
    None), the index, links to the PDFs where the store saw them. It holds the store's lock
    while it reads and writes (waiting up to ``timeout`` seconds for a run that holds it), so
    a report is never made from one version while another is written; ``locked``: the caller
    holds the lock already (``Batch.update_report``); ``pdfs``: the PDFs' paths of the current
    manifest (:meth:`~outputs.store.Manifest.paths`), when the caller has them."""
    if not locked:
        with store.lock(timeout):
            return update_report(store, series, locked=True, pdfs=pdfs)
    return write_report(store.root, report_tables(store, series), series, pdfs=store.manifest().paths() if pdfs is None else pdfs)


def series_page(series: str) -> str:
    """The file name of a series' page (its slug, made safe as a file name)."""
    return re.sub(r"[^\w.-]+", "-", series).strip(".-") + ".html"


def _atomic_write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a unique temporary file: a reader sees the old page or
    the new one, never a part."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o644)  # readable as other files are (mkstemp makes it private)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path


def _split_by(frame: pd.DataFrame, column: str, keys: Iterable[Any] | None = None) -> dict[Any, pd.DataFrame]:
    """``frame``'s rows by their value in ``column`` (in their order, the index kept), found in
    one pass; only those of ``keys`` when given."""
    if not len(frame):
        return {}
    at = frame.groupby(column, sort=False).indices
    return {key: frame.iloc[at[key]] for key in (at if keys is None else keys) if key in at}


def _by_series(tables: Mapping[str, pd.DataFrame], series: Iterable[str]) -> Iterator[tuple[str, dict[str, pd.DataFrame]]]:
    """``(name, the tables' rows of that series)`` for each of ``series``: the documents and the
    rows of tables with a ``series`` column by their series, those of other tables with a
    ``doc_id`` by the series' documents (in the table's order), other tables whole. Each table
    is split in one pass (a filter of every table per series made the report quadratic in the
    store's size)."""
    series = list(series)
    documents = tables.get("documents", _EMPTY_DOCUMENTS)
    docs = _split_by(documents, "series", series)
    split: dict[str, tuple[str, dict[Any, Any]]] = {}
    for name, frame_ in tables.items():
        if name == "documents":
            continue
        if "series" in frame_.columns:
            split[name] = ("series", _split_by(frame_, "series", series))
        elif "doc_id" in frame_.columns:
            split[name] = ("doc_id", frame_.groupby("doc_id", sort=False).indices if len(frame_) else {})
    for s in series:
        mine = docs.get(s, documents.iloc[:0])
        out = {"documents": mine}
        ids = list(dict.fromkeys(mine["doc_id"]))
        for name, frame_ in tables.items():
            if name == "documents":
                continue
            if name not in split:
                out[name] = frame_
            elif split[name][0] == "series":
                out[name] = split[name][1].get(s, frame_.iloc[:0])
            else:  # the rows of the series' documents, in the table's order
                at = [split[name][1][d] for d in ids if d in split[name][1]]
                out[name] = frame_.iloc[np.sort(np.concatenate(at)) if at else []]
        yield s, out


def _pdf_links(folder: Path, documents: pd.DataFrame, pdfs: Mapping[str, str]) -> dict[str, str]:
    """doc_id -> the PDF's path relative to the series pages, for the PDFs that exist."""
    out = {}
    for doc_id in documents["doc_id"]:
        path = pdfs.get(doc_id)
        if path and Path(path).is_file():
            out[str(doc_id)] = Path(os.path.relpath(path, folder)).as_posix()
    return out


def _index_rows(tables: Mapping[str, pd.DataFrame], series_eds: Mapping[str, list[EditionInfo]],
                series_dir: str = SERIES_DIR) -> list[tuple[str, str]]:
    """(series, its row of the index) for each series, in the order of their names: its title
    linked to its page (in ``series_dir``, relative to the index), its editions, its number of
    changes and of changed facts."""
    changes = tables.get("change_counts", tables.get("changes", pd.DataFrame(columns=["series", "level", "change"])))
    # counts per series in one pass (a filter per series made the index quadratic in the series)
    n_changes = changes["series"].value_counts().to_dict() if len(changes) else {}
    changed = changes[(changes["level"] == "entity") & (changes["change"] == "changed")] if len(changes) else changes
    n_facts = changed["series"].value_counts().to_dict() if len(changed) else {}
    out = []
    for name in sorted(series_eds):
        eds = series_eds[name]
        labels = " → ".join(esc(e.label) for e in eds)
        out.append((name, f'<tr><td class="what"><a href="{series_dir}/{esc(series_page(name))}">{esc(eds[-1].title)}</a>'
                          f'<span class="where">{esc(name)}</span></td><td>{labels}</td><td>{n_changes.get(name, 0)}</td>'
                          f"<td>{n_facts.get(name, 0)}</td></tr>"))
    return out


_INDEX_HEAD = ('<div class="scroll"><table class="facts"><thead><tr><th>Series</th><th>Editions</th><th>Changes</th>'
               "<th>Facts changed</th></tr></thead><tbody>")


@dataclass(frozen=True)
class IndexPage:
    """A page of the index: its file in ``INDEX_DIR``, its first and last series, how many."""

    file: str
    first: str
    last: str
    count: int


def render_index(tables: Mapping[str, pd.DataFrame], generated_at: datetime, rows: list[tuple[str, str]] | None = None,
                 pages: list[IndexPage] | None = None) -> str:
    """The index: each series with its editions, its number of changes and changed facts, linked
    to its page (or, given ``pages``, the index's pages, each a range of series); the failures;
    when it was made."""
    documents = tables.get("documents", _EMPTY_DOCUMENTS)
    failures = tables.get("failures", pd.DataFrame(columns=["source", "stage", "error", "message"]))
    if rows is None:
        rows = _index_rows(tables, _editions(documents))
    parts = [
        *_head("Factsheets: series and what changed"),
        '<header class="top"><div class="wrap"><div>', "<h1>Factsheets</h1>",
        f"<p>{len(documents)} document{'s' * (len(documents) != 1)} in {len(rows)} series; "
        f"made {esc(generated_at.strftime('%Y-%m-%d %H:%M UTC'))}.</p>", "</div></div></header>",
        '<main><div class="wrap">', '<section class="series"><h2>Series</h2>',
    ]
    if not rows:
        parts.append('<p class="none">No documents yet.</p>')
    elif pages:
        parts.append(f"<p>The series, in the order of their names, on {len(pages)} pages.</p>")
        parts.append('<div class="scroll"><table class="facts"><thead><tr><th>Page</th><th>From</th><th>To</th><th>Series</th>'
                     "</tr></thead><tbody>")
        for i, page in enumerate(pages, 1):
            parts.append(f'<tr><td class="what"><a href="{INDEX_DIR}/{esc(page.file)}">Page {i}</a></td><td>{esc(page.first)}</td>'
                         f"<td>{esc(page.last)}</td><td>{page.count}</td></tr>")
        parts.append("</tbody></table></div>")
    else:
        parts += [_INDEX_HEAD, *(row for _, row in rows), "</tbody></table></div>"]
    parts.append("</section>")
    parts.append('<section class="series"><h2>Failures</h2>')
    if not len(failures):
        parts.append('<p class="none">Every input was processed.</p>')
    else:
        parts.append('<div class="scroll"><table class="facts"><thead><tr><th>File</th><th>Stage</th><th>What went wrong</th>'
                     "</tr></thead><tbody>")
        for r in failures.itertuples(index=False):
            parts.append(f"<tr><td>{esc(r.source)}</td><td>{esc(r.stage)}</td><td>{esc(r.message)}</td></tr>")
        parts.append("</tbody></table></div>")
    parts.append("</section></div></main>")
    parts.append("<footer>Made by factsheets from the store's tables.</footer></body></html>")
    return "\n".join(parts) + "\n"


def _head(title: str) -> list[str]:
    return ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>"]


def _render_index_page(rows: list[tuple[str, str]]) -> str:
    """A page of the index: its range of series, linked from ``report.html`` and linking back.
    Nothing on it but its series (no date, no page number): it is written again only when one of
    its series changed."""
    return "\n".join([
        *_head(f"Factsheets: series {rows[0][0]} to {rows[-1][0]}"),
        '<header class="top"><div class="wrap"><div>', f'<p><a href="../{REPORT_NAME}">Factsheets</a></p>',
        f"<h1>Series {esc(rows[0][0])} to {esc(rows[-1][0])}</h1>", f"<p>{len(rows)} series.</p>",
        "</div></div></header>", '<main><div class="wrap">', '<section class="series">', _INDEX_HEAD,
        *(row for _, row in rows),
        "</tbody></table></div>", "</section></div></main>",
        "<footer>Made by factsheets from the store's tables.</footer></body></html>",
    ]) + "\n"


def _write_index_pages(folder: Path, rows: list[tuple[str, str]]) -> list[IndexPage]:
    """The index's pages in ``folder``, each a range of series that keeps its bounds from run to
    run (kept in ``pages.json``): a new series goes to the page of its range, a page past
    :data:`INDEX_PAGE_SERIES` series is split in two, an empty one goes. A page is written only
    when its text changed, so a run that adds a series rewrites one page, not the index."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        state = json.loads((folder / _INDEX_STATE).read_text(encoding="utf-8"))
        firsts = [str(p["first"]) for p in state["pages"]]
        files = [str(p["file"]) for p in state["pages"]]
        hashes = {str(p["file"]): str(p["hash"]) for p in state["pages"]}
        if not firsts or firsts != sorted(firsts) or len(set(files)) != len(files) or not all(map(_PAGE_FILE.fullmatch, files)):
            raise ValueError("not the index's pages in order")
    except (OSError, ValueError, KeyError, TypeError):
        firsts, files, hashes = [], [], {}
    groups: list[list[tuple[str, str]]] = [[] for _ in firsts] or [[]]
    if not firsts:
        files = [""]
    for row in rows:  # into the page whose range holds it (before the first bound: the first page)
        groups[max(0, bisect.bisect_right(firsts, row[0]) - 1)].append(row)
    half = max(1, INDEX_PAGE_SERIES // 2)
    pages: list[tuple[str, list[tuple[str, str]]]] = []
    number = max((int(f[5:-5]) for f in files if f), default=0)
    for file, group in zip(files, groups, strict=True):
        if not group:
            continue
        chunks = [group] if file and len(group) <= INDEX_PAGE_SERIES else [group[i : i + half] for i in range(0, len(group), half)]
        for k, chunk in enumerate(chunks):
            if k == 0 and file:
                pages.append((file, chunk))
                continue
            number += 1
            pages.append((f"page-{number:04d}.html", chunk))
    out, state_pages = [], []
    for file, chunk in pages:
        text = _render_index_page(chunk)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if hashes.get(file) != digest or not (folder / file).is_file():
            _atomic_write(folder / file, text)
        out.append(IndexPage(file, chunk[0][0], chunk[-1][0], len(chunk)))
        state_pages.append({"file": file, "first": chunk[0][0], "hash": digest})
    _atomic_write(folder / _INDEX_STATE, json.dumps({"pages": state_pages}, separators=(",", ":")))
    keep = {p.file for p in out} | {_INDEX_STATE}
    for stale in folder.iterdir():
        if stale.name not in keep and not stale.name.startswith("."):
            stale.unlink()
    return out


def _remove_index_pages(folder: Path) -> list[IndexPage]:
    """A store of few series has its index on one page: the pages of a larger one go."""
    if folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)
    return []


def _series_html(series: str, eds: list[EditionInfo], changes: pd.DataFrame, entities: pd.DataFrame, blocks: _Blocks,
                 facts: pd.DataFrame | None = None, links: Mapping[str, str] | None = None) -> str:
    pairs = _pairs(series, eds, changes)
    out = [f'<section class="series" id="{esc(series)}">', f"<h2>{esc(eds[-1].title)}</h2>",
           f'<div class="slug">{esc(series)} · {len(eds)} edition{"s" * (len(eds) != 1)}</div>',
           timeline_svg(eds, pairs)]
    if facts is not None and len(eds) > 1:
        out.append(_fact_timeline_html(eds, changes, facts, links or {}))
    if len(eds) < 2:
        out.append('<p class="none">Only one edition: nothing to compare yet.</p>')
    for pair in pairs:
        out.append(_pair_html(pair, blocks))
    out.append(f'<section class="pair"><h3>Distinct entities per label, by edition</h3>{entity_chart_svg(eds, entities)}</section>')
    out.append("</section>")
    return "\n".join(out)


def _fact_timeline_html(eds: list[EditionInfo], changes: pd.DataFrame, facts: pd.DataFrame, links: Mapping[str, str]) -> str:
    """The facts of the series that changed, with their value in every edition, each value
    linked to its page in the PDF where the PDF is known."""
    from outputs.facts import shown_value

    changed = set(changes.loc[(changes["level"] == "entity") & (changes["change"] == "changed"), "fact_id"].dropna()) if len(changes) else set()
    mine = facts[facts["fact_id"].isin(changed)]
    out = ['<section class="timeline" id="facts"><h3>Facts that changed, edition by edition</h3>']
    if mine.empty:
        out.append('<p class="none">No amount or date changed between these editions.</p></section>')
        return "\n".join(out)
    by_fact: dict[str, dict[str, Any]] = {}
    subjects: dict[str, str] = {}
    for r in mine.sort_values(["fact_id", "edition", "block_id"], na_position="first").itertuples(index=False):
        by_fact.setdefault(r.fact_id, {})[r.doc_id] = r
        subjects[r.fact_id] = r.subject  # the latest edition's words
    order = sorted(by_fact, key=lambda f: _text_key(subjects[f]))
    out.append('<div class="scroll"><table class="facts"><thead><tr><th>Fact</th>'
               + "".join(f"<th>{esc(e.label)}</th>" for e in eds) + "</tr></thead><tbody>")
    for fid in order:
        cells, last = [], None
        for e in eds:
            r = by_fact[fid].get(e.doc_id)
            if r is None:
                cells.append('<td class="none">—</td>')
                continue
            value = shown_value(r)
            shown = f"<ins>{esc(value)}</ins>" if last is not None and value != last else esc(value)
            page = f"p. {int(r.page)}"
            link = f'<a class="page" href="{esc(links[e.doc_id])}#page={int(r.page)}">{page}</a>' if e.doc_id in links else f'<span class="page">{page}</span>'
            cells.append(f'<td class="big" title="{esc(r.mention)}">{shown} {link}</td>')
            last = value
        out.append(f'<tr class="fact"><td class="what">{esc(subjects[fid])}</td>{"".join(cells)}</tr>')
    out.append("</tbody></table></div></section>")
    return "\n".join(out)


def timeline_svg(eds: list[EditionInfo], pairs: list[Pair]) -> str:
    """The editions on a line, oldest left, each gap linking to its pair's changes."""
    n = len(eds)
    width, left, right = 1000, 90, 90
    step = (width - left - right) / max(n - 1, 1)
    xs = [left + k * step for k in range(n)] if n > 1 else [width / 2]
    by_after = {p.after.doc_id: p for p in pairs}
    parts = [f'<svg class="timeline" viewBox="0 0 {width} 96" role="img" aria-label="{esc("Editions: " + ", ".join(e.label for e in eds))}">',
             f'<line x1="{xs[0]:.1f}" y1="48" x2="{xs[-1]:.1f}" y2="48" stroke="#9fb6cf" stroke-width="2"/>']
    for k, e in enumerate(eds):
        if k and e.doc_id in by_after:
            pair = by_after[e.doc_id]
            total = len(pair.changes)
            mid = (xs[k - 1] + xs[k]) / 2
            text = f"{total} change{'s' * (total != 1)}"
            w = 12 + 7.2 * len(text)
            parts.append(f'<a href="#{esc(pair.anchor)}"><title>{esc(f"{pair.before.label} → {pair.after.label}: {text}")}</title>'
                         f'<rect x="{mid - w / 2:.1f}" y="37" width="{w:.1f}" height="22" rx="11" fill="#fff" stroke="#9fb6cf"/>'
                         f'<text x="{mid:.1f}" y="52" text-anchor="middle" font-size="12.5" fill="#004990">{esc(text)}</text></a>')
    for k, e in enumerate(eds):
        last = k == n - 1
        parts.append(f'<g><title>{esc(e.source)}</title>'
                     f'<circle cx="{xs[k]:.1f}" cy="48" r="{8 if last else 6}" fill="{"#004990" if last else "#fff"}" stroke="#004990" stroke-width="2.5"/>'
                     f'<text x="{xs[k]:.1f}" y="24" text-anchor="middle" font-size="15" font-weight="600" fill="#1f2328">{esc(e.label)}</text>'
                     f'<text x="{xs[k]:.1f}" y="82" text-anchor="middle" font-size="11" fill="#5b6470">{esc(_short(e.source, 34))}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _pair_html(pair: Pair, blocks: _Blocks) -> str:
    ch = pair.changes
    counts = _counts(ch)
    out = [f'<section class="pair" id="{esc(pair.anchor)}">',
           f'<h3>{esc(pair.before.label)}<span class="arrow">→</span>{esc(pair.after.label)}'
           + (f' <span class="files">{esc(pair.files)}</span>' if pair.files else "") + "</h3>"]
    if counts:
        out.append('<ul class="chips">' + "".join(f"<li><b>{n}</b> {esc(words)}</li>" for n, words in counts) + "</ul>")
    else:
        out.append('<p class="none">No differences found between these editions.</p>')
    out.append(_facts_html(ch, pair, blocks))
    out.append(_entities_html(ch, pair))
    out.append(_blocks_html(ch, pair, blocks))
    out.append("</section>")
    return "\n".join(out)


def _is(changes: list[Any], level: str, *kinds: str) -> list[Any]:
    """The rows of ``changes`` at ``level`` (of one of ``kinds``, if given)."""
    return [r for r in changes if r.level == level and (not kinds or r.change in kinds)]


class _Blocks:
    """Each document's blocks in reading order, indexed once for the whole page (a series can
    have hundreds of pairs; filtering the blocks table for each was most of the rendering)."""

    def __init__(self, blocks: pd.DataFrame) -> None:
        self._docs: dict[str, list[tuple[int, str, str | None, str]]] = {}
        if not len(blocks):
            return
        cols = blocks[list(_BLOCK_COLUMNS)].sort_values(["doc_id", "block_id"], kind="mergesort")
        for doc_id, block_id, kind, section, text in zip(*(cols[c].tolist() for c in cols.columns)):
            self._docs.setdefault(str(doc_id), []).append((int(block_id), str(kind), _str(section), str(text)))

    def section_of(self, doc_id: str, words: str) -> str | None:
        """The section of the first body block of a document whose text holds ``words``."""
        return next((section for _, kind, section, text in self._docs.get(doc_id, []) if _holds(kind, text, words)), None)

    def positions(self, doc_id: str) -> dict[str, int]:
        """Each text of a document with the id of the first block that has it."""
        out: dict[str, int] = {}
        for block_id, _, _, text in self._docs.get(doc_id, []):
            out.setdefault(text, block_id)
        return out


def _facts_html(ch: list[Any], pair: Pair, blocks: _Blocks) -> str:
    facts = _is(ch, "entity", "changed")
    out = ["<h4>Facts that changed</h4>"]
    if not facts:
        out.append('<p class="none">No amount or date changed.</p>')
        return "\n".join(out)
    facts.sort(key=lambda r: ({"AMOUNT": 0, "DATE": 1}.get(r.label, 2), *_text_key(r.canonical), *_text_key(r.before)))
    out.append('<div class="scroll"><table class="facts"><colgroup><col class="k"><col class="w"><col><col class="t"><col></colgroup>'
               '<thead><tr><th>Kind</th><th>Fact</th><th>Before</th><th></th><th>After</th></tr></thead><tbody>')
    for r in facts:
        old_text, old_norm = split_fact(r.before)
        new_text, new_norm = split_fact(r.after)
        kind = "Amount" if r.label == "AMOUNT" else "Date" if r.label == "DATE" else r.label
        what = _str(r.canonical) or ""
        if r.label == "DATE" and what:
            what = f"“… {what}”"
        section = blocks.section_of(pair.after.doc_id, new_text) or blocks.section_of(pair.before.doc_id, old_text)
        where = f'<span class="where">in {esc(section)}</span>' if section else ""
        out.append(
            f'<tr class="fact"><td><span class="kind">{esc(kind)}</span></td><td class="what">{esc(what)}{where}</td>'
            f'<td class="big old"><del>{esc(old_text)}</del><span class="norm">{esc(old_norm)}</span></td>'
            f'<td class="to">→</td>'
            f'<td class="big new"><ins>{esc(new_text)}</ins><span class="norm">{esc(new_norm)}</span></td></tr>'
        )
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _entities_html(ch: list[Any], pair: Pair) -> str:
    ent = _is(ch, "entity", "added", "removed")
    out = ["<h4>Entities added and removed</h4>"]
    if not ent:
        out.append('<p class="none">The same people, organisations, places, dates and amounts in both editions.</p>')
        return "\n".join(out)
    out.append('<div class="entities">')
    for change, title, side in (("added", "Added", "after"), ("removed", "Removed", "before")):
        rows = _is(ent, "entity", change)
        edition = pair.after.label if change == "added" else pair.before.label
        out.append(f'<div class="col {change}"><h5>{title} <span class="n">({len(rows)}, {"only in" if rows else "none in"} {esc(edition)})</span></h5>')
        for label in _label_order(r.label for r in rows):
            names = sorted((r for r in rows if r.label == label), key=lambda r: _text_key(r.canonical))
            tags = "".join(f'<span class="tag {change}" title="{esc(getattr(r, side))}">{esc(_entity_name(r.label, r.canonical, getattr(r, side)))}</span>'
                           for r in names)
            out.append(f'<div class="grp"><span class="lab">{esc(LABEL_NAMES.get(label, label))}</span>{tags}</div>')
        out.append("</div>")
    out.append("</div>")
    return "\n".join(out)


def _entity_name(label: str, canonical: str | None, text: str | None) -> str:
    """Dates and amounts read better as printed ("December 2019", from "2019-12-01/2019-12-31
    (December 2019)"), names by their canonical."""
    if label in FACT_LABELS and text:
        return split_fact(text)[0]
    return canonical or text or ""


def _label_order(labels: Iterable[str]) -> list[str]:
    present = set(labels)
    return [lab for lab in LABEL_NAMES if lab in present] + sorted(present - set(LABEL_NAMES))


def _holds(kind: str, text: str, words: str) -> bool:
    """Whether a block gives the section of a changed fact with these words: a body block (not
    the running header or footer) whose text holds them."""
    return bool(words) and kind not in MARGIN_KINDS and words in text


def _placed_by(r: Any) -> tuple[bool, str]:
    """The block text that places a block change in reading order, and whether it is in the
    older edition (a removed block) rather than the newer."""
    if r.change == "removed":
        return True, _str(r.before) or ""
    return False, (_str(r.canonical) or "") if r.change == "moved" else _plain(_str(r.after))


def _blocks_html(ch: list[Any], pair: Pair, blocks: _Blocks) -> str:
    blk = _is(ch, "block")
    out = ["<h4>Text, side by side</h4>"]
    if not blk:
        out.append('<p class="none">No heading, paragraph, list item or caption changed.</p>')
        return "\n".join(out)
    pos_new = blocks.positions(pair.after.doc_id)
    pos_old = blocks.positions(pair.before.doc_id)

    def order(r: Any) -> tuple[float, str]:
        """Reading order of the newer edition; a removed block where it stood in the older."""
        older, text = _placed_by(r)
        return (float(pos_old.get(text, 1e9)) - 0.5 if older else float(pos_new.get(text, 1e9))), text

    rows = sorted(blk, key=order)
    old_label, new_label = esc(pair.before.label), esc(pair.after.label)
    for r in rows:
        kind = esc(BLOCK_NAMES.get(r.label, r.label))
        if r.change == "moved":
            meta = (f'<span class="badge moved">moved</span><span>{kind}</span>'
                    f'<span class="move">{esc(_str(r.before) or "(before the first heading)")} → {esc(_str(r.after) or "(before the first heading)")}</span>')
            left = f'<span class="ed">{old_label} · {esc(_str(r.before) or "")}</span><p>{esc(r.canonical)}</p>'
            right = f'<span class="ed">{new_label} · {esc(_str(r.after) or "")}</span><p>{esc(r.canonical)}</p>'
        elif r.change == "changed":
            sim = f"{r.similarity:.0%} similar" if pd.notna(r.similarity) else ""
            meta = f'<span class="badge changed">changed</span><span>{kind}</span><span class="sec">{esc(_str(r.canonical) or "")}</span><span>{esc(sim)}</span>'
            left = f'<span class="ed">{old_label}</span><p>{diff_html(r.before)}</p>'
            right = f'<span class="ed">{new_label}</span><p>{diff_html(r.after)}</p>'
        elif r.change == "added":
            meta = f'<span class="badge added">added</span><span>{kind}</span><span class="sec">{esc(_str(r.canonical) or "")}</span>'
            left = f'<span class="ed">{old_label}</span><p class="empty">not in this edition</p>'
            right = f'<span class="ed">{new_label}</span><p><ins>{esc(r.after)}</ins></p>'
        else:
            meta = f'<span class="badge removed">removed</span><span>{kind}</span><span class="sec">{esc(_str(r.canonical) or "")}</span>'
            left = f'<span class="ed">{old_label}</span><p><del>{esc(r.before)}</del></p>'
            right = f'<span class="ed">{new_label}</span><p class="empty">not in this edition</p>'
        out.append(f'<div class="block {esc(r.change)}"><div class="meta">{meta}</div><div class="cols"><div class="old">{left}</div><div class="new">{right}</div></div></div>')
    return "\n".join(out)


def entity_counts(eds: list[EditionInfo], entities: pd.DataFrame) -> pd.DataFrame:
    """Distinct entities per label (rows) in each edition (columns, oldest first).
    ``entities`` is the table's rows, or already counted (``doc_id``, ``label``, ``n``)."""
    ids = [e.doc_id for e in eds]
    mine = entities[entities["doc_id"].isin(ids)] if len(entities) else entities
    if not len(mine):
        return pd.DataFrame(0, index=pd.Index([], name="label"), columns=ids)
    if "n" in mine.columns:
        table = mine.set_index(["label", "doc_id"])["n"].unstack(fill_value=0)
    else:
        table = mine.groupby(["label", "doc_id"])["entity_id"].nunique().unstack(fill_value=0)
    table = table.reindex(columns=ids, fill_value=0)
    return table.reindex(_label_order(table.index))


def entity_chart_svg(eds: list[EditionInfo], entities: pd.DataFrame) -> str:
    """A grouped bar chart: for each label, one bar per edition (distinct entities)."""
    counts = entity_counts(eds, entities)
    if not len(counts):
        return '<p class="none">No entities.</p>'
    colours = _colours(len(eds))
    labels = list(counts.index)
    top = max(int(counts.to_numpy().max()), 1)
    n = len(eds)
    bar, gap, group_gap = (22 if n <= 3 else 14), 3, 18
    group_w = max(n * bar + (n - 1) * gap, 84)
    bars_w = n * bar + (n - 1) * gap
    left, bottom, plot_h = 40, 42, 170
    width = left + len(labels) * (group_w + group_gap) + 10
    height = plot_h + bottom + 14
    y0 = 14 + plot_h
    scale = plot_h / _nice(top)
    parts = [f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
             'aria-label="Distinct entities per label in each edition">']
    for tick in _ticks(top):
        y = y0 - tick * scale
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 6}" y2="{y:.1f}" stroke="#e6e9ee"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6470">{tick}</text>')
    for g, label in enumerate(labels):
        gx = left + group_gap / 2 + g * (group_w + group_gap)
        for k, e in enumerate(eds):
            value = int(counts.at[label, e.doc_id])
            h = value * scale
            x = gx + (group_w - bars_w) / 2 + k * (bar + gap)
            parts.append(f'<g><title>{esc(f"{LABEL_NAMES.get(label, label)}, {e.label}: {value}")}</title>'
                         f'<rect x="{x:.1f}" y="{y0 - h:.1f}" width="{bar}" height="{max(h, 0.5):.1f}" rx="2" fill="{colours[k]}"/>'
                         f'<text x="{x + bar / 2:.1f}" y="{y0 - h - 4:.1f}" text-anchor="middle" font-size="10.5" fill="#1f2328">{value}</text></g>')
        parts.append(f'<text x="{gx + group_w / 2:.1f}" y="{y0 + 18}" text-anchor="middle" font-size="12" font-weight="600" fill="#1f2328">{esc(CHART_NAMES.get(label, label))}</text>')
    parts.append(f'<line x1="{left}" y1="{y0}" x2="{width - 6}" y2="{y0}" stroke="#9aa3ad"/>')
    parts.append("</svg>")
    legend = "".join(f'<span><i style="background:{colours[k]}"></i>{esc(e.label)}</span>' for k, e in enumerate(eds))
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def _colours(n: int) -> list[str]:
    """``n`` bar colours spread from light (oldest) to the darkest blue (newest)."""
    last = len(EDITION_COLOURS) - 1
    if n == 1:
        return [EDITION_COLOURS[last]]
    return [EDITION_COLOURS[round(k * last / (n - 1))] for k in range(n)]


def _nice(top: int) -> int:
    """The axis maximum: ``top`` rounded up to a multiple of a round step."""
    step = _step(top)
    return max(step, -(-top // step) * step)


def _step(top: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if top / step <= 5:
            return step
    return 10 ** len(str(top))


def _ticks(top: int) -> list[int]:
    step = _step(top)
    return list(range(0, _nice(top) + 1, step))


# --------------------------------------------------------------------------------------------
# Markdown (the Prefect artifact)
# --------------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def md(text: object) -> str:
    """Text made safe for Markdown (and a table cell): special characters escaped, one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(("" if text is None else str(text)).split()))


def _excerpts(marked: str | None, words: int = 5) -> list[str]:
    """The pieces of a word-diff side around each change, with ``words`` words either side,
    changes in Markdown (~~removed~~, **added**)."""
    tokens: list[tuple[str, str]] = []  # (kind, text): kind "", "del" or "ins"
    for kind, text in diff_segments(marked):
        tokens += [(kind, text)] if kind else [("", w) for w in text.split()]
    hits = [k for k, (kind, _) in enumerate(tokens) if kind]
    spans: list[list[int]] = []
    for k in hits:
        lo, hi = max(0, k - words), min(len(tokens), k + words + 1)
        if spans and lo <= spans[-1][1]:
            spans[-1][1] = hi
        else:
            spans.append([lo, hi])
    out = []
    for lo, hi in spans:
        piece = " ".join(
            f"~~{md(t)}~~" if kind == "del" else f"**{md(t)}**" if kind == "ins" else md(t) for kind, t in tokens[lo:hi]
        )
        out.append(("… " if lo else "") + piece + (" …" if hi < len(tokens) else ""))
    return out


def changes_markdown(tables: Mapping[str, pd.DataFrame]) -> str:
    """A Markdown summary of the changes (the body of the flow's Prefect artifact): per series
    and pair of editions, newest first, the counts, the facts that changed (old → new), the
    entities added and removed, and the blocks moved, added, removed and changed (excerpts of
    the changes, ~~removed~~ and **added** words)."""
    documents = tables.get("documents", pd.DataFrame(columns=["doc_id", "series", "edition", "source", "title"]))
    changes = tables.get("changes", pd.DataFrame(columns=["series"]))
    lines = ["# Changes between editions", ""]
    series_eds = {s: eds for s, eds in _editions(documents).items() if len(eds) > 1}
    if not series_eds:
        lines.append("No series has two editions yet: nothing to compare.")
        return "\n".join(lines) + "\n"
    for series, eds in series_eds.items():
        lines += [f"## {md(eds[-1].title)} ({md(series)})", ""]
        lines.append("Editions: " + " → ".join(md(e.label) for e in eds))
        lines.append("")
        for pair in _pairs(series, eds, changes):
            lines += _pair_markdown(pair)
    return "\n".join(lines).rstrip("\n") + "\n"


def run_markdown(tables: Mapping[str, pd.DataFrame], run: BatchSummary, report: str | Path | None = None) -> str:
    """What one run did, in Markdown (a flow run's artifact): the documents it added, the inputs
    that failed and why, the facts that changed in the editions it added (old → new, with the
    page), and where the report is. Not the whole store."""
    documents = tables.get("documents", _EMPTY_DOCUMENTS)
    changes = tables.get("changes", pd.DataFrame(columns=["from_doc_id", "to_doc_id", "level", "change"]))
    new = documents[documents["doc_id"].isin(set(run.doc_ids))]
    lines = ["# factsheets run", ""]
    lines.append(f"{len(run.processed)} document(s) processed, {run.failed} failed, {run.skipped} already in the store."
                 + (f" {run.aliases} alias(es) recorded." if run.aliases else ""))
    lines.append("")
    if len(new):
        lines += ["## New documents", "", "| file | series | edition | title |", "|---|---|---|---|"]
        lines += [f"| {md(r.source)} | {md(r.series)} | {md(r.edition or 'undated')} | {md(r.title)} |" for r in new.itertuples(index=False)]
        lines.append("")
    if run.failures:
        lines += ["## Failures", "", "| file | stage | what went wrong |", "|---|---|---|"]
        lines += [f"| {md(f.source)} | {md(f.stage)} | {md(f.message)} |" for f in run.failures]
        lines += ["", "All failures are rows of the `failures` table.", ""]
    if len(changes):
        ids = set(run.doc_ids)
        facts = changes[(changes["level"] == "entity") & (changes["change"] == "changed")
                        & (changes["to_doc_id"].isin(ids) | changes["from_doc_id"].isin(ids))]
        if len(facts):
            lines += ["## Facts that changed", "", "| series | fact | before | after | page |", "|---|---|---|---|---|"]
            for r in facts.itertuples(index=False):
                old_text, old_norm = split_fact(r.before)
                new_text, new_norm = split_fact(r.after)
                page = "" if r.to_page is None or r.to_page is pd.NA else f"{r.to_edition} p. {int(r.to_page)}"
                lines.append(f"| {md(r.series)} | {md(r.canonical)} | {md(old_text)} ({md(old_norm)}) | **{md(new_text)}** ({md(new_norm)}) | {md(page)} |")
            lines.append("")
    if report:
        lines += [f"Report: `{md(str(report))}` (one page per series under `{SERIES_DIR}/`).", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _pair_markdown(pair: Pair) -> list[str]:
    ch = pair.changes
    lines = [f"### {md(pair.before.label)} → {md(pair.after.label)}" + (f" ({md(pair.files)})" if pair.files else ""), ""]
    counts = _counts(ch)
    if not counts:
        return lines + ["No differences found.", ""]
    lines += [", ".join(f"{n} {words}" for n, words in counts), ""]
    facts = _is(ch, "entity", "changed")
    if facts:
        lines += ["| | fact | before | after |", "|---|---|---|---|"]
        for r in facts:
            old_text, old_norm = split_fact(r.before)
            new_text, new_norm = split_fact(r.after)
            kind = "amount" if r.label == "AMOUNT" else "date" if r.label == "DATE" else r.label
            lines.append(f"| {kind} | {md(r.canonical)} | {md(old_text)} ({md(old_norm)}) | **{md(new_text)}** ({md(new_norm)}) |")
        lines.append("")
    for change, sign in (("added", "Added"), ("removed", "Removed")):
        rows = _is(ch, "entity", change)
        if rows:
            side = "after" if change == "added" else "before"
            names = [f"{md(_entity_name(r.label, r.canonical, getattr(r, side)))} ({r.label})" for r in rows]
            lines += [f"**{sign}:** " + ", ".join(names), ""]
    blk = _is(ch, "block")
    if blk:
        for r in blk:
            kind = BLOCK_NAMES.get(r.label, r.label).lower()
            if r.change == "moved":
                lines.append(f"- moved {kind} from *{md(r.before or '—')}* to *{md(r.after or '—')}*: {md(_short(r.canonical or '', 90))}")
            elif r.change == "added":
                lines.append(f"- added {kind} in *{md(r.canonical or '—')}*: **{md(_short(r.after or '', 120))}**")
            elif r.change == "removed":
                lines.append(f"- removed {kind} in *{md(r.canonical or '—')}*: ~~{md(_short(r.before or '', 120))}~~")
            else:
                old = " / ".join(_excerpts(r.before)) if any(k for k, _ in diff_segments(r.before)) else ""
                new = " / ".join(_excerpts(r.after)) if any(k for k, _ in diff_segments(r.after)) else ""
                diff = f"{old} → {new}" if old and new else old or new
                lines.append(f"- changed {kind} in *{md(r.canonical or '—')}*: {diff}")
        lines.append("")
    return lines


# --------------------------------------------------------------------------------------------
# The text summary (``factsheets summary``, the end of every ingest)
# --------------------------------------------------------------------------------------------


def summary_tables(store: Store) -> dict[str, pd.DataFrame]:
    """What :func:`summary` reads of a store: the small tables whole, of blocks and entities
    only their kind and label."""
    return {
        "documents": store.read("documents"),
        "blocks": store.read("blocks", columns=["kind"]),
        "entities": store.read("entities", columns=["label"]),
        "facts": store.read("facts", columns=["label"]),
        "changes": store.read("changes"),
        "failures": store.read("failures"),
    }


def summary(tables: Mapping[str, pd.DataFrame], run: BatchSummary | None = None) -> str:
    """A short, human summary of the store (and of this run)."""
    docs, blocks, ents, facts, changes, fails = (tables[n] for n in TABLES)
    lines = []
    if run is not None:
        n_in = len(run.processed) + run.failed
        lines.append(f"this run: {n_in} input(s), {len(run.processed)} processed, {run.failed} failed")
    lines.append(f"documents: {len(docs)} in {docs['series'].nunique() if len(docs) else 0} series")
    lines.append(f"blocks: {len(blocks)}" + (" (" + ", ".join(f"{k} {v}" for k, v in blocks["kind"].value_counts().sort_index().items()) + ")" if len(blocks) else ""))
    lines.append(f"entities: {len(ents)}" + (" (" + ", ".join(f"{k} {v}" for k, v in ents["label"].value_counts().sort_index().items()) + ")" if len(ents) else ""))
    lines.append(f"facts: {len(facts)}" + (" (" + ", ".join(f"{k} {v}" for k, v in facts["label"].value_counts().sort_index().items()) + ")" if len(facts) else ""))
    if len(changes):
        by = changes.groupby(["level", "change"]).size()
        lines.append(f"changes: {len(changes)} (" + ", ".join(f"{lvl} {chg} {n}" for (lvl, chg), n in by.items()) + ")")
    else:
        lines.append("changes: 0")
    lines.append(f"failures: {len(fails)}")
    for row in fails.itertuples(index=False):
        lines.append(f"  {row.source}: [{row.stage}] {row.error}: {row.message}")
    if run is not None and run.aliases:
        lines.append(f"aliases recorded (same bytes under another name, not processed again): {run.aliases}")
    return "\n".join(lines)
