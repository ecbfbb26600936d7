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
``places.csv`` (name,label,canonical), and those of ``extractors.normalise`` (amounts, dates).

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
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
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

from schemas.records import FACT_LABELS, TEXT_KINDS, Block, Entity, ExtractedDocument, Fact
from schemas.settings import DEFAULT_MODEL

from .data import DATA, read_jsonl, read_lines, read_rows
from .normalise import (
    DASHES,
    HYPHENS,
    currency_codes,
    format_value,
    money_extent,
    month_number,
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
NAME_PARTICLES = frozenset({"von", "van", "der", "den", "de", "da", "di", "del", "della", "du", "la", "le", "bin", "al", "el", "ter"})
#: Tokens that may sit between names in a list: "exercises such as CMX and Cyber Coalition".
_LIST_GLUE = frozenset({",", "and", "or", "such", "as", "including", "like", "the", "a", "an", "e.g.", ":", "’s", "'s"})

#: spaCy pipelines are not safe to call from several threads at once; tasks share one.
NLP_LOCK = threading.Lock()


# --- data -------------------------------------------------------------------------------------


def read_place_names(path: Path) -> dict[str, str]:
    """name -> the place's usual name, for the names of a ``name,label,canonical`` CSV that
    have one ("US" -> "United States")."""
    return {row["name"]: row["canonical"] for row in read_rows(path.name, path.parent) if row["name"] and row.get("canonical")}


def read_places(path: Path) -> dict[str, str]:
    """name -> GPE or LOC, from a ``name,label[,canonical]`` CSV."""
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
    words = [t for t in doc[last + 1 : span.end] if t.is_alpha or t.text in HYPHENS]
    while len(words) > 1:
        if words[0].tag_ in MODIFIER_TAGS and words[1].text not in HYPHENS:
            words = words[1:]  # "additional troops"
        elif len(words) > 3 and words[1].text in HYPHENS and words[3].text not in HYPHENS:
            words = words[3:]  # a hyphenated compound before a noun: "battalion-size battlegroups", "UN-mandated troops"
        else:
            break
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
    FILES = ("roles.txt", "places.csv", "org_keywords.txt", "event_nouns.txt", "facility_nouns.txt",
             "group_cues.txt", "ship_prefixes.txt", "vessel_nouns.txt", "qualifiers.csv")

    def __init__(self, nlp: Language, data: Path = DATA) -> None:
        self.vocab = nlp.vocab
        self.tokenizer = nlp.tokenizer
        self._load(data)

    def _load(self, data: Path) -> None:
        self.data = data
        self.roles = PhraseMatcher(self.vocab)
        self.roles.add("ROLE", [self._doc(r) for r in read_lines("roles.txt", data)])
        self.places = read_places(data / "places.csv")
        self.place_names = read_place_names(data / "places.csv")
        self.place_matcher = PhraseMatcher(self.vocab)
        for label in ("GPE", "LOC"):
            self.place_matcher.add(label, [self._doc(n) for n, lab in self.places.items() if lab == label])
        self.org_keywords = frozenset(w.lower() for w in read_lines("org_keywords.txt", data))
        self.event_nouns = frozenset(w.lower() for w in read_lines("event_nouns.txt", data))
        self.facilities = tuple(tuple(w.lower().split()) for w in read_lines("facility_nouns.txt", data))
        cues = read_rows("group_cues.txt", data)
        self.cue_qualifiers = frozenset(r["word"] for r in cues if r["kind"] == "qualifier")
        self.cue_nouns = frozenset(r["word"] for r in cues if r["kind"] == "noun")
        self.ship_prefixes = frozenset(read_lines("ship_prefixes.txt", data))
        self.vessel_nouns = frozenset(w.lower() for w in read_lines("vessel_nouns.txt", data))
        self.qualifier_words = frozenset(w for r in read_rows("qualifiers.csv", data) for w in r["text"].lower().split())

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
        names = dict(self._name_runs(doc, connectors=False))  # start -> end of each run of name words
        kept = self._structure(doc, kept, roles, role_tokens, names)
        taken = {i for k in kept for i in range(k.start, k.end)}
        kept.extend(self._people_after_roles(doc, roles, taken))
        kept.extend(self._missed_money(doc, taken))
        kept.extend(self._missed_years(doc, taken))
        kept.extend(self._missed_places(doc, taken | model_tokens | role_tokens))
        ships = self._ships(doc, names)
        kept = [k for k in kept if not any(a < k.end and k.start < b for a, b in ships)]
        kept = self._listed_places(doc, kept)
        set_entities(doc, kept)
        return doc

    # --- places listed together -------------------------------------------------------------------

    def _list_items(self, doc: Doc) -> list[list[tuple[int, int]]]:
        """Lists of names: "A, B, C and D", "A/B", each name a run of title-case words, a
        hyphenated particle inside it ("Mazar-e Sharif", "Mazar-i-Sharif") included."""
        groups: list[list[tuple[int, int]]] = []
        items: list[tuple[int, int]] = []
        i, n = 0, len(doc)
        while i < n:
            if not (doc[i].is_title and doc[i].is_alpha) or doc[i].is_stop:
                if items and doc[i].text not in (",", "/", "and", "or"):
                    groups.append(items)
                    items = []
                i += 1
                continue
            start = i
            i += 1
            while i < n:
                if doc[i].is_title and doc[i].is_alpha and not doc[i].is_stop:
                    i += 1
                elif doc[i].text in HYPHENS and i + 1 < n and doc[i + 1].is_title:
                    i += 2  # "Al-Anbar"
                elif (doc[i].text in HYPHENS and i + 2 < n and doc[i + 1].is_lower and len(doc[i + 1]) <= 3
                      and (doc[i + 2].is_title or doc[i + 2].text in HYPHENS and i + 3 < n and doc[i + 3].is_title)):
                    i += 3 if doc[i + 2].is_title else 4  # "Mazar-e Sharif", "Mazar-i-Sharif"
                else:
                    break
            before = doc[start - 1].text if start else ""
            if items and before not in (",", "/", "and", "or"):
                groups.append(items)
                items = []
            items.append((start, i))
        if items:
            groups.append(items)
        return [g for g in groups if len(g) >= 2]

    def _listed_places(self, doc: Doc, kept: list[Span]) -> list[Span]:
        """Names listed with places are places of the same kind: in "four spokes in Mazar-e
        Sharif, Herat, Kandahar and Laghman" the name the model missed ("Herat"), the one it
        split ("Mazar-e Sharif") and the one it called a LOC among GPEs are places like their
        neighbours. A list is taken when at least two of its names are places and none is
        another kind of entity; a name of ``places.csv`` keeps its own label. After a locative
        preposition, a list whose first name is a place is one of places whatever the model
        made of its other one-word names ("in Bamako, Gao, Timbuktu and Kidal": "Gao" is no
        person there)."""
        out = list(kept)
        for items in self._list_items(doc):
            first = items[0][0]
            after_locative = first > 0 and doc[first - 1].lower_ in _LOCATIVE  # "(in Kabul/Bagram)"
            labels: list[str | None] = []
            guessed_people = 0
            for start, end in items:
                inside = [k for k in out if k.start < end and start < k.end]
                people = [k for k in inside if k.label_ == "PERSON" and start <= k.start and k.end <= end and len(k) == 1]
                if any(k.start < start or k.end > end or k.label_ not in ("GPE", "LOC") for k in inside if k not in people):
                    labels = []
                    break  # another kind of entity, or a name reaching out of the item
                guessed_people += bool(people)
                known = self.places.get(doc[start:end].text)
                places = [k for k in inside if k not in people]
                labels.append(known or ("GPE" if any(k.label_ == "GPE" for k in places) else "LOC" if places else None))
            votes = Counter(label for label in labels if label)
            led = after_locative and bool(labels) and labels[0] is not None
            if guessed_people and not led:
                continue  # one-word "people" give way only in a list of places after "in", "at", "from" ...
            if not votes or sum(votes.values()) < (1 if after_locative else 2) or (len(labels) > 2 * sum(votes.values()) and not led):
                continue
            if any(month_number(doc[start].text) for start, _ in items):
                continue  # "in February and March": dates, not places
            group = "LOC" if votes["LOC"] > votes["GPE"] else "GPE"
            for start, end in items:
                known = self.places.get(doc[start:end].text)
                out = [k for k in out if not (k.start < end and start < k.end)]
                out.append(Span(doc, start, end, label=known or group))
        return sorted(out, key=lambda k: k.start)

    # --- structure: names recognised by their shape, whatever the model said ----------------------

    def _structure(self, doc: Doc, kept: list[Span], roles: dict[int, int], role_tokens: set[int], names: dict[int, int]) -> list[Span]:
        """Names recognised by structure replace what the model made of their words: a name with
        an organisation's head noun ("NATO Maritime Centre for Security of Critical Undersea
        Infrastructure", "Combined Task Force 150"), a facility ("Camp Marmal"), a name an
        apposition calls a group ("the armed group M23"), an office named by a possessive ("the
        Prime Minister's Office"), the second operation of "Operation A and B". A gazetteer or
        pattern match is only replaced by a longer name that contains it."""
        found = self._named_bodies(doc, role_tokens) + self._cued_groups(doc, names) + self._possessive_offices(doc, roles, names)
        found += self._conjoined_operations(doc, kept, names)
        for span in sorted(found, key=lambda x: (-(x.end - x.start), x.start)):
            clash = [k for k in kept if k.start < span.end and span.start < k.end]
            if any((k.start, k.end) == (span.start, span.end) and k.id_ for k in clash):
                continue  # the gazetteer's own name: its label and canonical stand
            inside = all(span.start <= k.start and k.end <= span.end for k in clash)
            if any(k.id_ for k in clash) and not inside:
                continue  # crosses a gazetteer name
            if not inside and any(k.end - k.start >= span.end - span.start for k in clash):
                continue
            kept = [k for k in kept if k not in clash] + [span]
        return sorted(kept, key=lambda k: k.start)

    @staticmethod
    def _name_token(tok: Token) -> bool:
        """A word that can be part of a proper name: capitalised or an acronym ("NATO", "M23")."""
        t = tok.text
        return bool(t) and t[0].isupper() and any(c.isalpha() for c in t)

    def _name_runs(self, doc: Doc, connectors: bool = True) -> list[tuple[int, int]]:
        """Maximal runs of name words, joined by inner hyphens ("Euro-Atlantic") and, inside a
        complement, by small words ("Centre for Security of Critical Undersea Infrastructure",
        "Science for Peace and Security Programme"); a number right after a head noun belongs to
        the name ("Standing NATO Maritime Group 2")."""
        runs: list[tuple[int, int]] = []
        i = 0
        n = len(doc)
        while i < n:
            if doc[i].lower_ in NAME_PARTICLES and _inner_hyphen(doc, i + 1) and i + 2 < n and self._name_token(doc[i + 2]):
                start, j, complement = i, i + 3, False  # "al-Shabaab"
            elif not self._name_token(doc[i]):
                i += 1
                continue
            else:
                start, j, complement = i, i + 1, False
            while j < n:
                tok = doc[j]
                if self._name_token(tok):
                    j += 1
                elif _inner_hyphen(doc, j) and j + 1 < n and self._name_token(doc[j + 1]):
                    j += 2
                elif tok.like_num and doc[j - 1].lower_ in self.org_keywords:
                    j += 1  # "Combined Task Force 150"
                    break
                elif connectors and tok.lower_ in ("of", "for", "on", "and", "&", "de", "des", "du") and j + 1 < n:
                    k = j + 1
                    if doc[k].lower_ == "the" and k + 1 < n:
                        k += 1
                    if not self._name_token(doc[k]) or doc[k].ent_id_ and tok.lower_ == "and":
                        break
                    if tok.lower_ in ("and", "&") and not complement:
                        break  # "the European Union and NATO": two names
                    complement = complement or tok.lower_ in ("of", "for", "on")
                    j = k
                else:
                    break
            runs.append((start, j))
            i = j
        return runs

    def _title_case_block(self, doc: Doc) -> bool:
        """A heading set in Title Case ("NATO's Relations With The European Union"): no content
        word in lower case, so capitals say nothing of where names are."""
        words = [t for t in doc if t.is_alpha]
        return len(words) >= 3 and not any(t.is_lower and len(t) > 3 for t in words)

    def _facility(self, words: Sequence[str]) -> bool:
        low = [w.lower() for w in words]
        return low[0] == "camp" and len(low) > 1 or any(len(low) > len(f) and tuple(low[-len(f):]) == f for f in self.facilities)

    def _named_bodies(self, doc: Doc, role_tokens: set[int]) -> list[Span]:
        if self._title_case_block(doc):
            return []
        out = []
        for start, end in self._name_runs(doc):
            first = start
            # a run begins after its leading function words ("In", "The") and roles
            while start < end and (doc[start].is_stop or start in role_tokens):
                start += 1
            connector = next((i for i in range(start, end) if doc[i].lower_ in ("of", "for", "on")), None)
            if (
                start == first and connector is not None and (first == 0 or doc[first - 1].text in ".!?;:•")
                and not any(doc[i].lower_ in self.org_keywords for i in range(start, connector))
            ):
                # "Ships of Task Force 62": a sentence's first word is capitalised anyway
                start = connector + 1 + (doc[connector + 1].lower_ == "the")
            while end > start and (end - 1 in role_tokens or doc[end - 1].is_stop):
                end -= 1
            if end - start < 2 or any(i in role_tokens for i in range(start, end)):
                continue
            if _described(doc, start):
                continue  # "a Distinctive Partnership": a description, not a name
            words = [t.text for t in doc[start:end] if t.is_alpha]
            if not words or any(w in ("Operation", "Operations", "Mission") for w in words):
                continue  # operations have their own patterns
            if self._facility(words):
                out.append(Span(doc, start, end, label="LOC"))
                continue
            heads = [i for i in range(start, end) if doc[i].lower_ in self.org_keywords]
            if not heads:
                continue
            # the name ends at its last head noun, or after a number or a complement that follows
            # it ("Force 150", "Centre for Security of …"); other words are another name
            # ("European Commission Jean-Claude Juncker")
            after = heads[-1] + 1
            if after < end and not (doc[after].like_num or doc[after].lower_ in ("of", "for", "on")):
                end = after
            if end - start < 2:
                continue
            words = [t.text for t in doc[start:end] if t.is_alpha]
            low = [w.lower() for w in words]
            if set(low) & self.event_nouns:
                continue
            if all(w in self.org_keywords or w in SMALL_WORDS for w in low):
                continue  # "Allied Command": generic words only
            span = doc[start:end]
            if self._is_event_name(doc, span):
                continue
            out.append(Span(doc, start, end, label="ORG"))
        return out

    def _cued_groups(self, doc: Doc, runs: dict[int, int]) -> list[Span]:
        """Names an apposition calls a group: "the armed group M23", "the terrorist
        organisation Islamic State", "Al-Shabaab, an armed group"."""
        out = []
        ends = {e: s for s, e in runs.items()}
        for i, tok in enumerate(doc):
            if tok.lower_ not in self.cue_nouns or i == 0 or doc[i - 1].lower_ not in self.cue_qualifiers:
                continue
            j = i + 1
            if j in runs:  # "the armed group M23"
                out.append(Span(doc, j, runs[j], label="ORG"))
            k = i - 2  # "M23, an armed group": back over "an"/"the" and the comma
            while k >= 0 and doc[k].lower_ in ("a", "an", "the", "one", "another"):
                k -= 1
            if k >= 1 and doc[k].text == "," and k in ends:
                out.append(Span(doc, ends[k], k, label="ORG"))
        return out

    def _possessive_offices(self, doc: Doc, roles: dict[int, int], runs: dict[int, int]) -> list[Span]:
        """An office named by a possessive of a role: "the Prime Minister's Office", "the
        President's Delivery Unit"."""
        out = []
        for start, stop in roles.items():
            if stop < len(doc) and doc[stop].text in ("'s", "’s") and stop + 1 in runs:
                end = runs[stop + 1]
                if doc[end - 1].lower_ in self.org_keywords:
                    out.append(Span(doc, start, end, label="ORG"))
        return out

    def _conjoined_operations(self, doc: Doc, kept: list[Span], runs: dict[int, int]) -> list[Span]:
        """The names after "Operation A" joined by "and" or commas are operations too:
        "Operation Ocean Shield and Atalanta", "Operations Sea Guardian and Active Endeavour"."""
        out = []
        for k in kept:
            if k.label_ != "OPERATION" or doc[k.start].text not in ("Operation", "Operations"):
                continue
            j = k.end
            while j + 1 < len(doc) and doc[j].lower_ in (",", "and") and j + 1 in runs:
                if doc[j + 1].text in ("Operation", "Operations"):
                    break
                end = runs[j + 1]
                span = Span(doc, j + 1, end, label="OPERATION")
                span.id_ = "Operation " + span.text
                out.append(span)
                j = end
        return out

    def _ships(self, doc: Doc, runs: dict[int, int]) -> list[tuple[int, int]]:
        """Token ranges naming ships: after a navy's prefix ("HNLMS Tromp") or a kind of ship
        ("the frigate Karel Doorman", "the Wielingen-class frigate Louise-Marie"). No label of
        the contract fits a ship: whatever the model called it is dropped."""
        out = []
        for i, tok in enumerate(doc):
            if tok.text in self.ship_prefixes and i + 1 in runs:
                out.append((i, runs[i + 1]))
            elif tok.lower_.rstrip("s") in self.vessel_nouns and i + 1 in runs and tok.is_lower:
                end = runs[i + 1]
                if doc[i + 1].text in self.ship_prefixes:
                    continue  # the prefix case above
                out.append((i + 1, end))
        return out

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
        if not from_ruler:
            ent = _before_spaced_dash(doc, ent)  # "Cape Verde Islands - Amphibious": a title, then a caption
            if len(ent) == 0:
                return None
        if from_ruler:
            span = self._operation(doc, ent, roles) if label == "OPERATION" else _strip_the(doc, ent)
            if span is None or len(span) == 0:
                return None
            new = Span(doc, span.start, span.end, label=label)
            new.id_ = ent.ent_id_
            return new
        if label == "AMOUNT" and _is_year(doc, ent):
            return Span(doc, ent.start, ent.end, label="DATE")  # "the 1997 Charter": a year, not a count
        if label == "AMOUNT":
            span = self._amount(doc, ent)
        elif label == "DATE":
            span = self._date(doc, ent)
        elif label == "ORG":
            span, label = self._org(doc, ent, roles)
            if span is not None and all(i in role_tokens for i in range(span.start, span.end)):
                return None  # "State and Government" in "Heads of State and Government"
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
        if self._designated(doc, ent.start):
            return None  # "Type 214", "Learjet 45", "Resolution 1244": a number in a designation
        start, end = money_extent(doc.text, ent.start_char, ent.end_char)
        start = qualifier_start(doc.text, start)
        span = doc.char_span(start, end, alignment_mode="expand")
        if span is None:
            return None
        if ent.label_ != "CARDINAL" or _has_unit(span.text):
            return span  # money, percent, a quantity with its unit
        if span.start > 0 and doc[span.start - 1].lower_ in DEFINITE and not doc[span.start].text[:1].isdigit():
            return None  # "the two organisations" refers back; "the 48 nations", a figure in digits, is one
        stop = self._noun_end(doc, span.end)
        if stop is None:
            return None  # a bare number counts nothing named
        return doc[span.start : stop]

    def _designated(self, doc: Doc, i: int) -> bool:
        """Whether the number at token ``i`` is part of a designation: right after a capitalised
        word that is not a function word, a qualifier or a month, inside a sentence ("Type 214
        submarines", "Article 5"); not "Around 10,000" or "In 2019"."""
        if i < 2 or not doc[i].like_num:
            return False
        prev = doc[i - 1]
        return (
            prev.is_alpha and prev.text[0].isupper() and not prev.is_stop
            and prev.lower_ not in self.qualifier_words and month_number(prev.text) is None
            and not doc[i - 2].is_punct
        )

    @staticmethod
    def _noun_end(doc: Doc, i: int) -> int | None:
        """End of the noun phrase a number at ``i`` counts: adjectives then nouns ("eight
        multinational battlegroups", "30 NATO Allies"); None if no noun follows."""
        tagged = doc.has_annotation("TAG")
        end = None
        j = i
        while j < len(doc) and j - i < 6:
            tok = doc[j]
            if tok.text[:1].isupper() and j + 1 < len(doc) and doc[j + 1].like_num:
                j += 2  # "four Type 214 submarines": the designation describes the noun counted
                continue
            if _DESIGNATION.match(tok.text):
                j += 1  # "20 F-35 aircraft"
                continue
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
        # "NATO Secretary General" is a role of NATO, not an ORG; "Office of the Secretary
        # General" is a body named after a post
        for i in range(span.start, span.end):
            if _role_len(roles, i, span.end):
                if i == span.start or not doc[i - 1].is_stop:
                    span = doc[span.start : i]
                break
        if len(span) == 0 or _described(doc, span.start) or self._is_event_name(doc, span):
            return None, "ORG"  # "a Distinctive Partnership", "A specific Trust Fund": descriptions, not names
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
        if any(any(c.isdigit() for c in t.text) for t in span) or any(t.lower_ in self.org_keywords for t in span):
            return None  # "b060623al" (a photo's id), "Command Structure": not people
        if (first.isupper() and len(first) >= 2) or any(t.like_num for t in span):
            return None  # "EUTM Mali", "EUMPM Niger": acronyms are not people
        return span

    # --- context ---

    def _roles(self, doc: Doc) -> dict[int, int]:
        """Role phrases of ``doc``: start token -> end token, longest first."""
        return {s.start: s.end for s in filter_spans([doc[s:e] for _, s, e in self.roles(doc)])}

    def is_role(self, text: str) -> bool:
        """Whether ``text`` names a post, not a body: it ends with a role phrase, or a role
        phrase is followed only by "of …"/"for …" or by places ("Supreme Allied Commander
        Europe", "Chairman of the Military Committee", "Heads of State and Government")."""
        doc = self._doc(text)
        for start, end in self._roles(doc).items():
            rest, before = doc[end:], doc[:start]
            if any(t.lower_ in ("of", "for") or t.lower_ in self.org_keywords for t in before):
                return False  # "Office of the Secretary General": a body named after a post
            if not len(rest) or rest[0].lower_ in ("of", "for") or all(t.text in self.places for t in rest):
                return True
        return False

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
    def _missed_years(doc: Doc, taken: set[int]) -> list[Span]:
        """A year the model left untagged that dates a named thing: "the 1997 Charter", "its
        2010 Strategic Concept"."""
        out = []
        for tok in doc:
            if tok.i in taken or tok.i == 0 or tok.i + 1 >= len(doc) or not re.fullmatch(r"(19|20)\d\d", tok.text):
                continue
            if doc[tok.i - 1].lower_ in ("the", "its", "their", "this", "that") and doc[tok.i + 1].text[:1].isupper():
                out.append(Span(doc, tok.i, tok.i + 1, label="DATE"))
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

#: Prepositions before a place: a list they introduce with one known place is a list of places.
_LOCATIVE = frozenset({"in", "at", "near", "from", "to", "across", "between", "around"})


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


#: A designation written as one word: "F-35", "A400M", "MQ-9", "C-17".
_DESIGNATION = re.compile(r"^[A-Z][A-Za-z]{0,3}-?\d+[A-Za-z]?$")


def _described(doc: Doc, start: int) -> bool:
    """Whether the capitalised words at ``start`` follow an indefinite article, perhaps with
    adjectives between ("a Distinctive Partnership", "A specific Trust Fund"): a description of
    something, not its name. A name may itself start with the article's word ("a Distinctive
    Partnership" in a span the model gave)."""
    i = start if doc[start].lower_ in ("a", "an") else start - 1
    while i >= 0 and start - i <= 3 and doc[i].is_lower and doc[i].is_alpha and doc[i].lower_ not in ("a", "an"):
        i -= 1
    return i >= 0 and doc[i].lower_ in ("a", "an")


def _is_year(doc: Doc, ent: Span) -> bool:
    """A model's count that is a year: four digits from 1900 to 2099 standing before a name or
    at the end of a clause ("the 1997 Charter"), not before the noun it would count."""
    if len(ent) != 1 or not re.fullmatch(r"(19|20)\d\d", ent.text):
        return False
    nxt = doc[ent.end] if ent.end < len(doc) else None
    return nxt is None or nxt.is_punct or nxt.text[:1].isupper()


def _before_spaced_dash(doc: Doc, span: Span) -> Span:
    """``span`` up to a dash with spaces around it: names do not hold one ("Cape Verde Islands -
    Amphibious" is a photo's title, then its caption)."""
    for tok in span[1:]:
        if tok.text in DASHES and tok.whitespace_ and doc[tok.i - 1].whitespace_:
            return doc[span.start : tok.i]
    return span


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
                found.setdefault(m.group("acr"), _whole_name(long, words, text[m.end() :]))
        for m in _DEF_BEFORE.finditer(text):
            inner = m.group("long").strip()
            inner = re.sub(r"^(NATO|EU)(’s|'s)\s+", "", inner)
            if _long_form_for(inner.split(), m.group("acr")) == inner or _initials_match(inner, m.group("acr")):
                found.setdefault(m.group("acr"), inner)
    return found


#: A head noun written after the bracket of a definition: "Science for Peace and Security (SPS) Programme".
_HEAD_AFTER = re.compile(r"^\s+([A-Z][a-z]+)\b")


def _whole_name(long: str, words: list[str], after: str) -> str:
    """The long form with what the text writes around it as part of the name: a body's acronym
    right before it ("NATO Science for Peace and Security") and a head noun after the bracket
    ("… (SPS) Programme"): "NATO Science for Peace and Security Programme"."""
    n = len(long.split())
    before = words[-n - 1] if len(words) > n else ""
    if re.fullmatch(r"[A-Z]{2,5}", before):
        long = f"{before} {long}"
    head = _HEAD_AFTER.match(after)
    if head and head.group(1).lower() in _org_keywords():
        long = f"{long} {head.group(1)}"
    return long


@cache
def _org_keywords() -> frozenset[str]:
    return frozenset(w.lower() for w in read_lines("org_keywords.txt"))


def bracketed_acronyms(docs: Iterable[Doc]) -> dict[str, str]:
    """Acronyms in brackets right after a name the pipeline tagged, whatever their letters: a
    UN mission's acronym follows its French name ("Multidimensional Integrated Stabilization
    Mission in Mali (MINUSMA)"), so the bracket, not the initials, says what it stands for."""
    found: dict[str, str] = {}
    for doc in docs:
        for ent in doc.ents:
            if ent.label_ not in ("ORG", "OPERATION") or ent.end + 2 >= len(doc):
                continue
            if doc[ent.end].text == "(" and doc[ent.end + 2].text == ")" and re.fullmatch(_ACRONYM, doc[ent.end + 1].text):
                found.setdefault(doc[ent.end + 1].text, _strip_name(ent.text))
    return found


def operation_aliases(docs: Iterable[Doc], places: Iterable[str] = ()) -> dict[str, str]:
    """Short names of the document's operations, as the text uses them once it introduced the
    operation in full: "Operation Atalanta" → "Atalanta", "Resolute Support Mission" →
    "Resolute Support". A short name that is a place is no alias."""
    not_aliases = set(places)
    found: dict[str, str] = {}
    for doc in docs:
        for ent in doc.ents:
            if ent.label_ != "OPERATION":
                continue
            full = ent.ent_id_ if ent.ent_id_.startswith("Operation ") else ent.text
            words = full.split()
            while words and (re.fullmatch(r"[A-Z]{2,5}", words[0]) or words[0] in ("Operation", "Operations")):
                words = words[1:]
            if words and words[-1] in ("Mission", "Operation") and len(words) > 2:
                words = words[:-1]
            alias = " ".join(words)
            if alias != full and len(alias) > 3 and alias not in not_aliases and is_name(alias):
                found.setdefault(alias, full)
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
        if ruler_id.startswith("Operation ") and name != ruler_id:
            return label, ruler_id  # "Atalanta" in "Operation Ocean Shield and Atalanta"
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


def definition_labels(
    docs: Sequence[Doc], acronyms: dict[str, str], gazetteer: Gazetteer, is_role: Callable[[str], bool] = lambda _: False
) -> dict[str, str]:
    """The label of each defined acronym whose long form is a name and not a post
    (``is_role``: "Supreme Allied Commander Europe (SACEUR)"): the gazetteer's, else what
    the pipeline tagged the long form (or the acronym) as, else OPERATION for a mission or an
    operation and ORG otherwise."""
    found: dict[str, str] = {}
    for acronym, long in acronyms.items():
        if not is_name(long) or is_role(long):
            continue
        entry = gazetteer.lookup(long) or gazetteer.lookup(acronym)
        if entry is not None:
            found[acronym] = entry.label
            continue
        # what the long form was tagged as says more than what the acronym alone was tagged as
        by_long = Counter(ent.label_ for doc in docs for ent in doc.ents if ent.label_ in _DEFINED_LABELS and _strip_name(ent.text) == long)
        by_short = Counter(ent.label_ for doc in docs for ent in doc.ents if ent.label_ in _DEFINED_LABELS and _strip_name(ent.text) == acronym)
        tagged = by_long or by_short
        default = "OPERATION" if _OPERATION_WORDS.search(long) else "ORG"
        if tagged:  # the most frequent label; a tie goes to the default, then alphabetically
            found[acronym] = max(sorted(tagged), key=lambda lab: (tagged[lab], lab == default))
        else:
            found[acronym] = default
    return found


_AFTER_NAME = ("in", "to", "for", "at")


def _names_cut_by_definitions(texts: Sequence[str], acronyms: dict[str, str]) -> frozenset[str]:
    """Long forms whose definition is followed by a preposition: "Resolute Support Mission
    (RSM) in Afghanistan" says the name ends before "in", whatever a pattern for "X Mission in
    Y" made of it elsewhere (where "… Mission in Mali (MINUSMA)" says the place is part of it)."""
    joined = "\n".join(texts)
    return frozenset(
        long for acronym, long in acronyms.items()
        if re.search(rf"(?<![\w\-]){re.escape(long)} \({re.escape(acronym)}\) (?:{'|'.join(_AFTER_NAME)}) ", joined)
    )


def _cut_names(doc: Doc, names: frozenset[str], places: dict[str, str]) -> None:
    """An entity that runs from one of ``names`` over a preposition ends before it; what follows
    the preposition is a place when it is one elsewhere in the document."""
    ents = list(doc.ents)
    for ent in list(ents):
        for name in names:
            if not ent.text.startswith(name + " "):
                continue
            head = doc.char_span(ent.start_char, ent.start_char + len(name), label=ent.label_)
            if head is None or head.end >= ent.end or doc[head.end].lower_ not in _AFTER_NAME:
                continue
            ents.remove(ent)
            ents.append(head)
            rest = doc[head.end + 1 : ent.end]
            if rest.text in places:
                ents.append(Span(doc, rest.start, rest.end, label=places[rest.text]))
            break
    set_entities(doc, ents)


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
        if any(e.label_ == span.label_ and e.start <= span.start and span.end <= e.end
               and not any(t.text in "()[]" for t in e) for e in clash):
            continue  # "Resolute Support" inside "Resolute Support Mission": the longer name stands (not "X (ACR")
        ents = [e for e in ents if e not in clash] + [span]
    set_entities(doc, ents)


def tag_blocks(
    blocks: Sequence[Block],
    nlp: Language,
    edition: str | None,
    gazetteer: Gazetteer | None = None,
) -> list[Entity]:
    """Entities of a document's body blocks, normalised, in reading order."""
    return tag_blocks_and_facts(blocks, nlp, edition, gazetteer)[0]


def tag_blocks_and_facts(
    blocks: Sequence[Block],
    nlp: Language,
    edition: str | None,
    gazetteer: Gazetteer | None = None,
) -> tuple[list[Entity], list[Fact]]:
    """Entities of a document's body blocks, normalised, in reading order, and a fact for each
    date and amount (:func:`describe_fact`)."""
    gazetteer = gazetteer or load_gazetteer()
    tagged = [b for b in blocks if b.kind in TEXT_KINDS]
    reference = _edition_date(edition)
    with NLP_LOCK:
        docs = list(nlp.pipe((b.text for b in tagged), batch_size=64))
    acronyms = find_acronyms(b.text for b in tagged)
    for short, long in bracketed_acronyms(docs).items():
        acronyms.setdefault(short, long)
    component = nlp.get_pipe("factsheet_entities") if "factsheet_entities" in nlp.pipe_names else None
    labels = definition_labels(docs, acronyms, gazetteer, component.is_role if isinstance(component, FactsheetEntities) else lambda _: False)
    places = component.places if isinstance(component, FactsheetEntities) else {}
    place_names = component.place_names if isinstance(component, FactsheetEntities) else {}
    aliases = operation_aliases(docs, places)
    for alias, full in aliases.items():
        if alias not in acronyms:
            acronyms[alias], labels[alias] = full, "OPERATION"
    cut = _names_cut_by_definitions([b.text for b in tagged], acronyms)
    if cut:
        known = {**places, **{e.text: e.label_ for d in docs for e in d.ents if e.label_ in ("GPE", "LOC")}}
        for doc in docs:
            _cut_names(doc, cut, known)
    for doc in docs:
        apply_definitions(doc, acronyms, labels)
    canon = Canonicaliser(gazetteer, acronyms)
    out: list[Entity] = []
    facts: list[Fact] = []
    last_year: int | None = None
    for block, doc in zip(tagged, docs):
        values = [ent for ent in doc.ents if ent.label_ in FACT_LABELS]
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
                e.canonical = acronyms.get(name, name) if name in labels else place_names.get(name, name)
            elif label == "DATE":
                rng = parse_date(ent.text, reference, last_year)
                if rng is None:
                    continue
                if rng.start.year == rng.end.year:
                    last_year = rng.start.year  # what a later "that year" means
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
            if label in FACT_LABELS:
                facts.append(describe_fact(doc, ent, e, values))
    return out, facts


def tag_document(doc: ExtractedDocument, nlp: Language, gazetteer: Gazetteer | None = None) -> list[Entity]:
    return tag_blocks(doc.blocks, nlp, doc.meta.edition, gazetteer)


# --- facts: a value and what it is about ----------------------------------------------------------

#: Tokens that end a sentence, and that end a clause inside one.
_SENTENCE_END = frozenset({".", "!", "?"})
_CLAUSE_END = frozenset({";", ":"})
#: A clause part (between commas) needs this many content words to say what a value is about.
_SUBJECT_MIN_WORDS = 3


def _sentence(doc: Doc, ent: Span) -> Span:
    """The sentence of ``ent``: from after the last sentence end before it to the next one."""
    start = ent.start
    while start > 0 and not (doc[start - 1].text in _SENTENCE_END and doc[start].text[:1].isupper()):
        start -= 1
    end = ent.end
    while end < len(doc) and not (doc[end - 1].text in _SENTENCE_END and end > ent.end):
        end += 1
    return doc[start:end]


def _parts(span: Span, stops: frozenset[str]) -> list[Span]:
    out, start = [], span.start
    for tok in span:
        if tok.text in stops:
            out.append(span.doc[start : tok.i])
            start = tok.i + 1
    out.append(span.doc[start : span.end])
    return [p for p in out if len(p)]


def _content(tokens: Iterable[Token]) -> int:
    return sum(1 for t in tokens if t.is_alpha and not t.is_stop)


def _unit_words_of(span: Span) -> frozenset[str]:
    """The counted noun of an amount span, as words ("eight aircraft" → {"aircraft"})."""
    noun = None if _has_unit(span.text) else span._.counted_noun
    return frozenset(noun.split()) if noun else frozenset()


def _unit_words(entity: Entity) -> frozenset[str]:
    """The words of an amount's unit that a subject keeps: a counted noun, not a currency."""
    if entity.label == "AMOUNT" and entity.unit and entity.unit not in currency_codes() and entity.unit != "percent":
        return frozenset(entity.unit.split())
    return frozenset()


#: Prepositions that go with a date or an amount left out of a subject ("in 2014", "by 2024").
_VALUE_PREPOSITIONS = frozenset({"in", "on", "at", "by", "since", "from", "until", "to", "of", "for", "during", "before", "after"})


def describe_fact(doc: Doc, ent: Span, entity: Entity, values: Sequence[Span]) -> Fact:
    """What a date or an amount is about, in the words of its clause, the value shown as "…":
    the sentence cut at ";" and ":", then the part between commas that holds the value, widened
    to its neighbours (and past ";") until it holds enough words that are not values ("The
    European Commission contributed 2 million EUR to the NATO Building Integrity Trust Fund" →
    "European Commission contributed … to the NATO Building Integrity Trust Fund"). Other dates
    are left out with their preposition; other amounts keep their counted noun, as the value's
    own does ("… aircraft"). ``measure`` is the amount's unit, or the date's qualifier or the
    verb it dates ("launched"), else "date"."""
    sentence = _sentence(doc, ent)
    own = range(ent.start, ent.end)
    unit = _unit_words(entity)
    others = [v for v in values if (v.start, v.end) != (ent.start, ent.end)]
    drop = {i for v in others if v.label_ == "DATE" for i in range(v.start, v.end)}
    drop |= {v.start - 1 for v in others if v.label_ == "DATE" and v.start > sentence.start and doc[v.start - 1].lower_ in _VALUE_PREPOSITIONS}
    drop |= {t.i for v in others if v.label_ == "AMOUNT" for t in v if t.text not in _unit_words_of(v)}

    def words(span: Span) -> list[Token]:
        return [t for t in span if t.i not in drop]

    def enough(tokens: list[Token]) -> bool:
        return sum(1 for t in tokens if t.is_alpha and not t.is_stop and t.i not in own) >= _SUBJECT_MIN_WORDS

    for scope in (next((p for p in _parts(sentence, _CLAUSE_END) if p.start <= ent.start < p.end), sentence), sentence):
        pieces = _parts(scope, frozenset({","}))
        lo = hi = next((i for i, p in enumerate(pieces) if p.start <= ent.start < p.end), 0)
        while not enough(words(doc[pieces[lo].start : pieces[hi].end])) and (lo > 0 or hi < len(pieces) - 1):
            lo, hi = (lo - 1, hi) if lo > 0 else (lo, hi + 1)
        window = doc[pieces[lo].start : pieces[hi].end]
        if enough(words(window)):
            break
    out: list[str] = []
    for t in words(window):
        if t.i in own and t.text not in unit:
            if not out or out[-1] != "…":
                out.append("…")
            continue
        out.append(t.text + ("" if not t.whitespace_ else " "))
    subject = " ".join("".join(w if w != "…" else "… " for w in out).split())
    subject = re.sub(r"\s+([,.;:)])", r"\1", subject)
    subject = re.sub(r"\([^)]*$", "", subject)  # an unclosed bracket
    subject = re.sub(r"^(?:(?:the|a|an|and|or|but|[,;:])\s+)+", "", subject, flags=re.IGNORECASE).strip(" ,;:.")
    if not re.search(r"[^\W\d_]", subject.replace("…", "")):
        subject = " ".join(sentence.text.split())
    if entity.label == "AMOUNT":
        measure = entity.unit or "amount"
    else:
        verbs = [t for t in window if t.tag_.startswith("VB") and t.i < ent.start and not t.is_stop]
        measure = entity.qualifier or (verbs[-1].lower_ if verbs else "date")
    return Fact(
        block_id=entity.block_id, page=entity.page, label=entity.label, start_char=entity.start_char,
        end_char=entity.end_char, subject=subject, measure=measure, mention=entity.text,
        text=" ".join(sentence.text.split()), value=entity.value, date_start=entity.date_start,
        date_end=entity.date_end, qualifier=entity.qualifier,
    )


def _edition_date(edition: str | None) -> date | None:
    if not edition:
        return None
    year, month = edition.split("-")
    return date(int(year), int(month), 1)
