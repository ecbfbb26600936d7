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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from extractors.normalise import DASHES, plain_punctuation
from schemas.records import FACT_LABELS, TEXT_KINDS
from schemas.tables import frame, frame_from_arrow

#: Two blocks with at least this similarity (:func:`block_similarity`) are one block that changed.
BLOCK_MATCH = 0.5
#: Words on each side of an amount or date that say which fact it is.
FACT_CONTEXT = 4
#: Context similarity (0..1) for two mentions in aligned blocks to be one fact with a new value.
FACT_MATCH_ALIGNED = 0.15
#: Context similarity for two mentions anywhere in the documents to be one fact.
FACT_MATCH_ANYWHERE = 0.45
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
    for row in docs.itertuples(index=False):
        out.setdefault(row.series, []).append(Edition(row.doc_id, _str(row.edition), row.source))
    return out


def similarity(a: str, b: str) -> float:
    """Word similarity of two texts (0..1)."""
    return difflib.SequenceMatcher(None, a.split(), b.split(), autojunk=False).ratio()


def word_diff(a: str, b: str) -> tuple[str, str]:
    """``a`` with removed words in ``[-…-]`` and ``b`` with added words in ``{+…+}``."""
    aw, bw = a.split(), b.split()
    before: list[str] = []
    after: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, aw, bw, autojunk=False).get_opcodes():
        if op == "equal":
            before.extend(aw[i1:i2])
            after.extend(bw[j1:j2])
            continue
        if i2 > i1:
            before.append("[-" + " ".join(aw[i1:i2]) + "-]")
        if j2 > j1:
            after.append("{+" + " ".join(bw[j1:j2]) + "+}")
    return " ".join(before), " ".join(after)


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
# Facts: amounts and dates
# --------------------------------------------------------------------------------------------


def _context(text: str, start: int, n: int = 3) -> tuple[str, ...]:
    """The ``n`` words before a mention, lower-cased, without punctuation."""
    words = [re.sub(r"[^\w’'-]", "", w) for w in _WORD.findall(text[:start].lower())]
    return tuple(w for w in words if w)[-n:]


def _context_words(text: str) -> list[str]:
    words = [re.sub(r"[^\w’'-]", "", w) for w in _WORD.findall(text.lower())]
    return [w for w in words if w and not any(c.isdigit() for c in w)]


def fact_context(text: str, start: int, end: int, n: int = FACT_CONTEXT) -> frozenset[str]:
    """The ``n`` words before and after a mention (``<`` and ``>`` tagged), lower-cased,
    without punctuation or numbers (which may be other facts that changed)."""
    before = _context_words(text[:start])[-n:]
    after = _context_words(text[end:])[:n]
    return frozenset([f"<{w}" for w in before] + [f">{w}" for w in after])


def _jaccard(x: frozenset[str], y: frozenset[str]) -> float:
    return len(x & y) / len(x | y) if x or y else 1.0


@dataclass(frozen=True)
class _Mention:
    n: int  # position in the edition's mentions, for stable tie-breaks
    block_id: int
    label: str
    text: str
    canonical: str
    key: tuple[str, str]
    unit: str | None  # as printed; compared case-folded
    context: frozenset[str]
    words_before: tuple[str, ...]


def _fact_mentions(entities: pd.DataFrame, texts: dict[int, str]) -> list[_Mention]:
    ents = entities[entities.label.isin(FACT_LABELS)].sort_values(["block_id", "start_char", "end_char"])
    out = []
    for n, r in enumerate(ents.itertuples(index=False)):
        text = texts.get(int(r.block_id), "")
        out.append(
            _Mention(
                n, int(r.block_id), r.label, r.text, r.canonical, _entity_key(r), _str(r.unit),
                fact_context(text, int(r.start_char), int(r.end_char)), _context(text, int(r.start_char)),
            )
        )
    return out


