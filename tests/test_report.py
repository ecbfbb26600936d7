"""The report page and the Markdown summary, on the sample editions.

The page is parsed (stdlib ``html.parser``) and its content checked: every edit listed in
samples/README.md shows with old → new, and the page is self-contained (no script, no
external reference). One test opens it in headless Chromium when Chromium is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import pandas as pd
import pytest

from outputs.report import changes_markdown, diff_html, edition_label, render_report, write_report
from schemas.tables import empty

from .conftest import SAMPLES

NATO_EU_2021 = SAMPLES / "2111-factsheet-nato-eu-en.pdf"
MOVED = "The NATO Secretary General and the EU High Representative regularly report to NATO Allies and EU Member States on this cooperation, which has seen substantial progress."

#: Every amount and date edit of samples/README.md, as printed: (before, after).
FACT_EDITS = {
    ("more than seventy measures", "74 measures"),
    ("eight aircraft", "nine aircraft"),
    ("five Allies", "six Allies"),
    ("between 2020 and 2024", "between 2020 and 2025"),
    ("late 2018", "late 2019"),
    ("nine aircraft", "ten aircraft"),
    ("2 million EUR", "2.5 million EUR"),
}


@pytest.fixture(scope="module")
def tables(store):
    """The sample store with the November 2021 edition too (whether or not ``store`` has it)."""
    from extractors.pipeline import process_pdf
    from outputs.merge import merge_results

    return merge_results(store, [process_pdf(NATO_EU_2021)])


@pytest.fixture(scope="module")
def written(tables, tmp_path_factory):
    """The report written for the sample tables: the index and the series pages."""
    out = tmp_path_factory.mktemp("report")
    write_report(out, tables, pdfs={d: str(SAMPLES / s) for d, s in zip(tables["documents"].doc_id, tables["documents"].source)})
    return out


@pytest.fixture(scope="module")
def report(written, tables, tmp_path_factory):
    """The page of the NATO-EU series, written without links to the PDFs (self-contained)."""
    out = tmp_path_factory.mktemp("report-nolinks")
    write_report(out, tables)
    return out / "series" / "nato-eu.html"


@pytest.fixture(scope="module")
def page(report):
    return Page.parse(report.read_text(encoding="utf-8"))


class Element:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Element | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Element | str] = []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    @property
    def text(self) -> str:
        return " ".join("".join(c if isinstance(c, str) else c.text for c in self.children).split())

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Element):
                yield from c.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        return [e for e in self.iter() if (tag is None or e.tag == tag) and (cls is None or cls in e.classes)]


VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "embed", "source", "track", "wbr"}


class Page(HTMLParser):
    """A small DOM: enough to find elements by tag and class and read their text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {}, None)
        self.node = self.root
        self.raw = ""

    @classmethod
    def parse(cls, text: str) -> Page:
        page = cls()
        page.raw = text
        page.feed(text)
        page.close()
        return page

    def handle_starttag(self, tag, attrs):
        el = Element(tag, dict(attrs), self.node)
        self.node.children.append(el)
        if tag not in VOID:
            self.node = el

    def handle_startendtag(self, tag, attrs):
        self.node.children.append(Element(tag, dict(attrs), self.node))

    def handle_endtag(self, tag):
        node = self.node
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.node = node.parent

    def handle_data(self, data):
        self.node.children.append(data)

    def find_all(self, tag=None, cls=None):
        return self.root.find_all(tag, cls)


def _series(page: Page, slug: str) -> Element:
    return next(e for e in page.find_all("section", "series") if e.attrs.get("id") == slug)


def _blocks(pair: Element, change: str) -> list[Element]:
    return [e for e in pair.find_all("div", "block") if change in e.classes]


def _pair(page: Page, a: str, b: str) -> Element:
    return next(e for e in page.find_all("section", "pair") if e.attrs.get("id") == f"nato-eu--{a}--{b}")


# --- content --------------------------------------------------------------------------------


def test_every_fact_edit_shows_old_and_new(page):
    got = set()
    for row in (r for sec in page.find_all("section", "pair") for r in sec.find_all("tr", "fact")):
        (old,), (new,) = row.find_all("del"), row.find_all("ins")
        got.add((old.text, new.text))
        assert "→" in row.text
    assert got == FACT_EDITS


