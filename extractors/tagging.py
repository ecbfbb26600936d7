"""Tagging: a document's blocks in, its entities out, each with one canonical name.

Three parts, in the order a block goes through them:

1. **The gazetteer** (``extractors/data/gazetteer.csv``): names of organisations and operations
   with their acronyms and variants, as spaCy ``entity_ruler`` patterns and for looking names up.
2. **The spaCy pipeline** (:func:`load_nlp`): the statistical model, the gazetteer's ruler first,
   and the project's component ``factsheet_entities`` last, which maps the model's labels to the
   output contract's and makes every span precise.
3. **The document** (:func:`tag_blocks`): acronyms defined in the text, labels of defined names,
   canonical names, and the values of dates and amounts (:mod:`extractors.normalise`).

## The gazetteer

The gazetteer of organisations and operations (``extractors/data/gazetteer.csv``).

Columns ``canonical,label,acronyms,variants``: label is ORG or OPERATION; acronyms and
variants are ``|``-separated and may be empty. Canonical names are spelt as NATO writes them.

Lookup normalises a name: curly apostrophes and every kind of dash are unified, spaces around
a dash dropped ("NATO – EU" == "NATO-EU"), a leading "the" and possessive "'s" dropped, and
surrounding punctuation stripped. Case matters: a name (canonical or variant) matches as
written, title-cased ("Enhanced Forward Presence" for "enhanced Forward Presence") or in
capitals (a heading), never in lower case, so that the generic "International Staff" does not
match the prose "international staff"; acronyms match exactly as written ("EDA", not "eda").

``Gazetteer.patterns()`` gives spaCy EntityRuler phrase patterns (matched on ORTH, so in the
same cases as lookup) for every name and acronym, with the canonical name as id; a name with a
dash or an apostrophe is given with every dash and both apostrophes.

## The spaCy pipeline

The spaCy pipeline: the statistical English model plus the project's own components.

``load_nlp(model)`` builds one ``nlp`` per process and model name:

- ``entity_ruler`` (first): the gazetteer of organisations and operations (phrase patterns,
  ``extractors/data/gazetteer.csv``) and the operation patterns
  (``extractors/data/operation_patterns.jsonl``: "Operation X", "EUFOR X", "NATO Mission X",
  "X Mission in Y"); the model's ``ner`` respects what it set;
- ``tok2vec`` and ``tagger`` of the model: part-of-speech tags for the counted noun of an amount;
- ``ner``: the model's entities (people, places, dates, numbers, other organisations);
- ``factsheet_entities`` (last, ``FactsheetEntities``): maps the model's labels to the project's,
  and makes the spans precise:

  - AMOUNT (``MONEY``, ``CARDINAL``, ``QUANTITY``, ``PERCENT``): widened to the currency, scale
    and qualifier around the number ("US$" + "3" + "m", "more than" + "seventy"); a count
    extended to the noun it counts ("eight aircraft"), or dropped when it counts nothing named
    or refers back ("the two organisations"); ``Span._.counted_noun`` is the unit without its
    adjectives ("up to 700 additional troops" counts "troops");
  - DATE: a qualifying word before it joins it ("since 2014", "until", "by"), and two dates
    joined by "to", "until", a dash, or "and" after "between", become one range;
  - ORG: a role is not an organisation ("NATO Secretary General" keeps "NATO"); a name of an
    exercise or an attack ("exercises such as CMX and Cyber Coalition", "the WannaCry attacks"),
    a bare generic word ("the Alliance") or a name without an organisation word is dropped; a
    "... Mission" or "Operation ..." becomes an OPERATION;
  - PERSON: without role words; no acronyms, operations, exercises; names after a role the
    model missed are added ("the President of the European Commission Jean-Claude Juncker");
  - places: a name of ``places.csv`` is a GPE or LOC whatever the model said ("the Western
    Balkans" is a LOC, "Moldova" a GPE) and is added when the model missed it; a place inside a
    role ("Supreme Allied Commander Europe") is not a mention of that place.

The model's ``parser``, ``attribute_ruler`` and ``lemmatizer`` are not used (``UNUSED_COMPONENTS``):
the rules read the tagger's fine-grained tags (``Token.tag_``), not the dependency parse.
With no statistical model installed the pipeline runs on the rules alone and says so once.

Word lists (``extractors/data``): ``roles.txt``, ``org_keywords.txt``, ``event_nouns.txt``,
``places.csv`` (name,label), and those of ``extractors.amounts`` and ``extractors.dates``.

## The document

Tag a document's blocks with the spaCy pipeline and normalise every entity.

Canonical names: an organisation or operation takes the gazetteer's canonical name; an acronym
defined in the document ("European Defence Agency (EDA)", "SHAPE (Supreme Headquarters Allied
Powers Europe)") takes its long form, looked up in the gazetteer in turn; a surname alone takes
the full name used earlier in the document. Dates become inclusive ISO ranges, amounts a value,
unit and qualifier (``extractors.dates``, ``extractors.amounts``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans

from schemas.records import TEXT_KINDS, Block, Entity, ExtractedDocument
from schemas.settings import DEFAULT_MODEL

from .data import DATA, read_jsonl, read_lines, read_rows
from .normalise import (
    DASHES,
    currency_codes,
    money_extent,
    parse_amount,
    parse_date,
    plain_punctuation,
    prefix_start,
    qualifier_start,
    range_joiners,
    range_openers,
)

# ============================================================================================
# The gazetteer
# ============================================================================================

DEFAULT_PATH = DATA / "gazetteer.csv"
LABELS = ("ORG", "OPERATION")

_EDGE_PUNCT = " \t\n'\".,;:()[]{}"


@dataclass(frozen=True)
class GazetteerEntry:
    canonical: str
    label: str
    acronyms: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The canonical name and its variants (matched as written, title-cased or in capitals)."""
        return (self.canonical, *self.variants)


