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

from schemas.records import Block, Entity, ExtractedDocument

from .amounts import parse_amount
from .dates import parse_date
from .gazetteer import Gazetteer, load_gazetteer
from .nlp import NLP_LOCK

TAGGED_KINDS = ("title", "heading", "paragraph", "list_item", "caption")

_ACRONYM = r"[A-Z][A-Za-z]*[A-Z][A-Za-z0-9\-]*|[A-Z]{2,}"
_DEF_AFTER = re.compile(rf"((?:[\w’'\-]+\s+){{1,12}}?)\((?P<acr>{_ACRONYM})\)")
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
            long = _long_form_for(words, m.group("acr"))
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
    canon = Canonicaliser(gazetteer, find_acronyms(b.text for b in tagged))
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
                e.canonical = _strip_name(ent.text)
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