def match_facts(ma: list[_Mention], mb: list[_Mention], aligned: set[tuple[int, int]]) -> list[tuple[_Mention, _Mention]]:
    """Pairs of mentions that are the same fact in both editions (same value or a new one).

    Every candidate pair gets a score: the similarity of the words around the two mentions,
    plus 0.5 when their blocks are aligned, plus 0.25 when the value is the same. The best
    pairs are taken first. Same value: any pair. New value: an amount needs the same unit;
    both need enough of the same words around them (:data:`FACT_MATCH_ALIGNED` in aligned
    blocks, :data:`FACT_MATCH_ANYWHERE` elsewhere).
    """
    scored = []
    for x in ma:
        for y in mb:
            if x.label != y.label:
                continue
            same = x.key == y.key
            if not same and x.label == "AMOUNT" and (x.unit or "").casefold() != (y.unit or "").casefold():
                continue
            ctx = _jaccard(x.context, y.context)
            in_aligned = (x.block_id, y.block_id) in aligned
            if not same and ctx < (FACT_MATCH_ALIGNED if in_aligned else FACT_MATCH_ANYWHERE):
                continue
            scored.append((-(ctx + 0.5 * in_aligned + 0.25 * same), x.n, y.n, x, y))
    scored.sort(key=lambda t: t[:3])
    used_a: set[int] = set()
    used_b: set[int] = set()
    out = []
    for _, na, nb, x, y in scored:
        if na in used_a or nb in used_b:
            continue
        used_a.add(na)
        used_b.add(nb)
        out.append((x, y))
    return out


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


def _entity_keys(mentions: list[tuple[Key, str, str]], aliases: dict[Key, Key]) -> dict[Key, tuple[str, str]]:
    """Each entity key of an edition → (canonical, text) of its first mention."""
    out: dict[Key, tuple[str, str]] = {}
    for key, canonical, text in mentions:
        out.setdefault(aliases.get(key, key), (canonical, text))
    return out


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------


def _str(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and value != value) or value is pd.NA else str(value)


def _change_row(series: str, a: Edition, b: Edition, change: str, level: str, label: str, canonical: str | None,
                before: str | None, after: str | None, sim: float | None) -> dict[str, Any]:
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
    }


def _fact(m: _Mention) -> str:
    return f"{m.canonical} ({m.text})"


@dataclass(frozen=True)
class _Prepared:
    """What the comparison needs of one edition, made once for both pairs it is in."""

    blocks: list[_Block]
    facts: list[_Mention]
    entities: list[tuple[Key, str, str]]  # (key, canonical, text) in reading order
    acronyms: dict[Key, set[Key]]


def _prepare(doc_id: str, blocks: pd.DataFrame, entities: pd.DataFrame) -> _Prepared:
    body = _body_blocks(blocks, doc_id)
    ents = entities[entities.doc_id == doc_id]
    return _Prepared(
        body,
        _fact_mentions(ents, {x.block_id: x.text for x in body}),
        [(_entity_key(r), r.canonical, r.text) for r in ents.sort_values(["block_id", "start_char"]).itertuples(index=False)],
        _acronyms(ents),
    )


def compare_pair(series: str, a: Edition, b: Edition, blocks: pd.DataFrame, entities: pd.DataFrame) -> list[dict[str, Any]]:
    """The change rows from edition ``a`` to edition ``b`` (unsorted, without ids)."""
    return _compare_prepared(series, a, b, _prepare(a.doc_id, blocks, entities), _prepare(b.doc_id, blocks, entities))


def _compare_prepared(series: str, a: Edition, b: Edition, pa_: _Prepared, pb: _Prepared) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    la, lb = pa_.blocks, pb.blocks
    items_a = [(x.block_id, x.kind, x.text, x.section) for x in la]
    items_b = [(x.block_id, x.kind, x.text, x.section) for x in lb]
    pairs, only_a, only_b = align_blocks(items_a, items_b)
    moved = _moved(la, lb, pairs)

    for i, j, sim in pairs:
        x, y = la[i], lb[j]
        if (i, j) in moved:
            rows.append(_change_row(series, a, b, "moved", "block", y.kind, y.text, x.section, y.section, None))
        if sim < 1.0 or x.text != y.text:
            before, after = word_diff(x.text, y.text)
            rows.append(_change_row(series, a, b, "changed", "block", x.kind, y.section, before, after, round(sim, 4)))
    for i in only_a:
        rows.append(_change_row(series, a, b, "removed", "block", la[i].kind, la[i].section, la[i].text, None, None))
    for j in only_b:
        rows.append(_change_row(series, a, b, "added", "block", lb[j].kind, lb[j].section, None, lb[j].text, None))

    aligned = {(la[i].block_id, lb[j].block_id) for i, j, _ in pairs}
    changed_facts: set[tuple[str, str]] = set()
    for fa, fb in match_facts(pa_.facts, pb.facts, aligned):
        if fa.key == fb.key:
            continue
        key = (fa.unit if fa.label == "AMOUNT" else None) or " ".join(fa.words_before) or None
        rows.append(_change_row(series, a, b, "changed", "entity", fa.label, key, _fact(fa), _fact(fb), None))
        changed_facts.update((fa.key, fb.key))

    aliases = _aliases(pa_.acronyms, pb.acronyms)
    keys_a = _entity_keys(pa_.entities, aliases)
    keys_b = _entity_keys(pb.entities, aliases)
    for gone in sorted(set(keys_a) - set(keys_b)):
        if gone not in changed_facts:
            rows.append(_change_row(series, a, b, "removed", "entity", gone[0], keys_a[gone][0], keys_a[gone][1], None, None))
    for new in sorted(set(keys_b) - set(keys_a)):
        if new not in changed_facts:
            rows.append(_change_row(series, a, b, "added", "entity", new[0], keys_b[new][0], None, keys_b[new][1], None))
    return rows