#: Words left in lower case when a name is title-cased ("Council of the European Union").
SMALL_WORDS = frozenset(["a", "an", "and", "at", "by", "de", "des", "du", "for", "in", "la", "le", "of", "on", "the", "to", "with"])


def title_case(name: str) -> str:
    """``name`` with each word capitalised, small words after the first left alone."""
    words = name.split(" ")
    out = []
    for i, word in enumerate(words):
        if word[:1].islower() and (i == 0 or word not in SMALL_WORDS):
            word = word[0].upper() + word[1:]
        out.append(word)
    return " ".join(out)


def name_forms(name: str) -> tuple[str, ...]:
    """The cases a name matches in: as written, title-cased, in capitals."""
    forms = [name, title_case(name)]
    if sum(c.isalpha() for c in name) > 1:
        forms.append(name.upper())
    return tuple(dict.fromkeys(forms))


def _key(text: str) -> str:
    """A name's lookup key, case kept: quotes, dashes and spacing unified, "the" and "'s" dropped."""
    s = plain_punctuation(text)
    s = re.sub(r"\s*-\s*", "-", s)
    s = " ".join(s.split()).strip(_EDGE_PUNCT)
    s = re.sub(r"^the\s+", "", s, flags=re.IGNORECASE)
    s = re.sub(r"(?<=\w)'s\b", "", s, flags=re.IGNORECASE)
    return " ".join(s.split()).strip(_EDGE_PUNCT)


