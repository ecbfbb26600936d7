"""Measure layout extraction against golden blocks: ``make eval-extract``.

Three sets of PDFs with golden blocks:

- ``samples``: ``samples/*.pdf``, gold in ``tests/data/gold/blocks/``;
- ``producers``: the same content from Chromium and LibreOffice, ``tests/data/producers/``, gold
  beside each PDF;
- ``corpus``: the development corpus of real NATO texts in six layouts, ``../shared/corpus``
  relative to the project root (gold in its ``gold/``, title and edition in ``gold/manifest.json``).
  The corpus is not part of the project; when the folder is absent it is skipped with a note.

For every PDF it prints:

- ``similarity``: difflib ratio of the body words (title, heading, paragraph, list_item) to the
  gold's, i.e. reading order at the level of words;
- ``order``: reading order at the level of blocks: the share of the gold's body and caption blocks
  that are found as blocks (same text, see ``MATCH_RATIO``) and lie in the gold's relative order
  (the longest chain of found blocks in increasing position). A block split in two, two blocks run
  together, or a block read in the wrong place each lower it, even when the words are all there;
- ``margin_leak``: running header/footer texts of the gold found inside body text more often than
  the gold's own body has them (a footer that repeats the title is not a leak of the title);
- ``caption_leak``: gold captions (or 4-word runs of them) found inside body text;
- ``captions``: gold captions recovered as caption blocks, of all;
- ``bad_words``: body words that are not words of the gold (wrongly split or joined);
- ``meta``: title and edition right (samples and producers: series too; corpus: the series is
  printed beside the manifest's but does not fail, it is being reworked elsewhere).

A summary line per set follows; the exit status is non-zero when any PDF misses its set's targets.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from extractors.pipeline import edition_from_text, extract_document, factsheet_slug
from schemas.records import Block, ExtractedDocument

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = ROOT.parent / "shared" / "corpus"
BODY = ("title", "heading", "paragraph", "list_item")
ORDERED = BODY + ("caption",)
MARGINS = ("header", "footer")
_TOKEN = re.compile(r"[\w’'\-–]+")
#: A block of ours is the gold block when its words match this closely (difflib ratio).
MATCH_RATIO = 0.9


@dataclass(frozen=True)
class Targets:
    similarity: float
    order: float


#: Per set. The samples and producers are rendered from the project's own gold and are held to
#: near-exactness; the corpus is held to the targets the layout work set for it.
TARGETS = {
    "samples": Targets(similarity=0.99, order=0.98),
    "producers": Targets(similarity=0.99, order=0.98),
    "corpus": Targets(similarity=0.98, order=0.98),
}


@dataclass
class Score:
    pdf: str
    similarity: float
    margin_leak: int
    caption_leak: int
    captions_found: int
    captions_total: int
    bad_words: list[str]
    meta_ok: bool
    meta_note: str
    block_order: float = 1.0
    info_note: str = ""  # reported, never a failure (the corpus's series)
    targets: Targets = field(default_factory=lambda: TARGETS["samples"])

    @property
    def ok(self) -> bool:
        return (
            self.similarity >= self.targets.similarity
            and self.block_order >= self.targets.order
            and self.margin_leak == 0
            and self.caption_leak == 0
            and self.captions_found == self.captions_total
            and not self.bad_words
            and self.meta_ok
        )


@dataclass(frozen=True)
class Expected:
    """Metadata a PDF must yield (the series only where ``check_series``)."""

    title: str | None
    edition: str | None
    series: str | None = None
    check_series: bool = True


def dev_set() -> list[tuple[Path, Path]]:
    """(pdf, gold json) pairs of the project's PDFs with golden blocks: samples, then producers."""
    return sample_set() + producer_set()


def sample_set() -> list[tuple[Path, Path]]:
    pairs = []
    for pdf in sorted((ROOT / "samples").glob("*.pdf")):
        gold = HERE / "data" / "gold" / "blocks" / f"{pdf.stem}.json"
        if gold.exists():
            pairs.append((pdf, gold))
    return pairs


