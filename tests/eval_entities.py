"""Entity evaluation: the project's pipeline, and the statistical model alone, against hand-made gold.

``.venv/bin/python -m tests.eval_entities [--model NAME]`` (``make eval``) prints, per set of
documents, per label precision, recall and F1 and the share of dates and amounts whose
normalised values are exactly right. The sets:

- ``samples``: the sample factsheets (PDFs of ``samples/``);
- ``heldout``, ``heldout-2``: texts written for this project (blocks given as text);
- ``corpus/tune`` and ``corpus/heldback``: real NATO texts of the development corpus
  (``../shared/corpus``, skipped when absent), every PDF of a text (all its layouts) scored
  against that text's gold (``tests/data/gold/corpus/``, rules in its README). The split is by
  series and was fixed before any rule was tuned on the corpus: rules may be developed against
  ``tune``; ``heldback`` is only reported;
- ``independent``: six factsheet-style texts of EU missions, UN peacekeeping, NATO naval forces
  and the OSCE (``heldout-x*.json``), written and annotated by a separate annotator who never saw
  the rules, and never used to tune them.

Gold lives in ``tests/data/gold/entities/``: ``<pdf-stem>.json`` for each sample PDF and
``heldout*.json`` (blocks given as text, with the edition that anchors relative dates): each
held-out file is scored on its own. ``heldout.json`` was written before the rules, but its
errors were seen while they were written; ``heldout-2.json`` was written after them and never
used to tune anything.
Each lists the distinct mentions of a document as ``{label, text, canonical}`` plus, for dates,
``date_start``, ``date_end``, ``qualifier`` and, for amounts, ``value``, ``unit``, ``qualifier``.
The gold was annotated by reading the texts, not from the pipeline's output.

Scoring:

- **F1**: an entity counts once per document, by label and canonical name (for a date its ISO
  range, for an amount its value and unit); counts are summed over documents (micro average).
  ``GPE+LOC`` scores places with their labels kept; ``ALL`` every label.
- **normalised**: each gold date or amount mention is looked up among the predicted mentions of
  its document by text (case-insensitive, leading "the" dropped; one text containing the other
  counts, so "In late 2018" finds "late 2018"); of those found, the share whose normalised values
  (dates: start, end, qualifier; amounts: value, unit, qualifier) are all exactly right.
- **model alone**: ``spacy.load(model)`` with every component, on the same block texts; its
  labels mapped (ORG, PERSON, GPE, LOC, DATE; MONEY, CARDINAL, PERCENT, QUANTITY → AMOUNT),
  canonical = the text without a leading "the". It normalises nothing, so its dates and amounts
  are scored by mention text against the gold texts, which is generous to it.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GOLD = Path(__file__).resolve().parent / "data" / "gold" / "entities"
SAMPLES = ROOT / "samples"
HELDOUT = "heldout"
INDEPENDENT = "heldout-x"
CORPUS_GOLD = Path(__file__).resolve().parent / "data" / "gold" / "corpus"
CORPUS_SPLITS = ("tune", "heldback")

LABELS = ("ORG", "OPERATION", "DATE", "AMOUNT", "PERSON", "GPE", "LOC")
ROWS = (*LABELS, "GPE+LOC", "ALL")
#: Targets: F1 per row on the samples, and on the held-out text (ALL).
TARGETS = {"ORG": 0.95, "OPERATION": 0.95, "DATE": 0.95, "AMOUNT": 0.95, "PERSON": 0.90, "GPE+LOC": 0.90}
HELDOUT_TARGET = 0.85
#: Targets on the held-back part of the corpus (issue: F1 >= 0.95 for ORG, OPERATION, DATE and
#: AMOUNT, >= 0.90 for PERSON and places, every date and amount normalised).
CORPUS_TARGETS = TARGETS

BASELINE_LABELS = {
    "ORG": "ORG",
    "PERSON": "PERSON",
    "GPE": "GPE",
    "LOC": "LOC",
    "DATE": "DATE",
    "MONEY": "AMOUNT",
    "CARDINAL": "AMOUNT",
    "PERCENT": "AMOUNT",
    "QUANTITY": "AMOUNT",
}
NORMALISED = {"DATE": ("date_start", "date_end", "qualifier"), "AMOUNT": ("value", "unit", "qualifier")}


@dataclass
class Mention:
    """A predicted or gold mention, reduced to what is scored."""

    label: str
    text: str
    canonical: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class GoldDoc:
    name: str
    edition: str | None
    mentions: list[Mention]
    source: Path | None = None  # the sample PDF
    blocks: list[dict[str, str]] | None = None  # held-out: blocks given as text


@dataclass
class Scores:
    """Counts per row and normalisation results, for one system over a set of documents."""

    tp: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROWS, 0))
    fp: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROWS, 0))
    fn: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROWS, 0))
    norm_total: int = 0
    norm_found: int = 0
    norm_right: int = 0
    errors: list[str] = field(default_factory=list)

    def prf(self, row: str) -> tuple[float, float, float]:
        tp, fp, fn = self.tp[row], self.fp[row], self.fn[row]
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f

    def f1(self, row: str) -> float:
        return self.prf(row)[2]

    @property
    def normalised_share(self) -> float:
        return self.norm_right / self.norm_found if self.norm_found else 1.0


# --- gold --------------------------------------------------------------------------------------


def _gold_value(key: str, value: Any) -> Any:
    if value is not None and key.startswith("date_"):
        return date.fromisoformat(value)
    return value


def load_gold(name: str) -> GoldDoc:
    return _gold_doc(name, json.loads((GOLD / f"{name}.json").read_text(encoding="utf-8")))


def _gold_doc(name: str, data: dict[str, Any]) -> GoldDoc:
    mentions = [
        Mention(
            e["label"],
            e["text"],
            e["canonical"],
            {k: _gold_value(k, e.get(k)) for k in NORMALISED.get(e["label"], ())},
        )
        for e in data["entities"]
    ]
    bad = [m for m in mentions if m.label not in LABELS]
    if bad:
        raise ValueError(f"gold {name}: unknown label(s) {sorted({m.label for m in bad})}; use one of {LABELS}")
    source = ROOT / data["source"] if data.get("source") else None
    return GoldDoc(name, data.get("edition"), mentions, source, data.get("blocks"))


def sample_names() -> list[str]:
    """Gold for the sample PDFs."""
    return sorted(p.stem for p in GOLD.glob("*.json") if not p.stem.startswith(HELDOUT))


def heldout_names() -> list[str]:
    """Held-out gold written with the rules (``heldout*.json``, blocks given as text)."""
    return sorted(p.stem for p in GOLD.glob(f"{HELDOUT}*.json") if not p.stem.startswith(INDEPENDENT))


def independent_names() -> list[str]:
    """Gold of the independent annotator (``heldout-x*.json``)."""
    return sorted(p.stem for p in GOLD.glob(f"{INDEPENDENT}*.json"))


def corpus_docs(split: str) -> list[GoldDoc]:
    """One gold document per corpus PDF of the texts in ``split`` (every layout of a text shares
    its gold); empty when the corpus is absent."""
    from tests.eval_extract import CORPUS

    manifest = CORPUS / "gold" / "manifest.json"
    if not manifest.exists():
        return []
    docs = []
    for row in json.loads(manifest.read_text(encoding="utf-8")):
        stem = Path(row["text"]).stem
        gold_path = CORPUS_GOLD / f"{stem}.json"
        data = json.loads(gold_path.read_text(encoding="utf-8"))
        if data["split"] != split:
            continue
        gold = _gold_doc(stem, data)
        gold.name = Path(row["pdf"]).stem
        gold.source = CORPUS / row["pdf"]
        docs.append(gold)
    return sorted(docs, key=lambda d: d.name)


# --- systems ---------------------------------------------------------------------------------


def _blocks(doc: GoldDoc, cache: dict[str, Any]) -> tuple[list[Any], str | None]:
    """The document's blocks (extracted from the PDF, or built from the gold text) and edition."""
    from extractors.pipeline import extract_document
    from schemas.records import BBox, Block

    if doc.blocks is not None:
        blocks = [Block(i, 1, b["kind"], b["text"], BBox(0, 0, 1, 1)) for i, b in enumerate(doc.blocks)]
        return blocks, doc.edition
    if doc.source is None:
        raise ValueError(f"gold {doc.name} has neither a source PDF nor blocks")
    if doc.name not in cache:
        cache[doc.name] = extract_document(doc.source)
    extracted = cache[doc.name]
    return extracted.blocks, extracted.meta.edition