class Gazetteer:
    """Entries indexed by name (as written, title-cased, in capitals) and acronym (as written)."""

    def __init__(self, entries: Iterable[GazetteerEntry]) -> None:
        self.entries: tuple[GazetteerEntry, ...] = tuple(entries)
        self._names: dict[str, GazetteerEntry] = {}
        self._acronyms: dict[str, GazetteerEntry] = {}
        for entry in self.entries:
            if entry.label not in LABELS:
                raise ValueError(
                    f"gazetteer label must be one of {LABELS}, got {entry.label!r} for {entry.canonical!r}"
                )
            if not entry.canonical.strip():
                raise ValueError(f"gazetteer entry without a canonical name: {entry!r}")
            for name in entry.names:
                self._add(self._names, _key(name), name, entry)
            for acronym in entry.acronyms:
                self._add(self._acronyms, _key(acronym), acronym, entry)
        # derived forms (title case, capitals) never override a name as written
        for entry in self.entries:
            for name in entry.names:
                for form in name_forms(name)[1:]:
                    self._names.setdefault(_key(form), entry)

    @staticmethod
    def _add(index: dict[str, GazetteerEntry], key: str, text: str, entry: GazetteerEntry) -> None:
        if not key:
            raise ValueError(f"gazetteer name {text!r} of {entry.canonical!r} is empty once normalised")
        other = index.get(key)
        if other is not None and other is not entry:
            raise ValueError(f"gazetteer name {text!r} is claimed by both {other.canonical!r} and {entry.canonical!r}")
        index[key] = entry

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[GazetteerEntry]:
        return iter(self.entries)

    def lookup(self, name: str) -> GazetteerEntry | None:
        """The entry a name, variant or acronym refers to, or None."""
        if not isinstance(name, str):
            raise ValueError(f"gazetteer lookup expects a str, got {name!r}")
        key = _key(name)
        if not key:
            return None
        return self._acronyms.get(key) or self._names.get(key)

    def patterns(self) -> list[dict[str, Any]]:
        """EntityRuler phrase patterns ``{"label", "pattern", "id"}`` for every name and acronym."""
        out: list[dict[str, Any]] = []
        seen: set[tuple[str, str, str]] = set()
        for entry in self.entries:
            forms = [f for n in entry.names for f in name_forms(n)] + list(entry.acronyms)
            for form in forms:
                for text in _spellings(form):
                    item = (entry.label, text, entry.canonical)
                    if item not in seen:
                        seen.add(item)
                        out.append({"label": entry.label, "pattern": text, "id": entry.canonical})
        return out


_PRINTED_DASHES = ("-", "\u2013", "\u2014", "\u2011")


def _spellings(text: str) -> list[str]:
    """``text`` with each dash as printed (every kind, with or without spaces) and both apostrophes."""
    base = " ".join(plain_punctuation(text).split())
    forms = [base]
    if re.search(f"[{re.escape(DASHES)}]", base):
        stem = re.sub(rf"\s*[{re.escape(DASHES)}]\s*", "\x00", base)
        forms = [stem.replace("\x00", d) for d in _PRINTED_DASHES] + [stem.replace("\x00", f" {d} ") for d in _PRINTED_DASHES]
    if "'" in base:
        forms += [f.replace("'", "\u2019") for f in forms]
    return list(dict.fromkeys(forms))


def _split(cell: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (cell or "").split("|") if p.strip())


def read_gazetteer(path: Path) -> list[GazetteerEntry]:
    """The entries of a gazetteer CSV, in file order."""
    return [
        GazetteerEntry(
            canonical=row["canonical"],
            label=row["label"],
            acronyms=_split(row.get("acronyms")),
            variants=_split(row.get("variants")),
        )
        for row in read_rows(path.name, path.parent)
    ]


@cache
def _load(path: Path) -> Gazetteer:
    return Gazetteer(read_gazetteer(path))


def load_gazetteer(path: Path | None = None) -> Gazetteer:
    """The gazetteer at ``path`` (default ``extractors/data/gazetteer.csv``), loaded once."""
    return _load(Path(path) if path is not None else DEFAULT_PATH)

# ============================================================================================
# The spaCy pipeline
# ============================================================================================

log = logging.getLogger(__name__)

