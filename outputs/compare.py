"""Compare consecutive editions of each series: what was added, removed or changed.

Three kinds of rows, all in the ``changes`` table:

- ``level="block"`` (``canonical`` holds the section the block is in): body blocks (headings, paragraphs, list items, captions) aligned across
  the two editions by content; identical text is unchanged wherever it moved, the most similar
  remaining pairs (similarity ≥ ``BLOCK_MATCH``) are ``changed`` with a word-level diff, the
  rest ``added`` or ``removed``;
- ``level="entity"``, label AMOUNT or DATE, ``changed``: the same fact with a new value, matched
  inside aligned blocks by unit (amounts) or by the words just before it (dates);
- ``level="entity"``, ``added``/``removed``: entities by (label, canonical) present in only one
  of the editions, facts already reported as changed excepted.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from schemas.tables import frame

BODY_KINDS = ("title", "heading", "paragraph", "list_item", "caption")
#: Two blocks with at least this word similarity are one block that changed.
BLOCK_MATCH = 0.5
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Edition:
    doc_id: str
    edition: str | None
    source: str


def editions_by_series(documents: pd.DataFrame) -> dict[str, list[Edition]]:
    out: dict[str, list[Edition]] = {}
    docs = documents.sort_values(["series", "edition", "source"], na_position="first")
    for row in docs.itertuples(index=False):
        out.setdefault(row.series, []).append(Edition(row.doc_id, row.edition, row.source))
    return out


def similarity(a: str, b: str) -> float:
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


def align_blocks(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> tuple[list[tuple[int, int, float]], list[int], list[int]]:
    """Pairs (i, j, similarity) of aligned blocks, and the unmatched indices of ``a`` and ``b``.

    Items are ``(block_id, kind, text, ...)``. Exact matches pair first (so moved text is not
    reported), then the most similar pairs of the same kind.
    """
    pairs: list[tuple[int, int, float]] = []
    free_a = list(range(len(a)))
    free_b = list(range(len(b)))
    by_text: dict[str, list[int]] = {}
    for j in free_b:
        by_text.setdefault(b[j][2], []).append(j)
    for i in list(free_a):
        js = by_text.get(a[i][2])
        if js:
            j = js.pop(0)
            pairs.append((i, j, 1.0))
            free_a.remove(i)
            free_b.remove(j)
    scored = []
    for i in free_a:
        for j in free_b:
            if a[i][1] != b[j][1] and {a[i][1], b[j][1]} != {"paragraph", "list_item"}:
                continue
            s = similarity(a[i][2], b[j][2])
            if s >= BLOCK_MATCH:
                scored.append((s, -abs(i - j), i, j))
    scored.sort(reverse=True)
    for s, _, i, j in scored:
        if i in free_a and j in free_b:
            pairs.append((i, j, s))
            free_a.remove(i)
            free_b.remove(j)
    return sorted(pairs), free_a, free_b


def _context(text: str, start: int, n: int = 3) -> tuple[str, ...]:
    """The ``n`` words before a mention, lower-cased, without punctuation."""
    words = [re.sub(r"[^\w’'-]", "", w) for w in _WORD.findall(text[:start].lower())]
    return tuple(w for w in words if w)[-n:]


def _same_fact(r: Any, s: Any) -> bool:
    """The same mention in both editions: same normalised value, or the same words of a
    relative date ("the last two years"), whose range moves with the edition date."""
    return r.canonical == s.canonical or (r.text == s.text and r.qualifier == "relative" == s.qualifier)


def _change_row(series: str, a: Edition, b: Edition, change: str, level: str, label: str, canonical: str | None,
                before: str | None, after: str | None, sim: float | None) -> dict[str, Any]:
    key = "\x1f".join(str(x) for x in (series, a.edition, b.edition, change, level, label, canonical, before, after))
    return {
        "change_id": hashlib.sha1(key.encode()).hexdigest()[:16],
        "series": series,
        "from_edition": a.edition,
        "to_edition": b.edition,
        "change": change,
        "level": level,
        "label": label,
        "canonical": canonical,
        "before": before,
        "after": after,
        "similarity": sim,
    }


def _fact(row: Any) -> str:
    return f"{row.canonical} ({row.text})"


def compare_pair(series: str, a: Edition, b: Edition, blocks: pd.DataFrame, entities: pd.DataFrame) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    ba = blocks[(blocks.doc_id == a.doc_id) & blocks.kind.isin(BODY_KINDS)].sort_values("block_id")
    bb = blocks[(blocks.doc_id == b.doc_id) & blocks.kind.isin(BODY_KINDS)].sort_values("block_id")
    la = list(zip(ba.block_id, ba.kind, ba.text, ba.section.where(ba.section.notna(), None)))
    lb = list(zip(bb.block_id, bb.kind, bb.text, bb.section.where(bb.section.notna(), None)))
    pairs, only_a, only_b = align_blocks(la, lb)

    ea = entities[entities.doc_id == a.doc_id]
    eb = entities[entities.doc_id == b.doc_id]
    changed_facts: set[tuple[str, str]] = set()  # (label, canonical) covered by a "changed" row

    for i, j, sim in pairs:
        if sim < 1.0:
            before, after = word_diff(la[i][2], lb[j][2])
            rows.append(_change_row(series, a, b, "changed", "block", la[i][1], lb[j][3], before, after, round(sim, 4)))
        # Facts with a new value inside aligned blocks.
        xa = ea[ea.block_id == la[i][0]]
        xb = eb[eb.block_id == lb[j][0]]
        for label in ("AMOUNT", "DATE"):
            fa = [r for r in xa.itertuples(index=False) if r.label == label]
            fb = [r for r in xb.itertuples(index=False) if r.label == label]
            unmatched_b = [s for s in fb if not any(_same_fact(r, s) for r in fa)]
            for r in fa:
                if any(_same_fact(r, s) for s in fb):
                    continue
                ctx = _context(la[i][2], r.start_char)
                match = None
                for s in unmatched_b:
                    if label == "AMOUNT" and s.unit == r.unit:
                        match = s
                        break
                    if label == "DATE" and _context(lb[j][2], s.start_char)[-2:] == ctx[-2:]:
                        match = s
                        break
                if match is not None:
                    unmatched_b.remove(match)
                    key = r.unit if label == "AMOUNT" else " ".join(ctx)
                    rows.append(_change_row(series, a, b, "changed", "entity", label, key, _fact(r), _fact(match), None))
                    changed_facts.add((label, r.canonical))
                    changed_facts.add((label, match.canonical))

    for i in only_a:
        rows.append(_change_row(series, a, b, "removed", "block", la[i][1], la[i][3], la[i][2], None, None))
    for j in only_b:
        rows.append(_change_row(series, a, b, "added", "block", lb[j][1], lb[j][3], None, lb[j][2], None))

    keys_a, text_a = _entity_keys(ea)
    keys_b, text_b = _entity_keys(eb)
    for key in sorted(set(keys_a) - set(keys_b)):
        if key not in changed_facts:
            rows.append(_change_row(series, a, b, "removed", "entity", key[0], key[1], text_a[key], None, None))
    for key in sorted(set(keys_b) - set(keys_a)):
        if key not in changed_facts:
            rows.append(_change_row(series, a, b, "added", "entity", key[0], key[1], None, text_b[key], None))
    return rows


def _entity_keys(df: pd.DataFrame) -> tuple[set[tuple[str, str]], dict[tuple[str, str], str]]:
    """(label, canonical) of each entity; a relative date is keyed by its words, since its
    range follows the edition date."""
    keys: set[tuple[str, str]] = set()
    texts: dict[tuple[str, str], str] = {}
    for r in df.itertuples(index=False):
        key = (r.label, f"relative: {r.text.lower()}") if r.qualifier == "relative" and r.label == "DATE" else (r.label, r.canonical)
        keys.add(key)
        texts.setdefault(key, r.text)
    return keys, texts


def compare_editions(documents: pd.DataFrame, blocks: pd.DataFrame, entities: pd.DataFrame) -> pd.DataFrame:
    """The ``changes`` table for every pair of consecutive editions of every series."""
    rows: list[dict[str, Any]] = []
    for series, eds in editions_by_series(documents).items():
        for a, b in zip(eds, eds[1:]):
            rows.extend(compare_pair(series, a, b, blocks, entities))
    return sort_changes(frame("changes", rows))


_ORDER = {"changed": 0, "removed": 1, "added": 2}


def sort_changes(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    key = df.assign(_o=df["change"].map(_ORDER), _l=(df["level"] == "block").astype(int))
    key = key.sort_values(["series", "from_edition", "to_edition", "_l", "_o", "label", "canonical", "before", "after"],
                          na_position="first", kind="mergesort")
    return key.drop(columns=["_o", "_l"]).reset_index(drop=True)


def summarise(changes: pd.DataFrame) -> dict[str, int]:
    return {f"{lvl}/{chg}": int(n) for (lvl, chg), n in changes.groupby(["level", "change"]).size().items()}


def iter_series(changes: pd.DataFrame) -> Iterable[tuple[str, pd.DataFrame]]:
    for series, df in changes.groupby("series", sort=True):
        yield str(series), df