def test_facts_come_first_then_entities_then_text(page):
    pair = _pair(page, "2019-02", "2020-06")
    headings = [h.text for h in pair.find_all("h4")]
    assert headings == ["Facts that changed", "Entities added and removed", "Text, side by side"]


def test_entities_added_and_removed(page):
    pair = _pair(page, "2019-02", "2020-06")
    added = {t.text for t in pair.find_all("span", "added") if "tag" in t.classes}
    removed = {t.text for t in pair.find_all("span", "removed") if "tag" in t.classes}
    assert added == {"Ursula von der Leyen", "Charles Michel", "December 2019", "Brussels", "NATO Headquarters", "CERT-EU",
                     "NATO Computer Incident Response Capability"}
    assert removed == {"Afghanistan", "Resolute Support Mission", "International Security Assistance Force", "EU Police Mission in Afghanistan"}


def test_blocks_side_by_side_with_word_highlights(page):
    pair = _pair(page, "2019-02", "2020-06")
    changed = _blocks(pair, "changed")
    assert len(changed) == 4
    for block in changed:
        old, new = block.find_all("div", "old")[0], block.find_all("div", "new")[0]
        assert not old.find_all("ins") and not new.find_all("del")
        assert old.find_all("del") or new.find_all("ins")
    measures = next(b for b in changed if "cooperating on" in b.text)
    assert [d.text for d in measures.find_all("del")] == ["more than seventy"]
    assert [i.text for i in measures.find_all("ins")] == ["74"]
    cyber = next(b for b in changed if "On cyber defence" in b.text)
    assert cyber.find_all("ins")[0].text.startswith("A Technical Arrangement between the NATO Computer Incident Response Capability")
    (added,) = _blocks(pair, "added")
    assert added.find_all("ins")[0].text.startswith("In December 2019, the NATO Secretary General welcomed")
    (removed,) = _blocks(pair, "removed")
    assert removed.find_all("del")[0].text.startswith("In Afghanistan, the NATO-led Resolute Support Mission")


def test_moved_paragraph_shows_both_sections(page):
    pair = _pair(page, "2020-06", "2021-11")
    (moved,) = _blocks(pair, "moved")
    assert "A new framework for cooperation → Other areas of cooperation" in moved.find_all("span", "move")[0].text
    assert moved.find_all("div", "old")[0].find_all("p")[0].text == MOVED
    assert moved.find_all("div", "new")[0].find_all("p")[0].text == MOVED
    assert not _blocks(pair, "added") and not _blocks(pair, "removed")


def test_timeline_and_chart(page, tables):
    nato = _series(page, "nato-eu")
    (timeline,) = nato.find_all("svg", "timeline")
    assert [t.text for t in timeline.find_all("text") if t.attrs.get("font-weight") == "600"] == ["February 2019", "June 2020", "November 2021"]
    assert len(timeline.find_all("circle")) == 3
    assert {a.attrs["href"] for a in timeline.find_all("a")} == {"#nato-eu--2019-02--2020-06", "#nato-eu--2020-06--2021-11"}
    (chart,) = nato.find_all("svg", "chart")
    bars = chart.find_all("rect")
    labels = tables["entities"].merge(tables["documents"])
    labels = labels[labels.series == "nato-eu"].label.nunique()
    assert len(bars) == 3 * labels
    titles = {t.text for t in chart.find_all("title")}
    assert "People, June 2020: 5" in titles  # Ursula von der Leyen and Charles Michel joined three


def test_page_is_self_contained(page, report):
    raw = report.read_text(encoding="utf-8")
    assert not page.find_all("script") and not page.find_all("link") and not page.find_all("img") and not page.find_all("iframe")
    assert not any("src" in e.attrs for e in page.find_all())
    assert not re.search(r"https?://", raw, re.I)
    assert "url(" not in raw and "@import" not in raw and "@font-face" not in raw
    assert all(a.attrs["href"].startswith("#") for a in page.find_all("a"))
    assert page.find_all("style") and page.find_all("meta")[0].attrs == {"charset": "utf-8"}


def _of_series(tables, series):
    """The tables' rows of one series by a plain filter per table: what ``write_report``'s
    one-pass split (``outputs.report._by_series``) must give."""
    docs = tables["documents"][tables["documents"]["series"] == series]
    out = {"documents": docs}
    for name, frame_ in tables.items():
        if name == "documents":
            continue
        if "series" in frame_.columns:
            out[name] = frame_[frame_["series"] == series]
        elif "doc_id" in frame_.columns:
            out[name] = frame_[frame_["doc_id"].isin(set(docs["doc_id"]))]
        else:
            out[name] = frame_
    return out


