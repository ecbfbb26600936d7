"""Compare editions of a series: which facts, entities and blocks were added, removed, changed
or moved.

:func:`compare_editions` compares every pair of consecutive editions of every series;
:func:`compare_two` compares any two documents. Both give the ``changes`` table, whose rows
are of these kinds:

- ``level="entity"``, label ``AMOUNT`` or ``DATE``, ``changed``: the same fact carries a new
  value ("more than seventy measures" → "74 measures"). Mentions of the two editions are
  paired by what surrounds them, not by where they are: an amount only with an amount of the
  same unit, and either inside blocks aligned across the editions with some of the same words
  around it, or anywhere in the document with most of the same words around it (so a fact in
  a block that moved or was rewritten is still found). ``canonical`` holds the unit (amounts)
  or the three words before the date (dates); ``before``/``after`` are ``"value (text)"``.
- ``level="entity"``, ``added``/``removed``: entities by (label, canonical) present in only one
  of the editions, facts already reported as changed excepted. Canonical names are compared
  loosely (case, dashes and the spaces around them: "NATO-EU" is "NATO – EU"), and an acronym
  that one edition resolves to a long name is that long name in the other edition too.
- ``level="block"``: body blocks (title, headings, paragraphs, list items, captions) aligned by
  content. Identical text pairs first, then the most similar remaining pairs (similarity at
  least :data:`BLOCK_MATCH`: of words, of letters for headings). A pair with different text is
  ``changed`` (``before``/``after`` hold a word diff, removed words in ``[-…-]``, added words
  in ``{+…+}``; ``similarity`` that similarity); ``canonical`` is the section in the newer
  edition. A pair that changed place is ``moved``: ``canonical`` is the block's text (in the
  newer edition), ``before``/``after`` its old and new section (the same section twice when
  it moved within its section). A block moved *and* edited gives both rows. Blocks left
  unpaired are ``removed`` or ``added`` (``canonical``: their section).

A block has moved when it is out of the order the editions share (the heaviest common
subsequence of the aligned blocks, headings weighing most, longer blocks more), or when it
sits under another heading than before although both headings are in both editions.
Captions float with their photo wherever the layout puts it, so they are never ``moved``.

Rows come in a stable order and ``change_id`` is a hash of the row's content, so two runs over
the same inputs give identical tables.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from extractors.normalise import DASHES, plain_punctuation
from schemas.records import FACT_LABELS, TEXT_KINDS
from schemas.tables import frame, frame_from_arrow

from .facts import FactValue, Matches, match_facts, resolve_fact_ids, same_value, shown_value
from .facts import Key as FactKey

#: Two blocks with at least this similarity (:func:`block_similarity`) are one block that changed.
BLOCK_MATCH = 0.5
#: Block kinds never reported as moved (a caption goes where its photo fits).
UNMOVABLE = ("caption", "title")
_WORD = re.compile(r"\S+")
_DASHES = re.compile(rf"\s*[{re.escape(DASHES)}]\s*")


@dataclass(frozen=True)
class Edition:
    doc_id: str
    edition: str | None
    source: str


def editions_by_series(documents: pd.DataFrame) -> dict[str, list[Edition]]:
    """Each series' editions, oldest first (an edition without a date first)."""
    out: dict[str, list[Edition]] = {}
    docs = documents.sort_values(["series", "edition", "source"], na_position="first")
    for series, doc_id, edition, source in zip(*(docs[c].tolist() for c in ("series", "doc_id", "edition", "source"))):
        out.setdefault(series, []).append(Edition(doc_id, _str(edition), source))
    return out


def similarity(a: str, b: str) -> float:
    """Word similarity of two texts (0..1)."""
    return difflib.SequenceMatcher(None, a.split(), b.split(), autojunk=False).ratio()


# A word diff marks removed words ``[-…-]`` and added words ``{+…+}`` (git's --word-diff=plain).
# Text that could be read as a marker is escaped with a backslash: a backslash itself, and a
# "-" or "+" that follows "[" or "{" or precedes "]" or "}" (the CSV shows "[-5 °C]" as
# "[\-5 °C]").
# :func:`diff_segments` reads a side back; nothing else should parse the markers.
_DIFF_ESCAPE = re.compile(r"\\|(?<=[\[{])[-+]|[-+](?=[\]}])")
_DIFF_CLOSE = {"[-": ("-]", "del"), "{+": ("+}", "ins")}


