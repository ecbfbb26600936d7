"""Measure layout extraction against golden blocks: ``make eval-extract``.

For every PDF with golden blocks (the samples, gold in ``tests/data/gold/blocks/``; the
multi-producer set in ``tests/data/producers/``, gold beside each PDF) it prints:

- ``similarity``: difflib ratio of the body words (title, heading, paragraph, list_item) to the gold;
- ``margin_leak``: running header/footer lines of the gold found inside body text;
- ``caption_leak``: gold captions (or 4-word runs of them) found inside body text;
- ``captions``: gold captions recovered as caption blocks, of all;
- ``bad_words``: body words that are not words of the gold (wrongly split or joined);
- ``meta``: title, edition and series right.

Targets on every PDF: similarity ≥ 0.99, no leak, every caption, no bad word, metadata right.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from extractors.pipeline import edition_from_text, extract_document, series_slug

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BODY = ("title", "heading", "paragraph", "list_item")
_TOKEN = re.compile(r"[\w’'\-–]+")
TARGET_SIMILARITY = 0.99


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

    @property
    def ok(self) -> bool:
        return (
            self.similarity >= TARGET_SIMILARITY
            and self.margin_leak == 0
            and self.caption_leak == 0
            and self.captions_found == self.captions_total
            and not self.bad_words
            and self.meta_ok
        )


def dev_set() -> list[tuple[Path, Path]]:
    """(pdf, gold json) pairs of every PDF with golden blocks."""
    pairs = []
    for pdf in sorted((ROOT / "samples").glob("*.pdf")):
        gold = HERE / "data" / "gold" / "blocks" / f"{pdf.stem}.json"
        if gold.exists():
            pairs.append((pdf, gold))
    for pdf in sorted((HERE / "data" / "producers").glob("*.pdf")):
        gold = pdf.with_suffix(".json")
        if gold.exists():
            pairs.append((pdf, gold))
    return pairs


def _words(text: str) -> list[str]:
    return text.split()


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def score(pdf: Path, gold_path: Path) -> Score:
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    doc = extract_document(pdf)
    ours_body = " ".join(b.text for b in doc.blocks if b.kind in BODY)
    gold_body = " ".join(g["text"] for g in gold if g["kind"] in BODY)
    sim = difflib.SequenceMatcher(None, _words(gold_body), _words(ours_body), autojunk=False).ratio()
    body_norm = _norm(ours_body)

    margins = {g["text"] for g in gold if g["kind"] in ("header", "footer") and not g["text"].strip().isdigit()}
    margin_leak = sum(1 for m in margins if _norm(m) in body_norm)

    gold_captions = [g["text"] for g in gold if g["kind"] == "caption"]
    our_captions = {_norm(b.text) for b in doc.blocks if b.kind == "caption"}
    found = sum(1 for c in gold_captions if _norm(c) in our_captions)
    caption_leak = 0
    for c in gold_captions:
        w = _words(_norm(c))
        runs = {" ".join(w[i : i + 4]) for i in range(max(1, len(w) - 3))}
        gold_body_norm = _norm(gold_body)
        if any(r in body_norm and r not in gold_body_norm for r in runs):
            caption_leak += 1

    gold_vocab = {t.lower() for g in gold for t in _TOKEN.findall(g["text"])}
    bad = sorted({t for t in _TOKEN.findall(ours_body) if t.lower() not in gold_vocab})

    title = next((g["text"] for g in gold if g["kind"] == "title"), None)
    edition = next((e for g in gold if g["kind"] in ("header", "footer") for e in [edition_from_text(g["text"])] if e), None)
    notes = []
    if title and doc.meta.title != title:
        notes.append(f"title {doc.meta.title!r} != {title!r}")
    if title and doc.meta.series != series_slug(title):
        notes.append(f"series {doc.meta.series!r}")
    if edition and doc.meta.edition != edition:
        notes.append(f"edition {doc.meta.edition!r} != {edition!r}")
    return Score(pdf.name, sim, margin_leak, caption_leak, found, len(gold_captions), bad, not notes, "; ".join(notes))


def main() -> int:
    scores = [score(pdf, gold) for pdf, gold in dev_set()]
    header = f"{'pdf':58} {'similarity':>10} {'margin_leak':>11} {'caption_leak':>12} {'captions':>8} {'bad_words':>9} {'meta':>5}"
    print(header)
    print("-" * len(header))
    for s in scores:
        print(
            f"{s.pdf:58} {s.similarity:10.4f} {s.margin_leak:11d} {s.caption_leak:12d} "
            f"{s.captions_found:>4}/{s.captions_total:<3} {len(s.bad_words):9d} {'ok' if s.meta_ok else 'WRONG':>5}"
        )
    for s in scores:
        if s.bad_words:
            print(f"  {s.pdf}: bad words {s.bad_words[:12]}")
        if s.meta_note:
            print(f"  {s.pdf}: {s.meta_note}")
    met = all(s.ok for s in scores)
    print(f"\ntargets (similarity >= {TARGET_SIMILARITY}, no leak, all captions, no bad word, metadata right): {'met' if met else 'NOT met'} on {sum(s.ok for s in scores)}/{len(scores)} PDFs")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