def producer_set() -> list[tuple[Path, Path]]:
    pairs = []
    for pdf in sorted((HERE / "data" / "producers").glob("*.pdf")):
        gold = pdf.with_suffix(".json")
        if gold.exists():
            pairs.append((pdf, gold))
    return pairs


def corpus_set(corpus: Path | None = None) -> list[tuple[Path, Path, Expected]]:
    """(pdf, gold, expected metadata) of every corpus PDF in its manifest; empty when absent."""
    corpus = corpus or CORPUS
    manifest = corpus / "gold" / "manifest.json"
    if not manifest.exists():
        return []
    rows = json.loads(manifest.read_text(encoding="utf-8"))
    return [
        (corpus / r["pdf"], corpus / r["gold"], Expected(r.get("title"), r.get("edition"), r.get("series")))
        for r in rows
    ]


def _words(text: str) -> list[str]:
    return text.split()


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def block_order(gold: Sequence[dict], blocks: Sequence[Block]) -> float:
    """Share of the gold's body and caption blocks found as blocks in the gold's relative order.

    Each gold block is paired with at most one block of ours (best matches first, difflib ratio
    of the words at least ``MATCH_RATIO``); the score is the longest chain of paired gold blocks
    whose partners increase in position, over the number of gold blocks.
    """
    want = [_words(_norm(g["text"])) for g in gold if g["kind"] in ORDERED]
    have = [_words(_norm(b.text)) for b in blocks if b.kind in ORDERED]
    if not want:
        return 1.0
    pairs = []
    for i, w in enumerate(want):
        for j, h in enumerate(have):
            sm = difflib.SequenceMatcher(None, w, h, autojunk=False)
            if sm.real_quick_ratio() >= MATCH_RATIO and sm.quick_ratio() >= MATCH_RATIO:
                r = sm.ratio()
                if r >= MATCH_RATIO:
                    pairs.append((r, i, j))
    partner: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if i not in partner and j not in used:
            partner[i] = j
            used.add(j)
    seq = [partner[i] for i in range(len(want)) if i in partner]
    # Longest strictly increasing subsequence (patience sorting).
    tails: list[int] = []
    for v in seq:
        k = _bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
        else:
            tails[k] = v
    return len(tails) / len(want)


def _bisect_left(a: list[int], v: int) -> int:
    lo, hi = 0, len(a)
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


def score(
    pdf: Path, gold_path: Path, expected: Expected | None = None, targets: Targets | None = None,
    doc: ExtractedDocument | None = None,
) -> Score:
    """The measures of one PDF (``doc``: its extraction, when the caller has it already)."""
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    doc = doc or extract_document(pdf)
    ours_body = " ".join(b.text for b in doc.blocks if b.kind in BODY)
    gold_body = " ".join(g["text"] for g in gold if g["kind"] in BODY)
    sim = difflib.SequenceMatcher(None, _words(gold_body), _words(ours_body), autojunk=False).ratio()
    body_norm = _norm(ours_body)
    gold_body_norm = _norm(gold_body)

    margins = {g["text"] for g in gold if g["kind"] in MARGINS and not g["text"].strip().isdigit()}
    margin_leak = sum(max(0, body_norm.count(_norm(m)) - gold_body_norm.count(_norm(m))) for m in margins)

    gold_captions = [g["text"] for g in gold if g["kind"] == "caption"]
    our_captions = {_norm(b.text) for b in doc.blocks if b.kind == "caption"}
    found = sum(1 for c in gold_captions if _norm(c) in our_captions)
    caption_leak = 0
    for c in gold_captions:
        w = _words(_norm(c))
        runs = {" ".join(w[i : i + 4]) for i in range(max(1, len(w) - 3))}
        if any(r in body_norm and r not in gold_body_norm for r in runs):
            caption_leak += 1

    gold_vocab = {t.lower() for g in gold for t in _TOKEN.findall(g["text"])}
    bad = sorted({t for t in _TOKEN.findall(ours_body) if t.lower() not in gold_vocab})

    if expected is None:
        title = next((g["text"] for g in gold if g["kind"] == "title"), None)
        edition = next((e for g in gold if g["kind"] in MARGINS for e in [edition_from_text(g["text"])] if e), None)
        expected = Expected(title, edition, factsheet_slug(pdf.name))  # NATO's file names name the series
    notes, info = [], []
    if expected.title and doc.meta.title != expected.title:
        notes.append(f"title {doc.meta.title!r} != {expected.title!r}")
    if expected.series and doc.meta.series != expected.series:
        (notes if expected.check_series else info).append(f"series {doc.meta.series!r} != {expected.series!r}")
    if expected.edition and doc.meta.edition != expected.edition:
        notes.append(f"edition {doc.meta.edition!r} != {expected.edition!r}")
    return Score(
        pdf.name, sim, margin_leak, caption_leak, found, len(gold_captions), bad, not notes, "; ".join(notes),
        block_order=block_order(gold, doc.blocks), info_note="; ".join(info), targets=targets or TARGETS["samples"],
    )