#: Components of the statistical model the project does not use.
UNUSED_COMPONENTS = ("lemmatizer", "parser", "attribute_ruler", "senter")

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
#: Model labels a name of ``places.csv`` overrides (a place the model called something else).
PLACE_OVERRIDES = ("ORG", "PERSON", "NORP", "GPE", "LOC", "FAC")
#: A count after one of these refers back to things already named: not an amount.
DEFINITE = frozenset({"the", "these", "those", "both", "its", "their", "our", "his", "her", "each", "every"})
#: Tags (Penn Treebank) of the words of a counted noun phrase, and of the adjectives dropped from its unit.
NOUN_TAGS = frozenset({"NN", "NNS", "NNP", "NNPS"})
MODIFIER_TAGS = frozenset({"JJ", "JJR", "JJS", "VBN", "VBG"})
NAME_PARTICLES = frozenset({"von", "van", "der", "den", "de", "da", "di", "del", "della", "du", "la", "le", "bin", "al", "ter"})
#: Tokens that may sit between names in a list: "exercises such as CMX and Cyber Coalition".
_LIST_GLUE = frozenset({",", "and", "or", "such", "as", "including", "like", "the", "a", "an", "e.g.", ":", "’s", "'s"})

#: spaCy pipelines are not safe to call from several threads at once; tasks share one.
NLP_LOCK = threading.Lock()


# --- data -------------------------------------------------------------------------------------


def read_places(path: Path) -> dict[str, str]:
    """name -> GPE or LOC, from a ``name,label`` CSV."""
    rows = {row["name"]: row["label"] for row in read_rows(path.name, path.parent) if row["name"]}
    bad = {n: lab for n, lab in rows.items() if lab not in ("GPE", "LOC")}
    if bad:
        raise ValueError(f"{path}: place labels must be GPE or LOC, got {bad}")
    return rows


# --- the pipeline -------------------------------------------------------------------------------

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
    # first: its patterns read only the text, and adding them then needs only the tokenizer
    ruler = nlp.add_pipe("entity_ruler", first=True, config={"overwrite_ents": False, "validate": True})
    patterns = load_gazetteer().patterns() + read_jsonl("operation_patterns.jsonl")
    if "ner" not in nlp.pipe_names:
        patterns += read_jsonl("rule_patterns.jsonl")
    ruler.add_patterns(patterns)  # type: ignore[attr-defined]
    nlp.add_pipe("factsheet_entities", last=True)
    return nlp


def is_rules_only(nlp: Language) -> bool:
    return "ner" not in nlp.pipe_names


# --- Span._.counted_noun --------------------------------------------------------------------------


def counted_noun(span: Span) -> str | None:
    """The noun an AMOUNT span counts, without its adjectives: "up to 700 additional troops" ->
    "troops", "30 NATO Allies" -> "NATO Allies"; None when there is none or no tags to tell."""
    doc = span.doc
    if not doc.has_annotation("TAG"):
        return None
    last = max((t.i for t in span if t.like_num), default=None)
    if last is None:
        return None
    words = [t for t in doc[last + 1 : span.end] if t.is_alpha or t.text in "-\u2010\u2011"]
    while words and words[0].tag_ in MODIFIER_TAGS and len(words) > 1 and words[1].text not in "-\u2010\u2011":
        words = words[1:]
    if not words or words[-1].tag_ not in NOUN_TAGS:
        return None
    return doc[words[0].i : words[-1].i + 1].text


if not Span.has_extension("counted_noun"):
    Span.set_extension("counted_noun", getter=counted_noun)


# --- the component ------------------------------------------------------------------------------


def make_factsheet_entities(nlp: Language, name: str, data_dir: str | None) -> FactsheetEntities:
    """The ``factsheet_entities`` factory, registered as a ``spacy_factories`` entry point in
    ``pyproject.toml``: a pipeline saved with ``nlp.to_disk()`` loads with ``spacy.load()`` in any
    process where factsheets is installed, its word lists travelling with it."""
    return FactsheetEntities(nlp, Path(data_dir) if data_dir else DATA)


if not Language.has_factory("factsheet_entities"):
    Language.factory("factsheet_entities", default_config={"data_dir": None})(make_factsheet_entities)