def _diff_escape(words: Sequence[str]) -> str:
    return " ".join(_DIFF_ESCAPE.sub(lambda m: "\\" + m.group(0), w) for w in words)


def word_diff(a: str, b: str) -> tuple[str, str]:
    """``a`` with removed words in ``[-…-]`` and ``b`` with added words in ``{+…+}``
    (marker-like text escaped; read a side back with :func:`diff_segments`)."""
    aw, bw = a.split(), b.split()
    before: list[str] = []
    after: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, aw, bw, autojunk=False).get_opcodes():
        if op == "equal":
            before.append(_diff_escape(aw[i1:i2]))
            after.append(_diff_escape(bw[j1:j2]))
            continue
        if i2 > i1:
            before.append("[-" + _diff_escape(aw[i1:i2]) + "-]")
        if j2 > j1:
            after.append("{+" + _diff_escape(bw[j1:j2]) + "+}")
    return " ".join(before), " ".join(after)


def diff_segments(marked: str | None) -> list[tuple[str, str]]:
    """A side of :func:`word_diff` as (kind, text) pieces, kind "" (kept), "del" or "ins",
    escapes undone: ``"a [-b-] c"`` -> ``[("", "a "), ("del", "b"), ("", " c")]``."""
    out: list[tuple[str, str]] = []
    text, kind, close, buf, i = marked or "", "", "", [], 0
    while i < len(text):
        pair = text[i : i + 2]
        if text[i] == "\\" and i + 1 < len(text):
            buf.append(text[i + 1])
        elif not kind and pair in _DIFF_CLOSE:
            if buf:
                out.append(("", "".join(buf)))
            close, kind = _DIFF_CLOSE[pair]
            buf = []
        elif kind and pair == close:
            out.append((kind, "".join(buf)))
            kind, buf = "", []
        else:
            buf.append(text[i])
            i += 1
            continue
        i += 2
    if buf:
        out.append((kind, "".join(buf)))  # an unclosed marker keeps its words (hand-edited data)
    return out


# --------------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------------


def block_similarity(kind: str, a: str, b: str) -> float:
    """Similarity of two versions of a block: of their words, or for a heading or title (a
    few words, where one word changed is much) of their letters, case aside."""
    if kind in ("heading", "title"):
        return difflib.SequenceMatcher(None, a.casefold(), b.casefold(), autojunk=False).ratio()
    return similarity(a, b)


def _kinds_compatible(k1: str, k2: str) -> bool:
    return k1 == k2 or {k1, k2} == {"paragraph", "list_item"}


def align_blocks(a: Sequence[tuple[Any, ...]], b: Sequence[tuple[Any, ...]]) -> tuple[list[tuple[int, int, float]], list[int], list[int]]:
    """Pairs (i, j, similarity) of aligned blocks, and the unmatched indices of ``a`` and ``b``.

    Items are ``(block_id, kind, text, ...)``. Identical texts pair first, wherever they are
    (a repeated text with the occurrence nearest its relative place), then the most similar
    remaining pairs of compatible kinds (a paragraph may become a list item), by
    :func:`block_similarity`.
    """
    pairs: list[tuple[int, int, float]] = []
    na, nb = max(len(a), 1), max(len(b), 1)
    by_text: dict[str, list[int]] = {}
    for j, item in enumerate(b):
        by_text.setdefault(item[2], []).append(j)
    used_a: set[int] = set()
    used_b: set[int] = set()
    exact = []
    for i, item in enumerate(a):
        for j in by_text.get(item[2], []):
            exact.append((abs(i / na - j / nb), i, j))
    for _, i, j in sorted(exact):
        if i not in used_a and j not in used_b:
            pairs.append((i, j, 1.0))
            used_a.add(i)
            used_b.add(j)
    scored = []
    for i in range(len(a)):
        if i in used_a:
            continue
        for j in range(len(b)):
            if j in used_b or not _kinds_compatible(a[i][1], b[j][1]):
                continue
            s = block_similarity(a[i][1], a[i][2], b[j][2])
            if s >= BLOCK_MATCH:
                scored.append((-s, abs(i / na - j / nb), i, j))
    for neg, _, i, j in sorted(scored):
        if i not in used_a and j not in used_b:
            pairs.append((i, j, -neg))
            used_a.add(i)
            used_b.add(j)
    free_a = [i for i in range(len(a)) if i not in used_a]
    free_b = [j for j in range(len(b)) if j not in used_b]
    return sorted(pairs), free_a, free_b