def pipeline_system(nlp: Any) -> Callable[[list[Any], str | None], list[Mention]]:
    """The project's tagging: ``tag_blocks`` with the project's ``nlp``."""
    from extractors.tagging import tag_blocks

    def run(blocks: list[Any], edition: str | None) -> list[Mention]:
        return [
            Mention(e.label, e.text, e.canonical, {k: getattr(e, k) for k in NORMALISED.get(e.label, ())})
            for e in tag_blocks(blocks, nlp, edition)
        ]

    return run


def model_system(model: str) -> Callable[[list[Any], str | None], list[Mention]]:
    """The statistical model alone (every component), labels mapped, no normalisation."""
    import spacy

    from schemas.records import TEXT_KINDS as TAGGED_KINDS

    nlp = spacy.load(model)

    def run(blocks: list[Any], edition: str | None) -> list[Mention]:
        texts = [b.text for b in blocks if b.kind in TAGGED_KINDS]
        out: list[Mention] = []
        for doc in nlp.pipe(texts):
            for ent in doc.ents:
                label = BASELINE_LABELS.get(ent.label_)
                if label:
                    name = re.sub(r"^the\s+", "", ent.text, flags=re.IGNORECASE)
                    out.append(Mention(label, ent.text, name))
        return out

    return run


# --- scoring ---------------------------------------------------------------------------------