class FactsheetEntities:
    """Maps the model's labels to the output contract's and makes every span precise (see the
    module's docstring). Its word lists are saved with the pipeline (:meth:`to_disk`)."""

    #: The data files the component reads; saved beside the pipeline by :meth:`to_disk`.
    FILES = ("roles.txt", "places.csv", "org_keywords.txt", "event_nouns.txt")

    def __init__(self, nlp: Language, data: Path = DATA) -> None:
        self.vocab = nlp.vocab
        self.tokenizer = nlp.tokenizer
        self._load(data)

    def _load(self, data: Path) -> None:
        self.data = data
        self.roles = PhraseMatcher(self.vocab)
        self.roles.add("ROLE", [self._doc(r) for r in read_lines("roles.txt", data)])
        self.places = read_places(data / "places.csv")
        self.place_matcher = PhraseMatcher(self.vocab)
        for label in ("GPE", "LOC"):
            self.place_matcher.add(label, [self._doc(n) for n, lab in self.places.items() if lab == label])
        self.org_keywords = frozenset(w.lower() for w in read_lines("org_keywords.txt", data))
        self.event_nouns = frozenset(w.lower() for w in read_lines("event_nouns.txt", data))

    def _doc(self, text: str) -> Doc:
        return self.tokenizer(text)

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for name in self.FILES:
            shutil.copyfile(self.data / name, path / name)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> FactsheetEntities:
        self._load(Path(path))
        return self

    def __call__(self, doc: Doc) -> Doc:
        roles = self._roles(doc)
        role_tokens = {i for s, e in roles.items() for i in range(s, e)}
        model_tokens = {i for ent in doc.ents for i in range(ent.start, ent.end)}
        kept: list[Span] = []
        taken: set[int] = set()
        ents = self._split_amounts(doc, self._merge_date_ranges(doc, list(doc.ents)))
        for ent in ents:
            span = self._entity(doc, ent, roles, role_tokens)
            if span is None or len(span) == 0:
                continue
            clash = [k for k in kept if k.start < span.end and span.start < k.end]
            if clash and span.label_ in ("AMOUNT", "DATE") and all(
                not k.id_ and span.start <= k.start and k.end <= span.end for k in clash
            ):
                # "CHF" tagged ORG by the model is the currency of "CHF 10 million"
                kept = [k for k in kept if k not in clash]
                taken.difference_update(i for k in clash for i in range(k.start, k.end))
            elif clash:
                continue
            kept.append(span)
            taken.update(range(span.start, span.end))
        kept.extend(self._people_after_roles(doc, roles, taken))
        kept.extend(self._missed_money(doc, taken))
        kept.extend(self._missed_places(doc, taken | model_tokens | role_tokens))
        set_entities(doc, kept)
        return doc

    # --- per label ---

    def _entity(self, doc: Doc, ent: Span, roles: dict[int, int], role_tokens: set[int]) -> Span | None:
        source = ent.label_
        span: Span | None
        from_ruler = bool(ent.ent_id_) and source in ("ORG", "OPERATION")
        if not from_ruler and source in PLACE_OVERRIDES:
            span = _strip_the(doc, ent)
            place = self.places.get(span.text)
            if place and not all(i in role_tokens for i in range(span.start, span.end)):
                return Span(doc, span.start, span.end, label=place)
        label = LABEL_MAP.get(source)
        if label is None:
            return None
        if from_ruler:
            span = self._operation(doc, ent, roles) if label == "OPERATION" else _strip_the(doc, ent)
            if span is None or len(span) == 0:
                return None
            new = Span(doc, span.start, span.end, label=label)
            new.id_ = ent.ent_id_
            return new
        if label == "AMOUNT":
            span = self._amount(doc, ent)
        elif label == "DATE":
            span = self._date(doc, ent)
        elif label == "ORG":
            span, label = self._org(doc, ent, roles)
        elif label == "PERSON":
            span = self._person(doc, ent, roles)
        else:  # GPE, LOC
            span = _strip_the(doc, ent)
            if all(i in role_tokens for i in range(span.start, span.end)):
                return None  # "Europe" in "Supreme Allied Commander Europe"
        if span is None or len(span) == 0:
            return None
        return Span(doc, span.start, span.end, label=label)

    def _operation(self, doc: Doc, ent: Span, roles: dict[int, int]) -> Span | None:
        """A ruler's operation without a role after it ("Operation X Commander")."""
        span = _strip_the(doc, ent)
        end = span.end
        for i in range(span.start + 1, span.end):
            if _role_len(roles, i, span.end):
                end = i
                break
        return doc[span.start : end]

    def _amount(self, doc: Doc, ent: Span) -> Span | None:
        start, end = money_extent(doc.text, ent.start_char, ent.end_char)
        start = qualifier_start(doc.text, start)
        span = doc.char_span(start, end, alignment_mode="expand")
        if span is None:
            return None
        if ent.label_ != "CARDINAL" or _has_unit(span.text):
            return span  # money, percent, a quantity with its unit
        if span.start > 0 and doc[span.start - 1].lower_ in DEFINITE:
            return None  # "the two organisations" refers back; it counts nothing new
        stop = self._noun_end(doc, span.end)
        if stop is None:
            return None  # a bare number counts nothing named
        return doc[span.start : stop]

    @staticmethod
    def _noun_end(doc: Doc, i: int) -> int | None:
        """End of the noun phrase a number at ``i`` counts: adjectives then nouns ("eight
        multinational battlegroups", "30 NATO Allies"); None if no noun follows."""
        tagged = doc.has_annotation("TAG")
        end = None
        j = i
        while j < len(doc) and j - i < 6:
            tok = doc[j]
            if tok.ent_type_ and tok.ent_type_ not in ("NORP", "ORG") or not (tok.is_alpha or _inner_hyphen(doc, j)):
                break
            if tagged:
                if tok.tag_ in NOUN_TAGS:
                    end = j + 1
                elif tok.tag_ not in MODIFIER_TAGS and not _inner_hyphen(doc, j):
                    break
            else:  # no tagger: one word that is not a function word
                if tok.is_stop:
                    break
                end = j + 1
                break
            j += 1
        return end

    def _date(self, doc: Doc, ent: Span) -> Span | None:
        span = _strip_the(doc, ent)
        if len(span) == 0:
            return None
        start = prefix_start(doc.text, span.start_char)
        if start < span.start_char:
            wider = doc.char_span(start, span.end_char, alignment_mode="expand")
            if wider is not None:
                return wider
        return span

    @staticmethod
    def _merge_date_ranges(doc: Doc, ents: list[Span]) -> list[Span]:
        """Two dates joined by "to", "until" or a dash, or by "and" after "between", as one."""
        out: list[Span] = []
        i = 0
        while i < len(ents):
            a = ents[i]
            if a.label_ == "DATE" and i + 1 < len(ents) and ents[i + 1].label_ == "DATE":
                b = ents[i + 1]
                gap = doc[a.end : b.start]
                opener = a[0].lower_ in range_openers()
                if not opener and a.start > 0 and doc[a.start - 1].lower_ in range_openers():
                    opener = True
                    a = doc[a.start - 1 : a.end]
                joins = gap[0].lower_ in range_joiners() or gap[0].text in DASHES if len(gap) == 1 else False
                if joins and (gap[0].lower_ != "and" or opener):
                    out.append(Span(doc, a.start, b.end, label="DATE"))
                    i += 2
                    continue
            out.append(ents[i])
            i += 1
        return out

    @staticmethod
    def _split_amounts(doc: Doc, ents: list[Span]) -> list[Span]:
        """A model's number span holding two amounts ("€2.5 million and $ 3") as two."""
        out: list[Span] = []
        for ent in ents:
            if ent.label_ not in ("MONEY", "CARDINAL", "QUANTITY", "PERCENT"):
                out.append(ent)
                continue
            start = ent.start
            for tok in ent:
                if tok.lower_ in ("and", "or", ",") and start < tok.i < ent.end - 1:
                    left, right = doc[start : tok.i], doc[tok.i + 1 : ent.end]
                    if any(c.isdigit() for c in left.text) and any(c.isdigit() for c in right.text):
                        out.append(Span(doc, start, tok.i, label=ent.label_))
                        start = tok.i + 1
            out.append(Span(doc, start, ent.end, label=ent.label_) if start > ent.start else ent)
        return out

    def _org(self, doc: Doc, ent: Span, roles: dict[int, int]) -> tuple[Span | None, str]:
        span = _strip_the(doc, ent)
        # "European Commission NATO’s": a possessive ends the name
        for tok in span:
            if tok.text in ("’s", "'s") and tok.i > span.start:
                span = doc[span.start : tok.i]
                break
        # "NATO Secretary General" is a role of NATO, not an ORG
        for i in range(span.start, span.end):
            if _role_len(roles, i, span.end):
                span = doc[span.start : i]
                break
        if len(span) == 0 or self._is_event_name(doc, span):
            return None, "ORG"
        words = [t.lower_ for t in span if t.is_alpha]
        if any(t.text == "Mission" for t in span) or span[0].text == "Operation" and len(span) > 1:
            return span, "OPERATION"
        if words and all(w in self.org_keywords for w in words):
            return None, "ORG"  # "the Alliance", "the Council": a generic word, not a name
        if set(words) & self.org_keywords:
            return span, "ORG"
        if len(span) == 1 and span.text.isupper() and len(span.text) >= 2:
            return span, "ORG"  # an acronym: kept for definition lookup, dropped later if undefined
        return None, "ORG"

    def _person(self, doc: Doc, ent: Span, roles: dict[int, int]) -> Span | None:
        span = _strip_the(doc, ent)
        # "Ursula von der" + "Leyen": a name cut after its particles takes the following name word
        end = span.end
        while end < len(doc) and doc[end - 1].lower_ in NAME_PARTICLES and doc[end].is_title:
            end += 1
        start = span.start
        while start < end and (n := _role_len(roles, start, end)):
            start += n
        span = doc[start:end]
        if len(span) == 0 or self._is_event_name(doc, span):
            return None
        if any(t.ent_type_ in ("ORG", "OPERATION") and t.ent_id_ for t in span):
            return None
        first = span[0].text
        if first in {"Operation", "Mission", "Exercise"} or any(t.text in ("Operation", "Mission") for t in span):
            return None
        if (first.isupper() and len(first) >= 2) or any(t.like_num for t in span):
            return None  # "EUTM Mali", "EUMPM Niger": acronyms are not people
        return span

    # --- context ---

    def _roles(self, doc: Doc) -> dict[int, int]:
        """Role phrases of ``doc``: start token -> end token, longest first."""
        return {s.start: s.end for s in filter_spans([doc[s:e] for _, s, e in self.roles(doc)])}

    def _is_event_name(self, doc: Doc, span: Span) -> bool:
        """A name of an exercise or an attack, not of a body or a person."""
        # right: "the WannaCry and NotPetya attacks", "CYBRID, an EU hybrid exercise"
        j = span.end
        while j < len(doc) and j - span.end < 8:
            tok = doc[j]
            if tok.lower_ in self.event_nouns:
                return True
            if tok.lower_ in _LIST_GLUE or tok.is_title or tok.is_upper or tok.tag_ in MODIFIER_TAGS:
                j += 1
                continue
            break
        # left: "exercises such as CMX and Cyber Coalition", "Exercise Trident Juncture"
        j = span.start - 1
        while j >= 0 and span.start - j <= 8:
            tok = doc[j]
            if tok.lower_ in self.event_nouns:
                return True
            if tok.lower_ in _LIST_GLUE or tok.ent_type_ or tok.is_title or tok.is_upper:
                j -= 1
                continue
            break
        return False

    def _people_after_roles(self, doc: Doc, roles: dict[int, int], taken: set[int]) -> list[Span]:
        """Names the model missed right after a role: "the President of the European Commission
        Jean-Claude Juncker", "Secretary General Jens Stoltenberg"."""
        out: list[Span] = []
        for i, stop in sorted(roles.items()):
            if not doc[i].is_title:
                continue
            j = stop
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
            if j < len(doc) and doc[j].text == ",":
                j += 1  # "the Chair of the Military Committee, Admiral Rob Bauer"
                if (n := _role_len(roles, j, len(doc))) and doc[j].is_title:
                    j += n
            end = j
            while end < len(doc) and end not in taken and not doc[end].ent_type_:
                tok = doc[end]
                if tok.is_title and not _role_len(roles, end, len(doc)) or tok.text in ("-", "\u2011") and end > j and end + 1 < len(doc) and doc[end + 1].is_title or tok.lower_ in NAME_PARTICLES and end > j and end + 1 < len(doc) and doc[end + 1].is_title:
                    end += 1
                else:
                    break
            if end - j >= 2 and not any(k in taken for k in range(j, end)):
                out.append(Span(doc, j, end, label="PERSON"))
                taken.update(range(j, end))
        return out

    @staticmethod
    def _missed_money(doc: Doc, taken: set[int]) -> list[Span]:
        """Numbers the model did not tag that carry a currency or a percent sign ("CHF 10
        million and 1.5 billion euros")."""
        out: list[Span] = []
        for tok in doc:
            if tok.i in taken or not tok.like_num or not any(c.isdigit() for c in tok.text):
                continue
            start, end = money_extent(doc.text, tok.idx, tok.idx + len(tok.text))
            span = doc.char_span(qualifier_start(doc.text, start), end, alignment_mode="expand")
            if span is None or any(i in taken for i in range(span.start, span.end)) or not _has_unit(span.text):
                continue
            out.append(Span(doc, span.start, span.end, label="AMOUNT"))
            taken.update(range(span.start, span.end))
        return out

    def _missed_places(self, doc: Doc, blocked: set[int]) -> list[Span]:
        """Names of ``places.csv`` the model did not tag, standing alone (not part of a longer
        name such as "Brussels Summit")."""
        matches = [Span(doc, s, e, label=m) for m, s, e in self.place_matcher(doc)]
        out = []
        for span in filter_spans(matches):
            if any(i in blocked for i in range(span.start, span.end)):
                continue
            if span.end < len(doc) and doc[span.end].is_title:
                continue
            if _inner_hyphen(doc, span.start - 1) or span.end < len(doc) and _inner_hyphen(doc, span.end):
                continue  # "Euro-Atlantic": part of a word
            prev = doc[span.start - 1] if span.start > 0 else None
            if prev is not None and prev.is_title and span.start > 1 and not doc[span.start - 2].is_punct:
                continue
            out.append(span)
        return out