def test_same_tables_give_the_same_page(tables, report):
    assert render_report(_of_series(tables, "nato-eu")) == report.read_text(encoding="utf-8")


def test_index_lists_every_series_and_the_failures(written, tables):
    raw = (written / "report.html").read_text(encoding="utf-8")
    index = Page.parse(raw)
    links = {a.attrs["href"] for a in index.find_all("a")}
    assert links == {"series/nato-eu.html", "series/operation-sea-guardian.html"}
    assert {p.name for p in (written / "series").iterdir()} == {"nato-eu.html", "operation-sea-guardian.html"}
    assert "Every input was processed." in raw and re.search(r"made \d{4}-\d\d-\d\d \d\d:\d\d UTC", raw)


def test_changed_facts_have_a_row_per_fact_with_a_value_per_edition_linked_to_the_pdf_page(written):
    page = Page.parse((written / "series" / "nato-eu.html").read_text(encoding="utf-8"))
    (timeline,) = page.find_all("section", "timeline")
    rows = list(timeline.find_all("tr", "fact"))
    assert len(rows) == 6  # measures, aircraft, Allies, EUR, the delivery dates, the exercises
    aircraft = next(r for r in rows if "aircraft which are scheduled" in r.text and "8 aircraft" in r.text)
    assert [c.text.split(" p.")[0] for c in aircraft.find_all("td")[1:]] == ["8 aircraft", "9 aircraft", "10 aircraft"]
    hrefs = [a.attrs["href"] for a in aircraft.find_all("a")]
    assert len(hrefs) == 3 and all(h.endswith(".pdf#page=1") and not h.startswith("/") for h in hrefs)
    assert [(written / "series" / h.split("#")[0]).resolve() for h in hrefs] == [
        (SAMPLES / n).resolve() for n in ("1902-factsheet-nato-eu-en.pdf", "2006-factsheet-nato-eu-en.pdf", "2111-factsheet-nato-eu-en.pdf")]


# --- escaping and edge cases ----------------------------------------------------------------


def _hostile_tables() -> dict[str, pd.DataFrame]:
    from outputs.compare import finish_changes

    bad = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    rows = [
        {"series": "s", "from_edition": "2020-01", "to_edition": "2021-01", "change": "changed", "level": "block",
         "label": "paragraph", "canonical": bad, "before": f"a [-{bad}-] b", "after": "a {+<u>under</u>+} b", "similarity": 0.5},
        {"series": "s", "from_edition": "2020-01", "to_edition": "2021-01", "change": "added", "level": "entity",
         "label": "ORG", "canonical": bad, "before": None, "after": bad, "similarity": None},
        {"series": "s", "from_edition": "2020-01", "to_edition": "2021-01", "change": "changed", "level": "entity",
         "label": "AMOUNT", "canonical": "x|y", "before": "1 x (one <x>)", "after": "2 x (two | x)", "similarity": None},
    ]
    docs = pd.DataFrame({"doc_id": ["a" * 64, "b" * 64], "source": ["1.pdf", "2.pdf"], "series": ["s", "s"],
                         "title": [bad, bad], "edition": ["2020-01", "2021-01"]})
    return {"documents": docs, "changes": finish_changes(rows), "entities": empty("entities"), "blocks": empty("blocks")}


def test_all_text_is_escaped():
    html_text = render_report(_hostile_tables())
    page = Page.parse(html_text)
    assert not page.find_all("script") and not page.find_all("img") and not page.find_all("u")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x" in html_text
    assert diff_html("a [-<x>-] {+&+} b") == "a <del>&lt;x&gt;</del> <ins>&amp;</ins> b"
    # Marker-like text escaped by the word diff is shown as written, not as a change.
    assert diff_html("below [\\-5 °C] {+now+}") == "below [-5 °C] <ins>now</ins>"


def test_markdown_escapes_and_keeps_tables_whole():
    text = changes_markdown(_hostile_tables())
    assert "<script>" not in text and "\\<script\\>" in text
    fact = next(line for line in text.splitlines() if line.startswith("| amount"))
    assert fact.count("|") - fact.count("\\|") == 5  # the "|" in the fact is escaped


def test_empty_store():
    page = Page.parse(render_report({}))
    assert "No documents yet." in page.root.text
    assert changes_markdown({}).startswith("# Changes between editions")
    assert "nothing to compare" in changes_markdown({})