#: (series, older, newer, their blocks, their entities): the rows as DataFrames, or as Arrow
#: tables (cheaper to make and to send to a worker process; made into frames where it runs)
PairJob = tuple[str, Edition, Edition, pd.DataFrame | pa.Table, pd.DataFrame | pa.Table]


def pair_jobs(documents: pd.DataFrame, blocks: pd.DataFrame, entities: pd.DataFrame) -> Iterator[PairJob]:
    """One job per pair of consecutive editions of each series, with only those two
    documents' blocks and entities (so jobs can run anywhere, in any order). Jobs are made
    as they are consumed, so only the pairs in flight are held in memory."""
    blocks_of = dict(tuple(blocks.groupby("doc_id", sort=False)))
    entities_of = dict(tuple(entities.groupby("doc_id", sort=False)))
    empty_b, empty_e = blocks.iloc[:0], entities.iloc[:0]

    def two(parts: dict[Any, pd.DataFrame], empty: pd.DataFrame, a: Edition, b: Edition) -> pd.DataFrame:
        return pd.concat([parts.get(a.doc_id, empty), parts.get(b.doc_id, empty)], ignore_index=True)

    for series, eds in editions_by_series(documents).items():
        for a, b in zip(eds, eds[1:]):
            yield series, a, b, two(blocks_of, empty_b, a, b), two(entities_of, empty_e, a, b)


def run_jobs(jobs: Iterable[PairJob]) -> list[dict[str, Any]]:
    """The change rows (without ids) of some pair jobs."""
    rows: list[dict[str, Any]] = []
    last: dict[str, _Prepared] = {}  # consecutive pairs of a series share an edition: prepare it once
    for series, a, b, blocks, entities in jobs:
        if isinstance(blocks, pa.Table):
            blocks, entities = frame_from_arrow("blocks", [blocks]), frame_from_arrow("entities", [entities])
        pa_ = last.get(a.doc_id) or _prepare(a.doc_id, blocks, entities)
        pb = _prepare(b.doc_id, blocks, entities)
        last = {b.doc_id: pb}
        rows.extend(_compare_prepared(series, a, b, pa_, pb))
    return rows


def compare_jobs(jobs: Iterable[PairJob]) -> pd.DataFrame:
    """The ``changes`` rows of some pair jobs, sorted and with their ids."""
    return finish_changes(run_jobs(jobs))


def compare_editions(documents: pd.DataFrame, blocks: pd.DataFrame, entities: pd.DataFrame) -> pd.DataFrame:
    """The ``changes`` table for every pair of consecutive editions of every series."""
    return compare_jobs(pair_jobs(documents, blocks, entities))


def compare_two(documents: pd.DataFrame, blocks: pd.DataFrame, entities: pd.DataFrame, from_doc_id: str, to_doc_id: str) -> pd.DataFrame:
    """The ``changes`` table from one document to another of the same series (any two
    editions, in either direction)."""
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
    return finish_changes(compare_pair(str(sa), a, b, blocks, entities))


_ORDER = {"changed": 0, "moved": 1, "removed": 2, "added": 3}
_SORT = ["series", "from_edition", "to_edition", "from_doc_id", "to_doc_id", "_l", "_o", "label", "canonical", "before", "after"]


def finish_changes(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """The ``changes`` table from rows without ids: sorted, each row with a stable id."""
    return sort_changes(frame("changes", _with_ids(rows)))


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
