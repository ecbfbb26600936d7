"""Tag a document's blocks with the spaCy pipeline and normalise every entity.

Canonical names: an organisation or operation takes the gazetteer's canonical name; an acronym
defined in the document ("European Defence Agency (EDA)", "SHAPE (Supreme Headquarters Allied
Powers Europe)") takes its long form, looked up in the gazetteer in turn; a surname alone takes
the full name used earlier in the document. Dates become inclusive ISO ranges, amounts a value,
unit and qualifier (``extractors.dates``, ``extractors.amounts``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import date

from spacy.language import Language
from spacy.tokens import Doc, Span

from schemas.records import Block, Entity, ExtractedDocument

from .amounts import currency_codes, parse_amount
from .dates import parse_date
from .gazetteer import Gazetteer, load_gazetteer
from .nlp import NLP_LOCK, set_entities  # (importing .nlp also registers Span._.counted_noun)

TAGGED_KINDS = ("title", "heading", "paragraph", "list_item", "caption")

_ACRONYM = r"[A-Z][A-Za-z]*[A-Z][A-Za-z0-9\-]*|[A-Z]{2,}"
#: An acronym in brackets may carry a place or name: "(EUTM Mali)", "(EUMPM Niger)".
_NAMED_ACRONYM = rf"(?:{_ACRONYM})(?:\s+[A-Z][a-z]+){{0,2}}"
_DEF_AFTER = re.compile(rf"((?:[\w’'\-]+\s+){{1,12}}?)\((?P<acr>{_NAMED_ACRONYM})\)")
_DEF_BEFORE = re.compile(rf"\b(?P<acr>{_ACRONYM})\s+\((?P<long>[^()]{{4,120}})\)")
_SMALL = {"of", "for", "and", "the", "on", "in", "to", "de", "du", "des", "la", "le", "et"}


def entity_id(label: str, canonical: str) -> str:
    """Stable id of a real-world thing: the same label and canonical name, the same id."""
    return hashlib.sha1(f"{label}\x1f{canonical}".encode()).hexdigest()[:16]


def _sh_match(long: str, acronym: str) -> bool:
    """Schwartz–Hearst: the letters of ``acronym`` appear in ``long`` in order, right to left,
    and its first letter starts a word of ``long`` (which is where ``long`` must begin)."""
    s = [c.lower() for c in acronym if c.isalnum()]
    text = long.lower()
    li = len(text) - 1
    for si in range(len(s) - 1, -1, -1):
        ch = s[si]
        while li >= 0 and (text[li] != ch or (si == 0 and li > 0 and text[li - 1].isalnum())):
            li -= 1
        if li < 0:
            return False
        li -= 1
    return li < 0 or not text[: li + 1].strip()


def _long_form_for(words: list[str], acronym: str) -> str | None:
    """The shortest tail of ``words`` that the acronym abbreviates (Schwartz–Hearst)."""
    letters = [c for c in acronym if c.isalpha()]
    if not letters:
        return None
    for n in range(1, min(len(words), len(letters) + 6) + 1):
        tail = words[-n:]
        if tail[0].lower() in _SMALL or not tail[0][:1].isalpha() or tail[0][0].lower() != letters[0].lower():
            continue
        if _sh_match(" ".join(tail), acronym):
            return " ".join(tail)
    return None


def find_acronyms(texts: Iterable[str]) -> dict[str, str]:
    """Acronym → long form, from definitions in the text, both orders."""
    found: dict[str, str] = {}
    for text in texts:
        for m in _DEF_AFTER.finditer(text):
            words = [w.strip(",;:") for w in m.group(1).split()]
            words = [re.sub(r"(’s|'s)$", "", w) for w in words]
            long = _long_form_for(words, m.group("acr")) or _long_form_for(words, m.group("acr").split()[0])
            if long:
                found.setdefault(m.group("acr"), long)
        for m in _DEF_BEFORE.finditer(text):
            inner = m.group("long").strip()
            inner = re.sub(r"^(NATO|EU)(’s|'s)\s+", "", inner)
            if _long_form_for(inner.split(), m.group("acr")) == inner or _initials_match(inner, m.group("acr")):
                found.setdefault(m.group("acr"), inner)
    return found


def _initials_match(long: str, acronym: str) -> bool:
    initials = "".join(w[0] for w in long.split() if w.lower() not in _SMALL and w[:1].isalpha())
    return initials.lower() == "".join(c for c in acronym if c.isalpha()).lower()


def _strip_name(text: str) -> str:
    text = re.sub(r"^(the|The)\s+", "", text.strip())
    return re.sub(r"(’s|'s)$", "", text).strip()


class Canonicaliser:
    """Gives each mention of one document its canonical name."""

    def __init__(self, gazetteer: Gazetteer, acronyms: dict[str, str]) -> None:
        self.gazetteer = gazetteer
        self.acronyms = acronyms
        self.people: list[str] = []

    def organisation(self, text: str, label: str, ruler_id: str) -> tuple[str, str] | None:
        """(label, canonical) of an ORG or OPERATION mention; None to drop it."""
        name = _strip_name(text)
        entry = self.gazetteer.lookup(name)
        if entry is None and ruler_id:
            entry = self.gazetteer.lookup(ruler_id)
        if entry is not None:
            return entry.label, entry.canonical
        if name in self.acronyms:
            long = self.acronyms[name]
            entry = self.gazetteer.lookup(long)
            if entry is not None:
                return entry.label, entry.canonical
            return label, long
        if label == "ORG" and re.fullmatch(_ACRONYM, name) and " " not in name:
            return None  # an undefined acronym the model guessed is an organisation
        if ruler_id and not self.gazetteer.lookup(ruler_id):
            return label, re.sub(r"^(NATO|EU)\s+(?=Operation\b)", "", name)  # pattern match
        return label, name

    def person(self, text: str) -> str:
        name = _strip_name(text)
        parts = name.split()
        if len(parts) == 1:
            for full in self.people:
                if full.split()[-1] == name:
                    return full
        elif name not in self.people:
            self.people.append(name)
        return name


def is_name(text: str) -> bool:
    """Whether ``text`` is written as a proper name: every word but small ones capitalised
    ("European Defence Agency", not "gross domestic product")."""
    words = [w for w in re.split(r"[\s\-\u2010\u2011\u2013]+", text) if w]
    return bool(words) and words[0][:1].isupper() and all(
        w[:1].isupper() or not w[:1].isalpha() or w.lower() in _SMALL for w in words
    )


_DEFINED_LABELS = ("ORG", "OPERATION", "GPE", "LOC")
_OPERATION_WORDS = re.compile(r"\b(Mission|Operation)\b")


def definition_labels(docs: Sequence[Doc], acronyms: dict[str, str], gazetteer: Gazetteer) -> dict[str, str]:
    """The label of each defined acronym whose long form is a name: the gazetteer's, else what
    the pipeline tagged the long form (or the acronym) as, else OPERATION for a mission or an
    operation and ORG otherwise."""
    found: dict[str, str] = {}
    for acronym, long in acronyms.items():
        if not is_name(long):
            continue
        entry = gazetteer.lookup(long) or gazetteer.lookup(acronym)
        if entry is not None:
            found[acronym] = entry.label
            continue
        tagged = [
            ent.label_
            for doc in docs
            for ent in doc.ents
            if ent.label_ in _DEFINED_LABELS and _strip_name(ent.text) in (long, acronym)
        ]
        if tagged:
            found[acronym] = max(set(tagged), key=tagged.count)
        else:
            found[acronym] = "OPERATION" if _OPERATION_WORDS.search(long) else "ORG"
    return found


def apply_definitions(doc: Doc, acronyms: dict[str, str], labels: dict[str, str]) -> None:
    """Tag every mention of a defined acronym and of its long form in ``doc`` with the
    definition's label. They replace the entities they overlap, except a gazetteer or pattern
    match the new span does not cover ("EUMPM Niger" replaces the PERSON "EUMPM Niger" and the
    GPE "Niger"; "EU Military Partnership Mission in Niger" the partial "Military Partnership
    Mission in Niger")."""
    new: list[Span] = []
    for acronym, label in labels.items():
        for text in (acronyms[acronym], acronym):
            for m in re.finditer(rf"(?<![\w\-]){re.escape(text)}(?![\w\-])", doc.text):
                span = doc.char_span(m.start(), m.end(), label=label)
                if span is not None:
                    new.append(span)
    if not new:
        return
    ents = list(doc.ents)
    for span in sorted(new, key=lambda s: (s.start, -len(s))):
        clash = [e for e in ents if e.start < span.end and span.start < e.end]
        if any(e.ent_id_ and not (span.start <= e.start and e.end <= span.end) for e in clash):
            continue
        if any((e.start, e.end, e.label_) == (span.start, span.end, span.label_) for e in clash):
            continue
        ents = [e for e in ents if e not in clash] + [span]
    set_entities(doc, ents)


def tag_blocks(
    blocks: Sequence[Block],
    nlp: Language,
    edition: str | None,
    gazetteer: Gazetteer | None = None,
) -> list[Entity]:
    """Entities of a document's body blocks, normalised, in reading order."""
    gazetteer = gazetteer or load_gazetteer()
    tagged = [b for b in blocks if b.kind in TAGGED_KINDS]
    reference = _edition_date(edition)
    with NLP_LOCK:
        docs = list(nlp.pipe((b.text for b in tagged), batch_size=64))
    acronyms = find_acronyms(b.text for b in tagged)
    labels = definition_labels(docs, acronyms, gazetteer)
    for doc in docs:
        apply_definitions(doc, acronyms, labels)
    canon = Canonicaliser(gazetteer, acronyms)
    out: list[Entity] = []
    for block, doc in zip(tagged, docs):
        for ent in doc.ents:
            label = ent.label_
            e = Entity(
                block_id=block.block_id,
                page=block.page,
                label=label,
                text=ent.text,
                start_char=ent.start_char,
                end_char=ent.end_char,
                canonical=ent.text,
            )
            if label in ("ORG", "OPERATION"):
                resolved = canon.organisation(ent.text, label, ent.ent_id_)
                if resolved is None:
                    continue
                e.label, e.canonical = resolved
            elif label == "PERSON":
                e.canonical = canon.person(ent.text)
            elif label in ("GPE", "LOC"):
                name = _strip_name(ent.text)
                e.canonical = acronyms.get(name, name) if name in labels else name
            elif label == "DATE":
                rng = parse_date(ent.text, reference)
                if rng is None:
                    continue
                e.date_start, e.date_end, e.qualifier = rng.start, rng.end, rng.qualifier
                e.canonical = rng.start.isoformat() if rng.start == rng.end else f"{rng.start.isoformat()}/{rng.end.isoformat()}"
            elif label == "AMOUNT":
                amount = parse_amount(ent.text)
                if amount is None or amount.unit is None:
                    continue
                if amount.unit not in currency_codes() and amount.unit != "percent":
                    amount.unit = ent._.counted_noun or amount.unit  # "additional troops" counts "troops"
                e.value, e.unit, e.qualifier = amount.value, amount.unit, amount.qualifier
                e.canonical = f"{format_value(amount.value)} {amount.unit}"
            out.append(e)
    return out


def tag_document(doc: ExtractedDocument, nlp: Language, gazetteer: Gazetteer | None = None) -> list[Entity]:
    return tag_blocks(doc.blocks, nlp, doc.meta.edition, gazetteer)


def format_value(value: float) -> str:
    """A value as people write it in a key: 2000000.0 → "2000000", 1.5 → "1.5"."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _edition_date(edition: str | None) -> date | None:
    if not edition:
        return None
    year, month = edition.split("-")
    return date(int(year), int(month), 1)
