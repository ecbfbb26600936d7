"""Facts followed across the editions of a series: which value of one edition is the same fact
as which value of the next, and the id each fact keeps in every edition.

Two editions' facts are paired the way a reader would: sentences first, then values within
them. A candidate pair is of the same label (and, for amounts, the same unit or currency); its
score is the best of three word overlaps (of the two subjects, of the two sentences, of the
words right around the values), raised when their blocks are aligned (the same paragraph,
perhaps edited) and when the value is the same. So a fact is still found when its sentence is
reworded around it, when a clause is added, when the value moves into brackets; two different
facts with the same unit are not paired, as their words differ. The best pairs are taken first,
each fact at most once.

A fact keeps the id it had in the edition before (:func:`resolve_fact_ids`); a fact new in an
edition gets the id of its first appearance (``extractors.pipeline.fact_id``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from extractors.pipeline import fact_id as first_fact_id

#: A fact's place in its document: (block_id, start_char).
Key = tuple[int, int]
#: Pairs of facts of two editions: the later edition's key -> the earlier edition's key.
Matches = dict[Key, Key]

#: Minimum score for two values to be one fact: in aligned blocks, anywhere else.
MATCH_ALIGNED = 0.25
MATCH_ANYWHERE = 0.4
#: What a pair's score gains when the blocks are aligned, and when the value is the same.
ALIGNED_BONUS = 0.3
SAME_VALUE_BONUS = 0.2
#: Words on each side of a value that say which fact it is.
CONTEXT_WORDS = 4

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_STOP = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "been", "by", "for", "from", "had", "has", "have", "in", "is", "it", "its", "of", "on", "or", "that", "the", "their", "they", "this", "to", "was", "were", "which", "will", "with"]
)


def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in _STOP)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


@dataclass(frozen=True)
class FactValue:
    """What :func:`same_value` compares of a fact (a row of the ``facts`` table)."""

    value: tuple[Any, ...]
    relative: bool
    since: bool
    mention: str

    @classmethod
    def of(cls, r: Any) -> FactValue:
        value = (r.value,) if r.label == "AMOUNT" else (r.date_start, r.date_end)
        return cls(value, r.qualifier == "relative", r.qualifier == "since", str(r.mention))


@dataclass(frozen=True)
class _Fact:
    key: Key
    n: int  # order in the edition, for stable tie-breaks
    label: str
    measure: str
    value: FactValue
    subject: frozenset[str]
    sentence: frozenset[str]
    context: frozenset[str]


def _facts(facts: pd.DataFrame, blocks: Mapping[int, str]) -> list[_Fact]:
    out = []
    rows = facts.sort_values(["block_id", "start_char"]).itertuples(index=False)
    for n, r in enumerate(rows):
        text = blocks.get(int(r.block_id), "")
        before = _WORD.findall(text[: int(r.start_char)].lower())[-CONTEXT_WORDS:]
        after = _WORD.findall(text[int(r.end_char) :].lower())[:CONTEXT_WORDS]
        out.append(_Fact(
            (int(r.block_id), int(r.start_char)), n, r.label, str(r.measure).casefold(), FactValue.of(r), _words(r.subject), _words(r.text),
            frozenset([f"<{w}" for w in before] + [f">{w}" for w in after]),
        ))
    return out


def same_value(x: FactValue, y: FactValue) -> bool:
    """Whether two facts hold the same value. A date anchored on its edition is the same when
    its words are: a relative date ("the last two years") whatever range the edition gives it,
    and "since 2014", which runs to each edition's month, when it starts on the same day."""
    if x.relative and y.relative:
        return bool(x.mention.casefold() == y.mention.casefold())
    if x.since and y.since:
        return bool(x.value[0] == y.value[0])
    return bool(x.value == y.value)