# --- helpers ----------------------------------------------------------------------------------------


def set_entities(doc: Doc, spans: list[Span]) -> None:
    """``doc.ents = spans``, with each token's entity id taken from its span only: spaCy v3
    keeps a token's old id when the new span has none, so a span re-made around a gazetteer
    match ("NATO" in "NATO Special Operations Headquarters") would inherit that match's id."""
    for tok in doc:
        tok.ent_id = 0
    doc.ents = sorted(spans, key=lambda s: s.start)


def _role_len(roles: dict[int, int], i: int, end: int) -> int:
    """Length of a role phrase starting at token ``i`` and ending by ``end`` (0 if none)."""
    stop = roles.get(i)
    return stop - i if stop is not None and stop <= end else 0


def _strip_the(doc: Doc, span: Span) -> Span:
    start, end = span.start, span.end
    while start < end and doc[start].lower_ in {"the", "•"}:
        start += 1
    while end > start and doc[end - 1].text in {"’s", "'s", "’", "'"}:
        end -= 1
    return doc[start:end]


def _inner_hyphen(doc: Doc, i: int) -> bool:
    """A hyphen inside a word ("follow-on")."""
    if not 0 <= i < len(doc):
        return False
    tok: Token = doc[i]
    return tok.text in ("-", "\u2010", "\u2011") and i > 0 and not doc[i - 1].whitespace_ and not tok.whitespace_


def _has_unit(text: str) -> bool:
    """Whether an amount's text names a currency or percent (its unit is not a counted noun)."""
    amount = parse_amount(text)
    return amount is not None and amount.unit is not None and (amount.unit in currency_codes() or amount.unit == "percent")

# ============================================================================================
# The document
# ============================================================================================

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
    tagged = [b for b in blocks if b.kind in TEXT_KINDS]
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