def score_sets() -> tuple[dict[str, list[Score]], list[str]]:
    """Scores of every set, and notes on sets that were skipped."""
    sets: dict[str, list[Score]] = {
        "samples": [score(pdf, gold, targets=TARGETS["samples"]) for pdf, gold in sample_set()],
        "producers": [score(pdf, gold, targets=TARGETS["producers"]) for pdf, gold in producer_set()],
    }
    skipped = []
    corpus = corpus_set()
    if corpus:
        sets["corpus"] = [score(pdf, gold, exp, TARGETS["corpus"]) for pdf, gold, exp in corpus]
    else:
        skipped.append(f"corpus: skipped, no {CORPUS / 'gold' / 'manifest.json'}")
    return sets, skipped


def _summary(name: str, scores: Sequence[Score]) -> str:
    t = scores[0].targets
    return (
        f"{name}: targets (similarity >= {t.similarity}, order >= {t.order}, no leak, all captions, no bad word, "
        f"metadata right) met on {sum(s.ok for s in scores)}/{len(scores)} PDFs{'' if all(s.ok for s in scores) else ' (NOT met)'}; "
        f"min similarity {min(s.similarity for s in scores):.4f}, min order {min(s.block_order for s in scores):.4f}, "
        f"margin leaks {sum(s.margin_leak for s in scores)}, caption leaks {sum(s.caption_leak for s in scores)}, "
        f"captions {sum(s.captions_found for s in scores)}/{sum(s.captions_total for s in scores)}, "
        f"bad words {sum(len(s.bad_words) for s in scores)}, metadata wrong {sum(not s.meta_ok for s in scores)}"
    )


def main() -> int:
    sets, skipped = score_sets()
    header = (
        f"{'pdf':58} {'similarity':>10} {'order':>6} {'margin_leak':>11} {'caption_leak':>12} "
        f"{'captions':>8} {'bad_words':>9} {'meta':>5}"
    )
    for name, scores in sets.items():
        if not scores:
            continue
        print(f"\n[{name}]")
        print(header)
        print("-" * len(header))
        for s in scores:
            print(
                f"{s.pdf:58} {s.similarity:10.4f} {s.block_order:6.3f} {s.margin_leak:11d} {s.caption_leak:12d} "
                f"{s.captions_found:>4}/{s.captions_total:<3} {len(s.bad_words):9d} {'ok' if s.meta_ok else 'WRONG':>5}"
                f"{'' if s.ok else '  <- target missed'}"
            )
        for s in scores:
            if s.bad_words:
                print(f"  {s.pdf}: bad words {s.bad_words[:12]}")
            if s.meta_note:
                print(f"  {s.pdf}: {s.meta_note}")
            if s.info_note:
                print(f"  {s.pdf}: (not a target) {s.info_note}")
    print()
    for note in skipped:
        print(note)
    met = True
    for name, scores in sets.items():
        if scores:
            print(_summary(name, scores))
            met = met and all(s.ok for s in scores)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