def match_facts(
    facts_a: pd.DataFrame, facts_b: pd.DataFrame, blocks_a: Mapping[int, str], blocks_b: Mapping[int, str],
    aligned: set[tuple[int, int]],
) -> Matches:
    """The facts of edition ``b`` that are facts of edition ``a`` (see the module's docstring)."""
    fa, fb = _facts(facts_a, blocks_a), _facts(facts_b, blocks_b)
    scored = []
    for x in fa:
        for y in fb:
            if x.label != y.label or x.label == "AMOUNT" and x.measure != y.measure:
                continue
            words = max(_jaccard(x.subject, y.subject), _jaccard(x.sentence, y.sentence), _jaccard(x.context, y.context))
            in_aligned = (x.key[0], y.key[0]) in aligned
            same = same_value(x.value, y.value)
            if words < (MATCH_ALIGNED if in_aligned else MATCH_ANYWHERE) and not (same and words >= MATCH_ALIGNED / 2):
                continue
            scored.append((-(words + ALIGNED_BONUS * in_aligned + SAME_VALUE_BONUS * same), x.n, y.n, x, y))
    scored.sort(key=lambda t: t[:3])
    used_a: set[Key] = set()
    out: Matches = {}
    for _, _, _, x, y in scored:
        if x.key in used_a or y.key in out:
            continue
        used_a.add(x.key)
        out[y.key] = x.key
    return out


def resolve_fact_ids(
    editions: Sequence[str],
    keys: Mapping[str, Iterable[Key]],
    stored: Mapping[str, Mapping[Key, str]],
    matches: Mapping[tuple[str, str], Matches],
) -> dict[str, dict[Key, str]]:
    """The id of every fact of a series' editions (document ids, oldest first): a fact matched
    with one of the edition before takes its id; a fact whose edition was not compared again in
    this run keeps its ``stored`` id; any other fact is new and takes the id of its place."""
    ids: dict[str, dict[Key, str]] = {}
    prev: str | None = None
    for doc in editions:
        compared = matches.get((prev, doc)) if prev is not None else None
        earlier_ids = ids.get(prev, {}) if prev is not None else {}
        own: dict[Key, str] = {}
        for key in keys.get(doc, ()):
            earlier = compared.get(key) if compared is not None else None
            if earlier is not None and earlier in earlier_ids:
                own[key] = earlier_ids[earlier]
            elif compared is None and key in stored.get(doc, {}):
                own[key] = stored[doc][key]
            else:
                own[key] = first_fact_id(doc, *key)
        ids[doc] = own
        prev = doc
    return ids


def history(facts: pd.DataFrame, documents: pd.DataFrame, series: str | None = None, fact: str | None = None) -> pd.DataFrame:
    """Each fact's values across the editions of its series, oldest first: one row per fact and
    edition, with the page where it says so. ``series`` keeps one series; ``fact`` keeps the facts
    whose subject, mention or id contains it (case aside). The fact is named by its latest subject."""
    rows = facts.merge(documents[["doc_id", "source"]], on="doc_id", how="left")
    if series:
        rows = rows[rows.series == series]
    if fact:
        needle = fact.casefold()
        hit = rows.subject.str.casefold().str.contains(needle, regex=False) | rows.mention.str.casefold().str.contains(needle, regex=False)
        rows = rows[rows.fact_id.isin(rows.loc[hit | (rows.fact_id == fact), "fact_id"])]
    if rows.empty:
        return pd.DataFrame(columns=["series", "fact_id", "fact", "measure", "edition", "value", "page", "source"])
    rows = rows.sort_values(["series", "fact_id", "edition", "source", "block_id", "start_char"], na_position="first")
    latest = rows.groupby("fact_id").subject.last()
    first_seen = rows.groupby("fact_id")[["edition", "block_id", "start_char"]].first()
    order = first_seen.sort_values(["edition", "block_id", "start_char"], na_position="first").index
    rank = {fid: i for i, fid in enumerate(order)}
    out = pd.DataFrame({
        "series": rows.series,
        "fact_id": rows.fact_id,
        "fact": rows.fact_id.map(latest),
        "measure": rows.measure,
        "edition": rows.edition,
        "value": [f"{shown_value(r)} ({r.mention})" for r in rows.itertuples(index=False)],
        "page": rows.page.astype(int),
        "source": rows.source,
        "_rank": rows.fact_id.map(rank),
    })
    return out.sort_values(["series", "_rank", "edition", "source"], na_position="first").drop(columns="_rank").reset_index(drop=True)


def shown_value(r: Any) -> str:
    """A fact's value as a reader sees it: "8 aircraft", "2000000 EUR", "2016-07-01/2016-07-31"."""
    from extractors.normalise import format_value

    if r.label == "AMOUNT" and r.value == r.value and r.value is not None:
        return f"{format_value(float(r.value))} {r.measure}"
    if r.date_start is None or r.date_start is pd.NA:
        return ""
    return str(r.date_start) if r.date_start == r.date_end else f"{r.date_start}/{r.date_end}"