def test_edition_label():
    assert edition_label("2019-02") == "February 2019"
    assert edition_label(None) == "undated"


# --- the Markdown artifact ------------------------------------------------------------------


def test_changes_markdown_summarises_every_edit(tables):
    text = changes_markdown(tables)
    assert text.index("### June 2020 → November 2021") < text.index("### February 2019 → June 2020")
    facts = [line for line in text.splitlines() if line.startswith(("| amount", "| date"))]
    assert len(facts) == len(FACT_EDITS)
    for old, new in FACT_EDITS:
        assert any(f"| {old} (" in line and f"| **{new}** (" in line for line in facts), (old, new)
    assert "2 facts changed, 2 blocks changed, 1 block moved" in text
    assert "- moved paragraph from *A new framework for cooperation* to *Other areas of cooperation*" in text
    assert "**Added:** December 2019 (DATE), Brussels (GPE), CERT\\-EU (ORG)" not in text  # "-" is not escaped
    assert "**Added:** December 2019 (DATE), Brussels (GPE), CERT-EU (ORG)" in text
    assert "~~nine~~" in text and "**ten**" in text


# --- in a browser ---------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (it is not on CI); the parsed-HTML tests still run")
def test_report_opens_in_headless_chromium(report, tmp_path):
    dom = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", report.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    rendered = Page.parse(dom)
    assert rendered.find_all("h1")[0].text == "What changed between editions"
    assert {(r.find_all("del")[0].text, r.find_all("ins")[0].text) for r in rendered.find_all("tr", "fact")} == FACT_EDITS
    assert not rendered.find_all("script")
    shot = tmp_path / "report.png"
    subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile2'}", f"--screenshot={shot}", "--window-size=1280,2400", report.as_uri()],
        capture_output=True, timeout=120, check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_report_from_the_store_reads_little_and_gives_the_same_page(tables, tmp_path):
    from outputs.report import report_tables
    from outputs.store import Manifest, Store

    store = Store(tmp_path)
    store.write(tables, Manifest())
    lean = report_tables(store)
    assert list(lean["entities"].columns) == ["doc_id", "label", "n"]  # counted, not every row
    changed = {d for d, e in zip(tables["documents"].doc_id, tables["documents"].series) if e == "nato-eu"}
    assert set(lean["blocks"].doc_id) == changed  # blocks only of the editions with changes
    # and of those only the blocks the page looks up: a changed block's text, a changed fact's words
    assert len(lean["blocks"]) == 13 and len(tables["blocks"]) == 154
    assert render_report(lean) == render_report(tables)