def stable_pairs(pairs: Sequence[tuple[int, int]], weights: Sequence[float]) -> set[int]:
    """Indices (into ``pairs``) of the heaviest subsequence in the same order in both editions.

    ``pairs`` are (i, j) positions; the result is the heaviest chain increasing in both i and
    j (a weighted longest common subsequence); the pairs outside it are the ones that moved.
    Ties keep the earlier pairs, so the result is deterministic.
    """
    order = sorted(range(len(pairs)), key=lambda k: pairs[k])
    best: list[float] = []
    back: list[int] = []
    for n, k in enumerate(order):
        b_k, p_k = weights[k], -1
        for m in range(n):
            if pairs[order[m]][1] < pairs[k][1] and best[m] + weights[k] > b_k:
                b_k, p_k = best[m] + weights[k], m
        best.append(b_k)
        back.append(p_k)
    if not order:
        return set()
    n = max(range(len(order)), key=lambda x: (best[x], -x))
    kept: set[int] = set()
    while n >= 0:
        kept.add(order[n])
        n = back[n]
    return kept


@dataclass(frozen=True)
class _Block:
    block_id: int
    kind: str
    text: str
    section: str | None


def _body_blocks(blocks: pd.DataFrame, doc_id: str) -> list[_Block]:
    df = blocks[(blocks.doc_id == doc_id) & blocks.kind.isin(TEXT_KINDS)].sort_values("block_id")
    return [_Block(int(r.block_id), r.kind, r.text, _str(r.section)) for r in df.itertuples(index=False)]


def _moved(la: list[_Block], lb: list[_Block], pairs: list[tuple[int, int, float]]) -> set[tuple[int, int]]:
    """The aligned pairs (i, j) whose block moved."""
    movable = [(i, j) for i, j, _ in pairs if la[i].kind not in UNMOVABLE and lb[j].kind not in UNMOVABLE]
    weights = [(1000.0 if la[i].kind == "heading" else 0.0) + 1 + len(la[i].text.split()) for i, j in movable]
    kept = stable_pairs(movable, weights)
    # Sections that are in both editions: old heading text -> new heading text.
    section_map = {la[i].text: lb[j].text for i, j, _ in pairs if la[i].kind == "heading" and lb[j].kind == "heading"}
    new_sections = set(section_map.values())
    moved: set[tuple[int, int]] = set()
    for k, (i, j) in enumerate(movable):
        if k not in kept:
            moved.add((i, j))
            continue
        old, new = la[i].section, lb[j].section
        if old in section_map and new in new_sections and section_map[old] != new and la[i].kind != "heading":
            moved.add((i, j))
    return moved


# --------------------------------------------------------------------------------------------
# Entities
# --------------------------------------------------------------------------------------------


def normalise_name(name: str) -> str:
    """A canonical name compared loosely: Unicode-normalised, case-folded, one kind of dash
    with no space around it, one kind of apostrophe, single spaces."""
    s = plain_punctuation(unicodedata.normalize("NFKC", name)).casefold()
    return " ".join(_DASHES.sub("-", s).split())


def _entity_key(r: Any) -> tuple[str, str]:
    """(label, loose canonical); a relative date is keyed by its words, since its range
    follows the edition date."""
    if r.label == "DATE" and r.qualifier == "relative":
        return r.label, "relative: " + normalise_name(r.text)
    return r.label, normalise_name(r.canonical)