def _norm_text(text: str) -> str:
    s = text.replace("\u2019", "'").replace("\u00a0", " ").lower()
    s = re.sub(r"^the\s+", "", " ".join(s.split()))
    return s.strip(" .,;:")


def _text_match(gold: str, pred: str) -> bool:
    g, p = _norm_text(gold), _norm_text(pred)
    if g == p:
        return True
    short, long = (g, p) if len(g) <= len(p) else (p, g)
    return bool(short) and re.search(rf"(?<!\w){re.escape(short)}(?!\w)", long) is not None


def _keys(mentions: Iterable[Mention], by_text: bool = False) -> set[tuple[str, str]]:
    """(label, canonical) per distinct entity; ``by_text`` uses the normalised text for dates and
    amounts (the model alone has no canonical form for them)."""
    out = set()
    for m in mentions:
        if by_text and m.label in NORMALISED:
            out.add((m.label, _norm_text(m.text)))
        else:
            out.add((m.label, m.canonical))
    return out


def _row_of(label: str) -> tuple[str, ...]:
    return (label, "GPE+LOC", "ALL") if label in ("GPE", "LOC") else (label, "ALL")


def score_document(gold: GoldDoc, predicted: list[Mention], scores: Scores, baseline: bool = False) -> None:
    """Add one document's counts (and normalisation checks) to ``scores``."""
    gold_keys = _keys(gold.mentions, by_text=baseline)
    pred_keys = _keys(predicted, by_text=baseline)
    if baseline:
        # a date or amount the model found counts when its text is one of the gold texts
        matched = set()
        for lab, text in pred_keys:
            if lab in NORMALISED:
                hit = next((g for g in gold_keys if g[0] == lab and _norm_text(g[1]) == text), None)
                matched.add(hit or (lab, text))
            else:
                matched.add((lab, text))
        pred_keys = matched
    for key in gold_keys | pred_keys:
        rows = _row_of(key[0])
        if key in gold_keys and key in pred_keys:
            kind = "tp"
        elif key in pred_keys:
            kind = "fp"
            scores.errors.append(f"{gold.name}: FP {key[0]} {key[1]!r}")
        else:
            kind = "fn"
            scores.errors.append(f"{gold.name}: FN {key[0]} {key[1]!r}")
        for row in rows:
            getattr(scores, kind)[row] += 1
    if baseline:
        return
    for g in gold.mentions:
        if g.label not in NORMALISED:
            continue
        scores.norm_total += 1
        candidates = [p for p in predicted if p.label == g.label and _text_match(g.text, p.text)]
        if not candidates:
            continue
        scores.norm_found += 1
        if any(all(p.values.get(k) == v for k, v in g.values.items()) for p in candidates):
            scores.norm_right += 1
        else:
            got = candidates[0].values
            scores.errors.append(f"{gold.name}: NORM {g.label} {g.text!r}: want {g.values}, got {got}")