def test_entity_counts_span_parts_that_split_a_document(tables):
    import pyarrow as pa

    from outputs.report import _count_entities

    ents = pa.Table.from_pandas(tables["entities"][["doc_id", "label", "entity_id"]], preserve_index=False)
    whole = _count_entities([ents]).sort_values(["doc_id", "label"]).reset_index(drop=True)
    cuts = [0, 7, 8, 150, ents.num_rows // 2, ents.num_rows]  # mid-document, and a one-row part
    parts = [ents.slice(a, b - a) for a, b in zip(cuts, cuts[1:])] + [ents.slice(0, 0)]
    split = _count_entities(parts).sort_values(["doc_id", "label"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(split, whole)
    expected = tables["entities"].groupby(["doc_id", "label"])["entity_id"].nunique().reset_index(name="n")
    assert whole[["doc_id", "label", "n"]].values.tolist() == expected.values.tolist()


def test_run_markdown_lists_what_the_run_added_not_the_whole_store(tables):
    from outputs.merge import BatchSummary
    from outputs.report import run_markdown
    from schemas.errors import Failure

    docs = tables["documents"]
    newest = docs.loc[docs.source == "2111-factsheet-nato-eu-en.pdf", "doc_id"].item()
    run = BatchSummary(processed=["2111-factsheet-nato-eu-en.pdf"], doc_ids=[newest], skipped=3,
                       failures=[Failure("broken.pdf", None, "read", "UnreadablePDFError", "broken.pdf ends early: it is truncated")])
    text = run_markdown(tables, run, "out/report.html")
    assert "| 2111-factsheet-nato-eu-en.pdf | nato-eu | 2021-11 | NATO – EU Relations |" in text
    assert "| broken.pdf | read | broken.pdf ends early: it is truncated |" in text
    assert "| nine aircraft (9 aircraft) | **ten aircraft** (10 aircraft) | 2021-11 p. 1 |" in text
    assert "eight aircraft" not in text and "1902-factsheet" not in text  # earlier editions' changes are not this run's
    assert "Report: `out/report.html`" in text


# --- a large index, on pages -----------------------------------------------------------------


def _series_tables(numbers) -> dict[str, pd.DataFrame]:
    """Tables of one edition in each of the series ``series-NNN`` of ``numbers``."""
    from outputs.compare import finish_changes

    numbers = sorted(numbers)
    docs = pd.DataFrame({"doc_id": [f"{i:064x}" for i in numbers], "source": [f"s{i}.pdf" for i in numbers],
                         "series": [f"series-{i:03d}" for i in numbers], "title": [f"Factsheet number {i}" for i in numbers],
                         "edition": ["2020-01"] * len(numbers)})
    return {"documents": docs, "changes": finish_changes([]), "entities": empty("entities"), "blocks": empty("blocks")}


def _index_links(out) -> list[str]:
    """The series pages the index links to, through its pages when it has them, in order."""
    hrefs = [a.attrs["href"] for a in Page.parse((out / "report.html").read_text(encoding="utf-8")).find_all("a")]
    if not any(h.startswith("index/") for h in hrefs):
        return hrefs
    links = []
    for h in hrefs:
        page = Page.parse((out / h).read_text(encoding="utf-8"))
        links += [a.attrs["href"] for a in page.find_all("a") if a.attrs["href"] != "../report.html"]
    return links


def test_a_large_index_is_on_pages_and_a_new_series_rewrites_one_of_them(tmp_path, monkeypatch):
    import outputs.report

    monkeypatch.setattr(outputs.report, "INDEX_PAGE_SERIES", 4)
    out = tmp_path / "out"
    first = list(range(0, 40, 4))
    write_report(out, _series_tables(first))  # 10 series: more than 4, on pages of 2
    pages = sorted((out / "index").glob("page-*.html"))
    assert len(pages) == 5
    assert _index_links(out) == [f"../series/series-{i:03d}.html" for i in first]
    assert all((out / "index" / link).resolve().is_file() for link in _index_links(out))
    raw = (out / "report.html").read_text(encoding="utf-8")
    assert "10 documents in 10 series" in raw and "series-000" in raw and "series-036" in raw  # each page's range
    before = {p.name: p.stat().st_ino for p in pages}

    write_report(out, _series_tables([*first, 10]), series=["series-010"])
    after = {p.name: p.stat().st_ino for p in (out / "index").glob("page-*.html")}
    assert after.keys() == before.keys()
    assert {n for n in after if after[n] != before[n]} == {"page-0002.html"}  # series-008 and -012: now -010 too
    assert _index_links(out) == [f"../series/series-{i:03d}.html" for i in sorted([*first, 10])]

    more = [*first, 10, 9, 11]
    write_report(out, _series_tables(more), series=["series-009", "series-011"])
    after = {p.name: p.stat().st_ino for p in (out / "index").glob("page-*.html")}
    assert len(after) == 7  # page 2 had 5 series (008 to 012): split into three of 2, 2 and 1
    assert {n for n in after if after[n] != before.get(n)} == {"page-0002.html", "page-0006.html", "page-0007.html"}
    assert _index_links(out) == [f"../series/series-{i:03d}.html" for i in sorted(more)]

    write_report(out, _series_tables([0, 2]))  # back under the limit: the index on one page
    assert not (out / "index").exists()
    assert _index_links(out) == ["series/series-000.html", "series/series-002.html"]


def test_the_index_pages_are_made_again_when_their_list_is_lost(tmp_path, monkeypatch):
    import outputs.report

    monkeypatch.setattr(outputs.report, "INDEX_PAGE_SERIES", 4)
    out = tmp_path / "out"
    write_report(out, _series_tables(range(9)))
    (out / "index" / "pages.json").write_text("{not json")
    (out / "index" / "page-0009.html").write_text("a page of an earlier run")
    write_report(out, _series_tables(range(9)))
    assert _index_links(out) == [f"../series/series-{i:03d}.html" for i in range(9)]
    assert sorted(p.name for p in (out / "index").iterdir()) == sorted(["pages.json", *(f"page-{i:04d}.html" for i in range(1, 6))])