def _looks_like_acronym(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return 1 < len(text) <= 12 and " " not in text and sum(c.isupper() for c in letters) >= 2


Key = tuple[str, str]


def _acronyms(entities: pd.DataFrame) -> dict[Key, set[Key]]:
    """Acronym keys → the long names' keys that mentions resolve them to."""
    targets: dict[Key, set[Key]] = {}
    for r in entities.itertuples(index=False):
        if r.label in FACT_LABELS or not _looks_like_acronym(r.text):
            continue
        short = (r.label, normalise_name(r.text))
        full = (r.label, normalise_name(r.canonical))
        if full != short:
            targets.setdefault(short, set()).add(full)
    return targets


def _aliases(*acronyms: dict[Key, set[Key]]) -> dict[Key, Key]:
    """Acronym keys → the long name's key, where the mentions of both editions resolve the
    acronym to exactly one long name ("EDA" → "European Defence Agency")."""
    targets: dict[Key, set[Key]] = {}
    for found in acronyms:
        for short, full in found.items():
            targets.setdefault(short, set()).update(full)
    return {short: next(iter(t)) for short, t in targets.items() if len(t) == 1}


def _entity_keys(mentions: list[tuple[Key, str, str, str, int]], aliases: dict[Key, Key]) -> dict[Key, tuple[str, str, str, int]]:
    """Each entity key of an edition → (canonical, text, entity id, block id) of its first mention."""
    out: dict[Key, tuple[str, str, str, int]] = {}
    for key, canonical, text, eid, block in mentions:
        out.setdefault(aliases.get(key, key), (canonical, text, eid, block))
    return out


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------


def _str(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and value != value) or value is pd.NA else str(value)


def _change_row(series: str, a: Edition, b: Edition, change: str, level: str, label: str, canonical: str | None,
                before: str | None, after: str | None, sim: float | None, **where: Any) -> dict[str, Any]:
    """A row of ``changes``; ``where`` holds the columns that say where it is (block ids, pages,
    entity id, values) and, for facts, the private ``_from_key``/``_to_key`` that
    :func:`finish_changes` turns into the fact's id."""
    return {
        "series": series,
        "from_edition": a.edition,
        "to_edition": b.edition,
        "from_doc_id": a.doc_id,
        "to_doc_id": b.doc_id,
        "change": change,
        "level": level,
        "label": label,
        "canonical": canonical,
        "before": before,
        "after": after,
        "similarity": sim,
        **where,
    }


@dataclass(frozen=True)
class _Prepared:
    """What the comparison needs of one edition, made once for both pairs it is in."""

    blocks: list[_Block]
    pages: dict[int, int]  # block_id -> page
    facts: pd.DataFrame
    entities: list[tuple[Key, str, str, str, int]]  # (key, canonical, text, entity_id, block_id) in reading order
    acronyms: dict[Key, set[Key]]


def _prepare(doc_id: str, blocks: pd.DataFrame, entities: pd.DataFrame, facts: pd.DataFrame) -> _Prepared:
    mine = blocks[blocks.doc_id == doc_id]
    ents = entities[(entities.doc_id == doc_id) & ~entities.label.isin(FACT_LABELS)]
    return _Prepared(
        _body_blocks(mine, doc_id),
        dict(zip(mine.block_id.astype(int), mine.page.astype(int), strict=True)),
        facts[facts.doc_id == doc_id],
        [(_entity_key(r), r.canonical, r.text, r.entity_id, int(r.block_id))
         for r in ents.sort_values(["block_id", "start_char"]).itertuples(index=False)],
        _acronyms(ents),
    )


def _fact_text(r: Any) -> str:
    """A fact's value as the ``before``/``after`` of a row: "value (mention)"."""
    return f"{shown_value(r)} ({r.mention})"


def _value(r: Any) -> float | None:
    return float(r.value) if r.label == "AMOUNT" and r.value == r.value and r.value is not None else None


def _day(r: Any) -> Any:
    return None if r.label != "DATE" or r.date_start is pd.NA else r.date_start


def _fact_rows(series: str, a: Edition, b: Edition, pa_: _Prepared, pb: _Prepared, aligned: set[tuple[int, int]]) -> tuple[list[dict[str, Any]], Matches]:
    """Changed, added and removed facts: paired across the editions (``outputs.facts``), a pair
    with another value is one ``changed`` row, an unpaired fact is ``added`` or ``removed``."""
    texts_a = {x.block_id: x.text for x in pa_.blocks}
    texts_b = {x.block_id: x.text for x in pb.blocks}
    matches = match_facts(pa_.facts, pb.facts, texts_a, texts_b, aligned)
    fa = {(int(r.block_id), int(r.start_char)): r for r in pa_.facts.itertuples(index=False)}
    fb = {(int(r.block_id), int(r.start_char)): r for r in pb.facts.itertuples(index=False)}
    rows = []
    for kb, ka in matches.items():
        x, y = fa[ka], fb[kb]
        if same_value(FactValue.of(x), FactValue.of(y)):
            continue
        rows.append(_change_row(series, a, b, "changed", "entity", x.label, y.subject, _fact_text(x), _fact_text(y), None,
                                from_block_id=ka[0], to_block_id=kb[0], from_page=int(x.page), to_page=int(y.page),
                                value_before=_value(x), value_after=_value(y), date_before=_day(x), date_after=_day(y),
                                _from_key=ka, _to_key=kb))
    matched_a = set(matches.values())
    for ka, x in fa.items():
        if ka not in matched_a:
            rows.append(_change_row(series, a, b, "removed", "entity", x.label, x.subject, _fact_text(x), None, None,
                                    from_block_id=ka[0], from_page=int(x.page), value_before=_value(x), date_before=_day(x), _from_key=ka))
    for kb, y in fb.items():
        if kb not in matches:
            rows.append(_change_row(series, a, b, "added", "entity", y.label, y.subject, None, _fact_text(y), None,
                                    to_block_id=kb[0], to_page=int(y.page), value_after=_value(y), date_after=_day(y), _to_key=kb))
    return rows, matches


def compare_pair(series: str, a: Edition, b: Edition, blocks: pd.DataFrame, entities: pd.DataFrame, facts: pd.DataFrame) -> list[dict[str, Any]]:
    """The change rows from edition ``a`` to edition ``b`` (unsorted, without ids)."""
    return _compare_prepared(series, a, b, _prepare(a.doc_id, blocks, entities, facts), _prepare(b.doc_id, blocks, entities, facts))[0]


def _compare_prepared(series: str, a: Edition, b: Edition, pa_: _Prepared, pb: _Prepared) -> tuple[list[dict[str, Any]], Matches]:
    rows: list[dict[str, Any]] = []
    la, lb = pa_.blocks, pb.blocks
    items_a = [(x.block_id, x.kind, x.text, x.section) for x in la]
    items_b = [(x.block_id, x.kind, x.text, x.section) for x in lb]
    pairs, only_a, only_b = align_blocks(items_a, items_b)
    moved = _moved(la, lb, pairs)

    def where(x: _Block | None, y: _Block | None) -> dict[str, Any]:
        return {"from_block_id": x.block_id if x else None, "to_block_id": y.block_id if y else None,
                "from_page": pa_.pages.get(x.block_id) if x else None, "to_page": pb.pages.get(y.block_id) if y else None}

    for i, j, sim in pairs:
        x, y = la[i], lb[j]
        if (i, j) in moved:
            rows.append(_change_row(series, a, b, "moved", "block", y.kind, y.text, x.section, y.section, None, **where(x, y)))
        if sim < 1.0 or x.text != y.text:
            before, after = word_diff(x.text, y.text)
            rows.append(_change_row(series, a, b, "changed", "block", x.kind, y.section, before, after, round(sim, 4), **where(x, y)))
    for i in only_a:
        rows.append(_change_row(series, a, b, "removed", "block", la[i].kind, la[i].section, la[i].text, None, None, **where(la[i], None)))
    for j in only_b:
        rows.append(_change_row(series, a, b, "added", "block", lb[j].kind, lb[j].section, None, lb[j].text, None, **where(None, lb[j])))

    aligned = {(la[i].block_id, lb[j].block_id) for i, j, _ in pairs}
    fact_rows, matches = _fact_rows(series, a, b, pa_, pb, aligned)
    rows.extend(fact_rows)

    aliases = _aliases(pa_.acronyms, pb.acronyms)
    keys_a = _entity_keys(pa_.entities, aliases)
    keys_b = _entity_keys(pb.entities, aliases)
    for gone in sorted(set(keys_a) - set(keys_b)):
        canonical, text, eid, block = keys_a[gone]
        rows.append(_change_row(series, a, b, "removed", "entity", gone[0], canonical, text, None, None,
                                entity_id=eid, from_block_id=block, from_page=pa_.pages.get(block)))
    for new in sorted(set(keys_b) - set(keys_a)):
        canonical, text, eid, block = keys_b[new]
        rows.append(_change_row(series, a, b, "added", "entity", new[0], canonical, None, text, None,
                                entity_id=eid, to_block_id=block, to_page=pb.pages.get(block)))
    return rows, matches


#: (series, older, newer, their blocks, their entities, their facts): the rows as DataFrames, or
#: as Arrow tables (cheaper to make and to send to a worker process; made into frames where it runs)
PairJob = tuple[str, Edition, Edition, Any, Any, Any]
#: What running jobs gives: the change rows (facts keyed by place, see :func:`finish_changes`) and
#: the facts paired in each compared pair of documents.
JobsResult = tuple[list[dict[str, Any]], dict[tuple[str, str], Matches]]


def pair_jobs(documents: pd.DataFrame, blocks: pd.DataFrame, entities: pd.DataFrame, facts: pd.DataFrame) -> Iterator[PairJob]:
    """One job per pair of consecutive editions of each series, with only those two
    documents' rows (so jobs can run anywhere, in any order). Jobs are made as they are
    consumed, so only the pairs in flight are held in memory."""
    parts = [dict(tuple(t.groupby("doc_id", sort=False))) for t in (blocks, entities, facts)]
    empties = [t.iloc[:0] for t in (blocks, entities, facts)]

    def two(of: dict[Any, pd.DataFrame], empty: pd.DataFrame, a: Edition, b: Edition) -> pd.DataFrame:
        return pd.concat([of.get(a.doc_id, empty), of.get(b.doc_id, empty)], ignore_index=True)

    for series, eds in editions_by_series(documents).items():
        for a, b in zip(eds, eds[1:], strict=False):
            yield (series, a, b, *(two(of, empty, a, b) for of, empty in zip(parts, empties, strict=True)))


def run_jobs(jobs: Iterable[PairJob]) -> JobsResult:
    """The change rows (without ids) and the paired facts of some pair jobs."""
    rows: list[dict[str, Any]] = []
    matches: dict[tuple[str, str], Matches] = {}
    last: dict[str, _Prepared] = {}  # consecutive pairs of a series share an edition: prepare it once
    for series, a, b, blocks, entities, facts in jobs:
        if isinstance(blocks, pa.Table):
            blocks, entities, facts = (frame_from_arrow(n, [t]) for n, t in (("blocks", blocks), ("entities", entities), ("facts", facts)))
        pa_ = last.get(a.doc_id) or _prepare(a.doc_id, blocks, entities, facts)
        pb = _prepare(b.doc_id, blocks, entities, facts)
        last = {b.doc_id: pb}
        pair_rows, matched = _compare_prepared(series, a, b, pa_, pb)
        rows.extend(pair_rows)
        matches[(a.doc_id, b.doc_id)] = matched
    return rows, matches


def compare_jobs(jobs: Iterable[PairJob]) -> JobsResult:
    """:func:`run_jobs` (the flow may spread jobs over worker processes instead)."""
    return run_jobs(jobs)


def compare_editions(documents: pd.DataFrame, blocks: pd.DataFrame, entities: pd.DataFrame, facts: pd.DataFrame) -> pd.DataFrame:
    """The ``changes`` table for every pair of consecutive editions of every series, facts
    followed from the oldest edition of each series."""
    rows, matches = run_jobs(pair_jobs(documents, blocks, entities, facts))
    keys = {d: list(zip(g.block_id.astype(int), g.start_char.astype(int), strict=True)) for d, g in facts.groupby("doc_id")}
    ids: dict[str, dict[FactKey, str]] = {}
    for eds in editions_by_series(documents).values():
        ids.update(resolve_fact_ids([e.doc_id for e in eds], keys, {}, matches))
    return finish_changes(rows, ids)


def compare_two(documents: pd.DataFrame, blocks: pd.DataFrame, entities: pd.DataFrame, facts: pd.DataFrame,
                from_doc_id: str, to_doc_id: str) -> pd.DataFrame:
    """The ``changes`` table from one document to another of the same series (any two
    editions, in either direction); facts keep the ids of the ``facts`` table."""
    docs = documents.set_index("doc_id")
    for name, doc_id in (("from_doc_id", from_doc_id), ("to_doc_id", to_doc_id)):
        if doc_id not in docs.index:
            raise ValueError(f"{name}={doc_id!r} is not in the documents table; pass the doc_id (sha256) of an ingested document")
    if from_doc_id == to_doc_id:
        raise ValueError(f"from_doc_id and to_doc_id are the same document ({from_doc_id}); pass two different editions")
    sa, sb = docs.at[from_doc_id, "series"], docs.at[to_doc_id, "series"]
    if sa != sb:
        raise ValueError(f"the documents are in different series ({sa!r} and {sb!r}); only editions of one series can be compared")
    a, b = (Edition(d, _str(docs.at[d, "edition"]), str(docs.at[d, "source"])) for d in (from_doc_id, to_doc_id))
    ids = {d: dict(zip(zip(g.block_id.astype(int), g.start_char.astype(int), strict=True), g.fact_id, strict=True)) for d, g in facts.groupby("doc_id")}
    return finish_changes(compare_pair(str(sa), a, b, blocks, entities, facts), ids)


_ORDER = {"changed": 0, "moved": 1, "removed": 2, "added": 3}
_SORT = ["series", "from_edition", "to_edition", "from_doc_id", "to_doc_id", "_l", "_o", "label", "canonical", "before", "after"]


def finish_changes(rows: Iterable[dict[str, Any]], fact_ids: Mapping[str, Mapping[FactKey, str]] | None = None) -> pd.DataFrame:
    """The ``changes`` table from rows without ids: each fact row gets its fact's id (and entity
    id) from ``fact_ids`` (doc_id -> (block_id, start_char) -> id), rows are sorted, and each row
    gets a stable ``change_id``."""
    ids = fact_ids or {}
    done = []
    for row in rows:
        row = dict(row)
        ka, kb = row.pop("_from_key", None), row.pop("_to_key", None)
        fid = (ids.get(row["from_doc_id"], {}).get(ka) if ka is not None else None) or (
            ids.get(row["to_doc_id"], {}).get(kb) if kb is not None else None)
        if fid is not None:
            row["fact_id"] = row["entity_id"] = fid
        done.append(row)
    return sort_changes(frame("changes", _with_ids(done)))


def _with_ids(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with ``change_id``, a hash of its content (and, for rows that are otherwise
    identical, of how many came before it)."""
    seen: dict[str, int] = {}
    out = []
    cols = ("series", "from_edition", "to_edition", "from_doc_id", "to_doc_id", "change", "level", "label", "canonical", "before", "after")
    for row in sorted(rows, key=lambda r: tuple("" if r.get(c) is None else str(r.get(c)) for c in cols)):
        key = "\x1f".join(str(row.get(c)) for c in cols)
        n = seen.get(key, 0)
        seen[key] = n + 1
        if n:
            key += f"\x1f{n}"
        out.append({"change_id": hashlib.sha1(key.encode()).hexdigest()[:16], **row})
    return out


def sort_changes(df: pd.DataFrame) -> pd.DataFrame:
    """Entity rows first, then blocks; in each: changed, moved, removed, added."""
    if df.empty:
        return df
    key = df.assign(_o=df["change"].map(_ORDER), _l=(df["level"] == "block").astype(int))
    key = key.sort_values(_SORT + ["change_id"], na_position="first", kind="mergesort")
    return key.drop(columns=["_o", "_l"]).reset_index(drop=True)


def summarise(changes: pd.DataFrame) -> dict[str, int]:
    return {f"{lvl}/{chg}": int(n) for (lvl, chg), n in changes.groupby(["level", "change"]).size().items()}


def iter_series(changes: pd.DataFrame) -> Iterable[tuple[str, pd.DataFrame]]:
    for series, df in changes.groupby("series", sort=True):
        yield str(series), df