def evaluate(
    docs: list[GoldDoc],
    system: Callable[[list[Any], str | None], list[Mention]],
    baseline: bool = False,
    cache: dict[str, Any] | None = None,
) -> Scores:
    """Scores of ``system`` over ``docs``."""
    cache = {} if cache is None else cache
    scores = Scores()
    for doc in docs:
        blocks, edition = _blocks(doc, cache)
        score_document(doc, system(blocks, edition), scores, baseline)
    return scores


def evaluate_all(model: str | None) -> dict[str, Scores]:
    """Pipeline and model alone, on the samples and on the held-out text."""
    from extractors.tagging import load_nlp

    sets = {"samples": [load_gold(n) for n in sample_names()]}
    sets.update({n: [load_gold(n)] for n in heldout_names()})
    for split in CORPUS_SPLITS:
        docs = corpus_docs(split)
        if docs:
            sets[f"corpus/{split}"] = docs
    sets["independent"] = [load_gold(n) for n in independent_names()]
    cache: dict[str, Any] = {}
    pipe = pipeline_system(load_nlp(model))
    alone = model_system(model) if model else None
    out = {}
    for name, docs in sets.items():
        out[f"{name}/pipeline"] = evaluate(docs, pipe, cache=cache)
    if alone is not None:
        for name, docs in sets.items():
            out[f"{name}/model alone"] = evaluate(docs, alone, baseline=True, cache=cache)
    return out


def format_table(results: dict[str, Scores], normalised: bool = True) -> str:
    names = list(results)
    head = f"{'label':<10}" + "".join(f" | {n[-20:]:^20}" for n in names)
    sub = f"{'':<10}" + "".join(f" | {'P':>6}{'R':>7}{'F1':>7}" for _ in names)
    lines = [head, sub, "-" * len(head)]
    for row in ROWS:
        cells = []
        for n in names:
            s = results[n]
            if s.tp[row] + s.fp[row] + s.fn[row] == 0:
                cells.append(f" | {'-':>6}{'-':>7}{'-':>7}")
            else:
                p, r, f = s.prf(row)
                cells.append(f" | {p:6.3f}{r:7.3f}{f:7.3f}")
        lines.append(f"{row:<10}" + "".join(cells))
    norm = []
    for n in names:
        s = results[n]
        norm.append(f" | {f'{s.norm_right}/{s.norm_found} of {s.norm_total}':>20}" if normalised else f" | {'n/a':>20}")
    lines.append(f"{'normalised':<10}" + "".join(norm))
    return "\n".join(lines)


#: The sets whose errors ``-v`` lists: the ones rules may be developed against.
TUNING_SETS = ("samples", "heldout", "heldout-2", "corpus/tune")


def main(argv: list[str] | None = None) -> int:
    from schemas.settings import DEFAULT_MODEL

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL, help="spaCy model ('none': the project's rules only)")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="list every false positive, miss and wrong value of the tuning sets (--errors to choose others)")
    ap.add_argument("--errors", nargs="*", default=list(TUNING_SETS), help="sets whose errors -v lists")
    args = ap.parse_args(argv)
    model = None if args.model.lower() == "none" else args.model
    results = evaluate_all(model)
    for kind in ("pipeline", "model alone"):
        group = {name.rsplit("/", 1)[0]: s for name, s in results.items() if name.endswith("/" + kind)}
        if group:
            print(f"\n{kind} ({args.model if kind == 'model alone' else 'factsheets'})")
            print(format_table(group, normalised=kind == "pipeline"))
    print("\nnormalised: right / found by text of all gold dates and amounts")
    print(f"targets (samples and corpus/heldback, pipeline): F1 {TARGETS}, normalised 100%; held-out ALL F1 >= {HELDOUT_TARGET}")
    if args.verbose:
        for name, s in results.items():
            if name.endswith("/pipeline") and name.rsplit("/", 1)[0] in args.errors:
                for err in s.errors:
                    print(f"[{name}] {err}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
