"""Layout-aware text extraction with pdfplumber.

The page is read from the words' geometry alone, with no fixed page coordinates:

1. words are grouped into *rows* (same baseline); list bullets drawn as small shapes become
   bullet words, and a soft hyphen where a word breaks is kept as a mark;
2. running headers and footers are found by position in the page's top or bottom band and by
   repetition across pages;
3. column *gutters* are x positions where several rows have a wide gap; a run of rows that no
   word crosses at a gutter is a column region, everything else is full width. A photo wholly
   in one column is part of that column, so a column that starts with a photo starts there;
4. regions are read top to bottom, the columns of a region left to right;
5. lines become blocks at paragraph gaps, style changes, indents and bullets, and blocks are
   classified (title, heading, paragraph, list item, caption) from font size, weight and style
   relative to the document's body text (the size of its regular-weight text);
6. a paragraph or list item cut by a column or page break is joined again (a caption between
   the halves follows the joined block), and line-end hyphens that split a word are removed
   (the last section: the document's own words, then a dictionary, then the shape of the parts).
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from schemas.records import BBox, Block

from .data import read_lines
from .normalise import HYPHENS
from .pdf import BULLETS, SOFT_HYPHEN, PageWords, Word, clean_text

#: Words whose baselines differ by less than this share of the font size are on one row.
DEFAULT_ROW_TOLERANCE = 0.35
#: A gap between two words wider than this many body-font sizes may be a column gutter.
DEFAULT_GUTTER_MIN_EM = 0.9
#: Rows that must show a gap at the same x before it counts as a gutter.
DEFAULT_GUTTER_MIN_ROWS = 3
#: Share of the page height searched for running headers (top) and footers (bottom).
DEFAULT_MARGIN_BAND = 0.1
#: A vertical gap this many font sizes larger than the usual line gap starts a new paragraph.
DEFAULT_PARAGRAPH_GAP_EM = 0.35
#: Text this much larger than the body text is a heading; this much larger on page 1, the title.
DEFAULT_HEADING_RATIO = 1.12
DEFAULT_TITLE_RATIO = 1.5
#: Text this much smaller than the body text (or italic) is a caption.
DEFAULT_CAPTION_RATIO = 0.9
#: The body size is read from regular-weight text when it holds at least this share of the
#: characters (a bold lead can outweigh the body of a short page); otherwise from all text.
DEFAULT_BODY_REGULAR_SHARE = 0.25
#: The rest of a list item at the top of the next column stands at least this many font sizes
#: in from the column's left edge (a hanging indent); a new paragraph starts at the edge.
DEFAULT_LIST_INDENT_EM = 0.5

_PAGE_NUMBER = re.compile(r"^(page\s*)?\d{1,4}(\s*(/|of)\s*\d{1,4})?$", re.IGNORECASE)
_TERMINAL = (".", "!", "?", ":", ";", "”", '"', ")")


@dataclass
class Line:
    """Words of one row within one column of one region."""

    words: list[Word]
    page: int
    region: int = 0
    column: int = 0
    first_in_column: bool = False
    last_in_column: bool = False

    @property
    def x0(self) -> float:
        return min(w.x0 for w in self.words)

    @property
    def x1(self) -> float:
        return max(w.x1 for w in self.words)

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def size(self) -> float:
        return statistics.median(w.size for w in self.words)

    @property
    def bold(self) -> bool:
        n = sum(len(w.text) for w in self.words if w.bold)
        return n * 2 > sum(len(w.text) for w in self.words)

    @property
    def italic(self) -> bool:
        n = sum(len(w.text) for w in self.words if w.italic)
        return n * 2 > sum(len(w.text) for w in self.words)

    @property
    def bbox(self) -> BBox:
        return BBox(self.x0, self.top, self.x1, self.bottom)

    def style(self) -> tuple[float, bool, bool]:
        return (round(self.size * 2) / 2, self.bold, self.italic)


@dataclass
class LayoutSettings:
    """Tunables of the layout stage. ``resolve`` accepts None, a dict or an instance."""

    row_tolerance: float = DEFAULT_ROW_TOLERANCE
    gutter_min_em: float = DEFAULT_GUTTER_MIN_EM
    gutter_min_rows: int = DEFAULT_GUTTER_MIN_ROWS
    margin_band: float = DEFAULT_MARGIN_BAND
    paragraph_gap_em: float = DEFAULT_PARAGRAPH_GAP_EM
    heading_ratio: float = DEFAULT_HEADING_RATIO
    title_ratio: float = DEFAULT_TITLE_RATIO
    caption_ratio: float = DEFAULT_CAPTION_RATIO
    body_regular_share: float = DEFAULT_BODY_REGULAR_SHARE
    list_indent_em: float = DEFAULT_LIST_INDENT_EM

    def __post_init__(self) -> None:
        if not 0 < self.margin_band < 0.5:
            raise ValueError(f"margin_band must be between 0 and 0.5 of the page height, got {self.margin_band!r}")
        if not 0 <= self.body_regular_share <= 1:
            raise ValueError(f"body_regular_share must be between 0 and 1, got {self.body_regular_share!r}")
        if self.gutter_min_rows < 2:
            raise ValueError(f"gutter_min_rows must be 2 or more, got {self.gutter_min_rows!r}")
        for name in ("row_tolerance", "gutter_min_em", "paragraph_gap_em", "heading_ratio", "title_ratio", "list_indent_em"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")

    @classmethod
    def resolve(cls, value: LayoutSettings | dict[str, Any] | None) -> LayoutSettings:
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            unknown = set(value) - set(cls.__dataclass_fields__)
            if unknown:
                raise ValueError(f"unknown layout settings {sorted(unknown)}; known: {sorted(cls.__dataclass_fields__)}")
            return cls(**value)
        raise ValueError(f"layout settings must be None, a dict or LayoutSettings, got {type(value).__name__}")


def _rows(words: Iterable[Word], tolerance: float) -> list[list[Word]]:
    rows: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (w.bottom, w.x0)):
        if rows:
            ref = rows[-1][0]
            if abs(w.bottom - ref.bottom) <= tolerance * min(w.size, ref.size):
                rows[-1].append(w)
                continue
        rows.append([w])
    for row in rows:
        row.sort(key=lambda w: w.x0)
    rows.sort(key=lambda r: min(w.top for w in r))
    return rows


def _split_row(row: list[Word], max_gap: float) -> list[list[Word]]:
    parts: list[list[Word]] = [[row[0]]]
    for a, b in zip(row, row[1:]):
        if b.x0 - a.x1 > max_gap:
            parts.append([b])
        else:
            parts[-1].append(b)
    return parts


def _row_text(row: Sequence[Word]) -> str:
    return " ".join(w.text for w in row)


def body_font_size(pages: Sequence[PageWords], regular_share: float = DEFAULT_BODY_REGULAR_SHARE) -> float:
    """The size of the body text: the size that carries the most characters of regular-weight text.

    Body text is set upright and not bold; a long bold lead (larger than the body on short
    factsheets) or italic captions must not set the scale every other size is judged by. When
    regular text is less than ``regular_share`` of all characters (a document set in bold, or
    only a regular footer), every word counts.
    """
    sizes: Counter[float] = Counter()
    regular: Counter[float] = Counter()
    for p in pages:
        for w in p.words:
            key = round(w.size * 2) / 2
            sizes[key] += len(w.text)
            if not (w.bold or w.italic):
                regular[key] += len(w.text)
    if regular and sum(regular.values()) >= regular_share * sum(sizes.values()):
        return regular.most_common(1)[0][0]
    return sizes.most_common(1)[0][0] if sizes else 10.0


# ------------------------------------------------------------------------- headers and footers


def _running_key(text: str) -> str:
    return re.sub(r"\d+", "#", text.lower()).strip()


def split_margins(
    pages: Sequence[PageWords], body_size: float, settings: LayoutSettings
) -> tuple[dict[int, list[list[Word]]], dict[int, list[tuple[str, list[Word]]]]]:
    """Separate running header/footer rows from body rows, page by page.

    Returns ``(body_rows, margin_parts)`` where ``margin_parts[page]`` lists ``(kind, words)``
    for each header or footer part (a row split at wide gaps, so that the left and the right
    header texts are separate blocks).
    """
    page_rows = {p.number: _rows(p.words, settings.row_tolerance) for p in pages}
    max_size = max((w.size for p in pages for w in p.words), default=body_size)
    # Count on how many pages a row's text recurs near the same edge.
    recur: Counter[tuple[str, str]] = Counter()
    for p in pages:
        seen = set()
        for row in page_rows[p.number]:
            edge = _edge(row, p, 0.2)
            if edge:
                seen.add((edge, _running_key(_row_text(row))))
        recur.update(seen)
    min_pages = 2 if len(pages) <= 3 else max(2, math.ceil(len(pages) / 2))

    body: dict[int, list[list[Word]]] = {}
    margins: dict[int, list[tuple[str, list[Word]]]] = {}
    for p in pages:
        rows = page_rows[p.number]
        kinds: dict[int, str] = {}
        for i, row in enumerate(rows):
            edge = _edge(row, p, 0.2)
            if edge and len(pages) > 1 and recur[(edge, _running_key(_row_text(row)))] >= min_pages:
                kinds[i] = edge
            elif _edge(row, p, settings.margin_band) and _PAGE_NUMBER.match(_row_text(row)):
                kinds[i] = _edge(row, p, settings.margin_band) or "footer"
        kinds.update(_detached_margin_rows(rows, p, body_size, max_size, settings))
        body[p.number] = [row for i, row in enumerate(rows) if i not in kinds]
        margins[p.number] = [(kinds[i], part) for i, row in enumerate(rows) if i in kinds
                             for part in _split_row(row, 2 * body_size)]
    return body, margins


def _detached_margin_rows(
    rows: Sequence[Sequence[Word]], page: PageWords, body_size: float, max_size: float, settings: LayoutSettings
) -> dict[int, str]:
    """Rows in the top or bottom band set apart from the body by a wide gap (a header or footer
    even on a one-page document), never the largest text (a title near the top)."""
    out: dict[int, str] = {}
    for kind, order in (("header", list(range(len(rows)))), ("footer", list(range(len(rows) - 1, -1, -1)))):
        band_rows = [i for i in order if _edge(rows[i], page, settings.margin_band) == kind]
        if not band_rows:
            continue
        # Walk inward from the page edge; the widest gap after the band rows is the boundary.
        seq = order[: len(band_rows) + 1]
        best_gap, cut = 0.0, 0
        for k in range(1, len(seq)):
            outer, inner = rows[seq[k - 1]], rows[seq[k]]
            if kind == "header":
                gap = min(w.top for w in inner) - max(w.bottom for w in outer)
            else:
                gap = min(w.top for w in outer) - max(w.bottom for w in inner)
            if k <= len(band_rows) and gap >= best_gap:
                best_gap, cut = gap, k
        if len(seq) == len(band_rows):  # every row is in the band
            best_gap, cut = max(best_gap, body_size * 2), len(seq)
        if best_gap < 1.2 * body_size:
            continue
        for i in seq[:cut]:
            if max(w.size for w in rows[i]) < 0.8 * max_size:
                out[i] = kind
    return out


def _edge(row: Sequence[Word], page: PageWords, band: float) -> str | None:
    top = min(w.top for w in row)
    bottom = max(w.bottom for w in row)
    if bottom <= page.height * band:
        return "header"
    if top >= page.height * (1 - band):
        return "footer"
    return None


# ----------------------------------------------------------------------------- regions, columns

@dataclass(frozen=True)
class Gutter:
    """A vertical strip of white space between columns, from ``top`` to ``bottom``."""

    x: float
    top: float
    bottom: float
    support: int  # rows with text on both sides of the strip


def _row_box(row: Sequence[Word]) -> tuple[float, float]:
    return min(w.top for w in row), max(w.bottom for w in row)


def find_gutters(rows: Sequence[Sequence[Word]], body_size: float, settings: LayoutSettings) -> list[Gutter]:
    """Column gutters of one page: x positions that no word crosses over several lines, with
    text on both sides and a white strip wider than the usual space between words.

    Rows need not share baselines across columns: the strip is found from the words' boxes.
    """
    words = [w for row in rows for w in row]
    if len(words) < 4:
        return []
    x0 = np.array([w.x0 for w in words])
    x1 = np.array([w.x1 for w in words])
    r_top = np.array([_row_box(r)[0] for r in rows])
    r_bottom = np.array([_row_box(r)[1] for r in rows])
    r_first_x1 = np.array([r[0].x1 for r in rows])
    r_last_x0 = np.array([r[-1].x0 for r in rows])
    r_min_x0 = np.array([r[0].x0 for r in rows])
    r_max_x1 = np.array([max(w.x1 for w in r) for r in rows])
    gaps = [b.x0 - a.x1 for row in rows for a, b in zip(row, row[1:]) if b.x0 > a.x1]
    usual_gap = statistics.median(gaps) if gaps else body_size * 0.3
    gap_min = max(settings.gutter_min_em * body_size, 2.0 * usual_gap)
    min_rows = settings.gutter_min_rows
    min_width = 5 * body_size

    candidates: set[int] = set()
    for row in rows:
        for a, b in zip(row, row[1:]):
            if b.x0 - a.x1 >= gap_min:
                candidates.add(round((a.x1 + b.x0) / 4) * 2)
    for v in r_max_x1:
        candidates.add(round((v + gap_min / 2) / 2) * 2)
    for v in r_min_x0:
        candidates.add(round((v - gap_min / 2) / 2) * 2)

    row_of = np.array([i for i, row in enumerate(rows) for _ in row])
    n_rows = len(rows)
    found: list[Gutter] = []
    for x in sorted(candidates):
        has_left = r_first_x1 <= x
        has_right = r_last_x0 >= x
        if has_left.sum() < min_rows or has_right.sum() < min_rows:
            continue
        # The white space each row leaves at x: from its last word left of x to its first right.
        lmask = x1 <= x
        rmask = x0 >= x
        left_edge = np.full(n_rows, -np.inf)
        right_edge = np.full(n_rows, np.inf)
        np.maximum.at(left_edge, row_of[lmask], x1[lmask])
        np.minimum.at(right_edge, row_of[rmask], x0[rmask])
        crossed = np.zeros(n_rows, dtype=bool)
        crossed[row_of[~(lmask | rmask)]] = True
        narrow = has_left & has_right & ((right_edge - left_edge) < gap_min)
        blocked = np.flatnonzero(crossed | narrow)
        spans = sorted(zip(r_top[blocked].tolist(), r_bottom[blocked].tolist()))
        # Free vertical intervals at x, between rows that cross it.
        free: list[tuple[float, float]] = []
        cursor = -math.inf
        for t, b in spans:
            if t > cursor:
                free.append((cursor, t))
            cursor = max(cursor, b)
        free.append((cursor, math.inf))
        for y0, y1 in free:
            inside = (r_top >= y0 - 0.5) & (r_bottom <= y1 + 0.5) & ~crossed & ~narrow
            left = inside & has_left
            right = inside & has_right
            n_left, n_right = int(left.sum()), int(right.sum())
            if min(n_left, n_right) < min_rows:
                continue
            # Each side must hold text, not just a column of bullets or numbers.
            if x - r_min_x0[left].min() < min_width or r_max_x1[right].max() - x < min_width:
                continue
            if not (left & right).any():
                lt, lb = r_top[left].min(), r_bottom[left].max()
                rt, rb = r_top[right].min(), r_bottom[right].max()
                if not (lb > rt and rb > lt):
                    continue  # stacked, not side by side
            top = float(r_top[inside].min())
            bottom = float(r_bottom[inside].max())
            found.append(Gutter(float(x), top, bottom, min(n_left, n_right)))
    # One gutter per white strip: of overlapping candidates close together keep the best supported,
    # and of equally supported ones the middle of the strip.
    found.sort(key=lambda g: (-g.support, g.x))
    kept: list[Gutter] = []
    for g in found:
        # Two true gutters are at least a column (min_width) apart: closer ones are one strip.
        same = [f for f in found if f.support == g.support and abs(f.x - g.x) < min_width and f.top < g.bottom and g.top < f.bottom]
        xs = sorted(f.x for f in same)
        mid = xs[len(xs) // 2]
        if any(min(abs(g.x - k.x), abs(mid - k.x)) < min_width and g.top < k.bottom and k.top < g.bottom for k in kept):
            continue
        kept.append(Gutter(mid, g.top, g.bottom, g.support))
    return kept


def usual_row_gap(rows: Sequence[Sequence[Word]], body_size: float) -> float:
    """The most common white space between a line and the next line below it in its column."""
    boxes = [(min(w.x0 for w in r), max(w.x1 for w in r), *_row_box(r)) for r in rows]
    gaps: Counter[float] = Counter()
    for i, (x0, x1, _, b) in enumerate(boxes):
        below = [t - b for (u0, u1, t, _) in boxes[i + 1 :] if u0 < x1 and x0 < u1 and t >= b - 1]
        if below:
            g = min(below)
            if g < 2 * body_size:
                gaps[round(g * 2) / 2] += 1
    return gaps.most_common(1)[0][0] if gaps else 0.25 * body_size


def _runs(lines: list[tuple[float, float, float]], para_gap: float) -> list[list[tuple[float, float, float]]]:
    """Lines (top, bottom, x-extent edge) grouped into runs at line spacing."""
    runs: list[list[tuple[float, float, float]]] = []
    for line in lines:
        if runs and line[0] - runs[-1][-1][1] <= para_gap:
            runs[-1].append(line)
        else:
            runs.append([line])
    return runs


def _column_figures(
    rows: Sequence[Sequence[Word]], gutter: Gutter, figures: Sequence[BBox], left_x0: float, right_x1: float
) -> tuple[list[BBox], list[BBox]]:
    """Figures that belong to the column left or right of the gutter: wholly on that side,
    under that column's text, and in the same white strip (no row crosses the gutter's x
    between the figure and the gutter's rows). A column may begin or end with a photo."""
    x = gutter.x
    crossing = [_row_box(r) for r in rows if any(w.x0 < x < w.x1 for w in r)]
    left: list[BBox] = []
    right: list[BBox] = []
    for f in figures:
        lo, hi = min(f.top, gutter.top), max(f.bottom, gutter.bottom)
        if any(t < hi and b > lo for t, b in crossing):
            continue
        if f.x1 <= x and f.x1 > left_x0:
            left.append(f)
        elif f.x0 >= x and f.x0 < right_x1:
            right.append(f)
    return left, right


def _trim(
    rows: Sequence[Sequence[Word]], gutter: Gutter, para_gap: float, body_size: float, figures: Sequence[BBox] = ()
) -> tuple[float, float]:
    """The gutter's region, without one-sided lines beyond the other column's end that are
    not column text: a full-width lead-in line ("These include:") after the region is a single
    short line; a column that runs on after a paragraph break has several lines or lines that
    reach the column's edge.

    A figure that belongs to one column counts as that column's content: when the left column
    begins with a photo and its caption, the right column's first lines stand beside the photo
    and are column text, not full-width text above the region."""
    inside = [r for r in rows if gutter.top - 0.5 <= _row_box(r)[0] and _row_box(r)[1] <= gutter.bottom + 0.5
              and not any(w.x0 < gutter.x < w.x1 for w in r)]
    x = gutter.x
    left = sorted((*_row_box(ws), max(w.x1 for w in ws)) for r in inside for ws in [[w for w in r if w.x1 <= x]] if ws)
    right = sorted((*_row_box(ws), min(w.x0 for w in ws)) for r in inside for ws in [[w for w in r if w.x0 >= x]] if ws)
    if figures:
        left_x0 = min(w.x0 for r in inside for w in r if w.x1 <= x)
        right_x1 = max(w.x1 for r in inside for w in r if w.x0 >= x)
        left_figures, right_figures = _column_figures(rows, gutter, figures, left_x0, right_x1)
        left = sorted(left + [(f.top, f.bottom, f.x1) for f in left_figures])
        right = sorted(right + [(f.top, f.bottom, f.x0) for f in right_figures])
    top = max(left[0][0], right[0][0])
    bottom = min(left[-1][1], right[-1][1])
    left_edge = max(e for _, _, e in left)
    right_edge = min(e for _, _, e in right)

    crossing_tops = [_row_box(r)[0] for r in rows if any(w.x0 < x < w.x1 for w in r)]
    crossing_bottoms = [_row_box(r)[1] for r in rows if any(w.x0 < x < w.x1 for w in r)]

    def column_like(run: list[tuple[float, float, float]], is_left: bool) -> bool:
        """A run wrapped at the column's edge is column text; full-width text would run on."""
        def reaches(line: tuple[float, float, float]) -> bool:
            return line[2] >= left_edge - body_size if is_left else line[2] <= right_edge + body_size

        # Lines ordered top to bottom, so "all but the last" are lines that wrapped.
        ordered = sorted(run, key=lambda ln: abs(ln[0]))
        if len(ordered) >= 2 and any(reaches(ln) for ln in ordered[:-1]):
            return True
        if len(ordered) == 1 and reaches(ordered[0]):
            # A single line right before (or after) full-width text leads into it.
            t, b = sorted((abs(run[0][0]), abs(run[0][1])))
            near = 2 * para_gap + body_size
            return not any(0 <= ct - b <= near for ct in crossing_tops) and not any(0 <= t - cb <= near for cb in crossing_bottoms)
        return False

    for side, is_left in ((left, True), (right, False)):
        below = [ln for ln in side if ln[1] > bottom]
        for run in _runs(below, para_gap):
            if run[0][0] - bottom <= para_gap or column_like(run, is_left):
                bottom = run[-1][1]
            else:
                break
        above = [(-b, -t, e) for t, b, e in reversed([ln for ln in side if ln[0] < top])]
        for run in _runs(above, para_gap):
            # mirrored: run[0] is the line nearest the region
            if run[0][0] - (-top) <= para_gap or column_like(run, is_left):
                top = -run[-1][1]
            else:
                break
    return top, bottom


def order_lines(
    rows: list[list[Word]], page: int, body_size: float, settings: LayoutSettings, region_base: int,
    figures: Sequence[BBox] = (),
) -> tuple[list[Line], int]:
    """Lines of one page's body rows in reading order, and the number of regions used.

    ``figures`` (photos, shaded boxes) take part in finding where a column region begins and
    ends, so that a column that starts with a photo starts at the photo."""
    if not rows:
        return [], 0
    para_gap = usual_row_gap(rows, body_size) + settings.paragraph_gap_em * body_size
    gutters = find_gutters(rows, body_size, settings)
    trimmed = [_trim(rows, g, para_gap, body_size, figures) for g in gutters]
    # Gutters that run side by side (three columns) share one region: a column that starts
    # lower (under a photo) still belongs to the region, as far as its white strip allows.
    extents = []
    for g, (top, bottom) in zip(gutters, trimmed):
        for (t2, b2) in trimmed:
            if t2 < bottom and top < b2:
                top = max(min(top, t2), g.top)
                bottom = min(max(bottom, b2), g.bottom)
        extents.append((g.x, top, bottom))
    gutters_of_row: list[tuple[float, ...]] = []
    for row in rows:
        t, b = _row_box(row)
        mid = (t + b) / 2
        gutters_of_row.append(tuple(sorted(x for x, top, bottom in extents if top - 0.5 <= mid <= bottom + 0.5)))

    lines: list[Line] = []
    region = region_base
    start = 0
    for idx in range(1, len(rows) + 1):
        if idx < len(rows) and gutters_of_row[idx] == gutters_of_row[start]:
            continue
        row_gutters = gutters_of_row[start]
        columns: list[list[Line]] = [[] for _ in range(len(row_gutters) + 1)]
        for row in rows[start:idx]:
            parts: dict[int, list[Word]] = defaultdict(list)
            for w in row:
                col = sum(1 for g in row_gutters if (w.x0 + w.x1) / 2 > g)
                parts[col].append(w)
            for col, ws in sorted(parts.items()):
                columns[col].append(Line(ws, page, region, col))
        for col_lines in columns:
            lines.extend(col_lines)
        region += 1
        start = idx
    return lines, region - region_base


# ---------------------------------------------------------------------------------------- blocks


@dataclass
class _Draft:
    lines: list[Line]
    kind: str = "paragraph"

    @property
    def first(self) -> Line:
        return self.lines[0]

    @property
    def last(self) -> Line:
        return self.lines[-1]


def _starts_with_bullet(text: str) -> bool:
    return bool(text) and text[0] in BULLETS


def _usual_line_gap(lines: Sequence[Line]) -> float:
    gaps = []
    for a, b in zip(lines, lines[1:]):
        if (a.page, a.region, a.column) == (b.page, b.region, b.column) and a.style() == b.style():
            g = b.top - a.bottom
            if -2 < g < 2 * a.size:
                gaps.append(round(g, 1))
    if not gaps:
        return 2.0
    return Counter(gaps).most_common(1)[0][0]


def group_lines(lines: Sequence[Line], settings: LayoutSettings) -> list[_Draft]:
    """Split lines in reading order into paragraph-sized drafts."""
    usual = _usual_line_gap(lines)
    drafts: list[_Draft] = []
    for line in lines:
        prev_draft = drafts[-1] if drafts else None
        new = True
        if prev_draft is not None:
            prev = prev_draft.last
            same_column = (prev.page, prev.region, prev.column) == (line.page, line.region, line.column)
            gap = line.top - prev.bottom
            new = (
                not same_column
                or prev.style() != line.style()
                or gap > usual + settings.paragraph_gap_em * line.size
                or gap < -0.5 * line.size
                or _starts_with_bullet(line.text)
            )
            if not new:
                bullet_item = _starts_with_bullet(prev_draft.first.text)
                if bullet_item:
                    # A wrapped item continues at the item's text, not at the bullet or margin.
                    text_x0 = prev_draft.first.words[1].x0 if len(prev_draft.first.words) > 1 else prev_draft.first.x0
                    if line.x0 < text_x0 - 0.5 * line.size:
                        new = True
                elif line.x0 > prev.x0 + 0.8 * line.size and len(prev_draft.lines) >= 1 and prev.x1 < line.x1 - 2 * line.size:
                    new = True  # first-line indent after a short last line
        if new:
            drafts.append(_Draft([line]))
        else:
            prev_draft.lines.append(line)  # type: ignore[union-attr]
    return drafts


def classify(drafts: list[_Draft], body_size: float, settings: LayoutSettings) -> None:
    """Set each draft's kind from its style relative to the body text."""
    title_done = False
    page1_max = max((d.first.size for d in drafts if d.first.page == drafts[0].first.page), default=body_size) if drafts else body_size
    for d in drafts:
        text = " ".join(line.text for line in d.lines)
        size = statistics.median(line.size for line in d.lines)
        if (
            not title_done
            and d.first.page == drafts[0].first.page
            and size >= settings.title_ratio * body_size
            and size >= page1_max - 0.5
        ):
            d.kind = "title"
            title_done = True
        elif _starts_with_bullet(text):
            d.kind = "list_item"
        elif (size >= settings.heading_ratio * body_size or (d.first.bold and size >= 0.95 * body_size)) and (
            len(d.lines) <= 3 and len(text) <= 150 and not text.rstrip().endswith((".", ",", ";"))
        ):
            d.kind = "heading"
        elif d.first.italic or size <= settings.caption_ratio * body_size:
            d.kind = "caption"
        else:
            d.kind = "paragraph"


#: Blocks whose text may run on across a column or page break.
_RUNNING = ("paragraph", "list_item")


def _continues(a: _Draft, b: _Draft, column_x0: float | None = None, list_indent_em: float = DEFAULT_LIST_INDENT_EM) -> bool:
    """Whether draft ``b`` continues paragraph or list item ``a`` across a column or page break.

    The rest of a list item in the next column has no bullet, so it is read as a paragraph. A
    list item often ends without punctuation, so its end alone does not say it runs on: the rest
    must also start in lower case or stand indented from its column's left edge (``column_x0``)
    by ``list_indent_em``, as the item's wrapped lines hang beside their bullet, where a new
    paragraph starts at the edge. A list item is compared by its last line's style, since its
    first line carries the bullet glyph."""
    if a.kind not in _RUNNING or b.kind != "paragraph":
        return False
    if not (a.last.last_in_column and b.first.first_in_column):
        return False
    if (a.first if a.kind == "paragraph" else a.last).style() != b.first.style():
        return False
    end = a.last.text.rstrip()
    if end.endswith(LINE_END_HYPHENS + (SOFT_HYPHEN,)):
        return True
    if end.endswith(_TERMINAL):
        return False
    start = b.first.text.lstrip()
    if not start:
        return False
    if a.kind == "list_item" and not start[0].islower():
        return column_x0 is not None and b.first.x0 >= column_x0 + list_indent_em * b.first.size
    return True


def _mark_column_ends(drafts: list[_Draft]) -> None:
    """Flag the first and last body line of each column: a caption at the top or bottom of a
    column (under a photo) does not end the text that flows around it."""
    for d in drafts:
        for line in d.lines:
            line.first_in_column = line.last_in_column = False
    columns: dict[tuple[int, int, int], list[_Draft]] = defaultdict(list)
    for d in drafts:
        columns[(d.first.page, d.first.region, d.first.column)].append(d)
    for col in columns.values():
        body = [d for d in col if d.kind != "caption"] or col
        body[0].first.first_in_column = True
        body[-1].last.last_in_column = True


def merge_continuations(drafts: list[_Draft], settings: LayoutSettings | None = None) -> list[_Draft]:
    """Join paragraphs and list items cut by a column or page break (see ``_continues``)."""
    cfg = settings or LayoutSettings()
    _mark_column_ends(drafts)
    column_x0: dict[tuple[int, int, int], float] = {}
    for d in drafts:
        for line in d.lines:
            key = (line.page, line.region, line.column)
            column_x0[key] = min(column_x0.get(key, math.inf), line.x0)
    out: list[_Draft] = []
    pending: list[_Draft] = []  # captions between the two halves keep their place after the join
    for d in drafts:
        if d.kind == "caption" and out and out[-1].kind in _RUNNING and out[-1].last.last_in_column:
            pending.append(d)
            continue
        if out and _continues(out[-1], d, column_x0.get((d.first.page, d.first.region, d.first.column)), cfg.list_indent_em):
            out[-1].lines.extend(d.lines)
        else:
            out.extend(pending)
            pending = []
            out.append(d)
            continue
    out.extend(pending)
    return out


def _strip_bullet(text: str) -> str:
    return text[1:].lstrip() if _starts_with_bullet(text) else text


def build_blocks(
    pages: Sequence[PageWords], settings: LayoutSettings | dict[str, Any] | None = None
) -> list[Block]:
    """All blocks of a document, in reading order, headers and footers included."""
    cfg = LayoutSettings.resolve(settings)
    body_size = body_font_size(pages, cfg.body_regular_share)
    body_rows, margins = split_margins(pages, body_size, cfg)
    lines: list[Line] = []
    region = 0
    for p in pages:
        page_lines, used = order_lines(body_rows[p.number], p.number, body_size, cfg, region, p.figures)
        lines.extend(page_lines)
        region += used
    drafts = group_lines(lines, cfg)
    classify(drafts, body_size, cfg)
    drafts = merge_continuations(drafts, cfg)

    vocab = Vocabulary(line.text for line in lines)
    blocks: list[Block] = []
    by_page: dict[int, list[_Draft]] = defaultdict(list)
    for d in drafts:
        by_page[d.first.page].append(d)
    section: str | None = None
    for p in pages:
        parts = margins.get(p.number, [])
        headers = [(k, ws) for k, ws in parts if k == "header"]
        footers = [(k, ws) for k, ws in parts if k == "footer"]
        for kind, ws in headers:
            blocks.append(_margin_block(len(blocks), p.number, kind, ws))
        for d in by_page[p.number]:
            text = join_lines([line.text for line in d.lines], vocab)
            if d.kind == "list_item":
                text = _strip_bullet(text)
            text = collapse_spaces(text)
            if not text:
                continue
            if d.kind == "heading":
                section = text
            # the box of its words on the page where it starts
            bbox = Line([w for line in d.lines if line.page == d.first.page for w in line.words], d.first.page).bbox
            blocks.append(Block(len(blocks), d.first.page, d.kind, text, bbox, section if d.kind != "title" else None))
        for kind, ws in footers:
            blocks.append(_margin_block(len(blocks), p.number, kind, ws))
    return blocks


def _margin_block(block_id: int, page: int, kind: str, words: list[Word]) -> Block:
    line = Line(words, page)
    return Block(block_id, page, kind, collapse_spaces(clean_text(line.text)), line.bbox, None)


# ------------------------------------------------------------------------------- hyphenation

# Text clean-up: Unicode normalisation and undoing line-end hyphenation.
#
# Whether a hyphen at the end of a line splits one word ("organi-" + "sations") or is a real
# hyphen ("Jean-" + "Claude", "tanker-" + "transport") is decided from evidence, in this order:
# the document's own words (the joined or the hyphenated form used elsewhere in it), then a
# dictionary (pyspellchecker's English word list, British spellings mapped to it), then the
# shape of the parts (a capitalised second part keeps its hyphen).

#: Hyphen characters that may end a line.
LINE_END_HYPHENS = tuple(HYPHENS)
_SPACES = re.compile(r"\s+")

#: Prefixes that British (and NATO) usage joins with a hyphen even where an American dictionary
#: writes the compound solid ("non-combat", "self-defence"): at a line end the hyphen is kept.
_HYPHEN_PREFIXES = frozenset({"non", "self"})

_WORD = re.compile(r"[^\W\d_]+(?:[-\u2010'’][^\W\d_]+)*", re.UNICODE)

# British spellings mapped to the American ones the dictionary holds.
_BRITISH = [
    (re.compile(r"isation"), "ization"),
    (re.compile(r"ise(d|s)?$"), r"ize\1"),
    (re.compile(r"ising$"), "izing"),
    (re.compile(r"our(s)?$"), r"or\1"),
    (re.compile(r"yse(d|s)?$"), r"yze\1"),
    (re.compile(r"tre(s)?$"), r"ter\1"),
    (re.compile(r"ence$"), "ense"),
    (re.compile(r"ogue(s)?$"), r"og\1"),
]


def collapse_spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


@cache
def _modifier_heads() -> frozenset[str]:
    """Words that follow a name after a hyphen to make an adjective ("Wielingen-class",
    "NATO-led"; ``extractors/data/modifier_heads.txt``): after a capitalised first part that no
    dictionary knows, the hyphen before one is a real one; another second part may be the rest of
    a name cut by hyphenation ("Stolten-" + "berg")."""
    return frozenset(w.lower() for w in read_lines("modifier_heads.txt"))


@cache
def _dictionary() -> frozenset[str]:
    from spellchecker import SpellChecker

    return frozenset(SpellChecker(language="en").word_frequency.keys())


def in_dictionary(word: str) -> bool:
    """True when ``word`` (any case) is an English word, British spellings included."""
    w = word.lower()
    words = _dictionary()
    if w in words:
        return True
    for pattern, repl in _BRITISH:
        alt = pattern.sub(repl, w)
        if alt != w and alt in words:
            return True
    return False


class Vocabulary:
    """The words of one document: which appear whole and which appear hyphenated mid-line."""

    def __init__(self, lines: Iterable[str] = ()) -> None:
        self.words: set[str] = set()
        self.hyphenated: set[str] = set()
        for line in lines:
            self.add(line)

    def add(self, line: str) -> None:
        # The last token of a line ending in a hyphen is a fragment: leave it out.
        body = line.rstrip()
        if body.endswith(LINE_END_HYPHENS + (SOFT_HYPHEN,)):
            body = body.rsplit(" ", 1)[0] if " " in body else ""
        for match in _WORD.finditer(body):
            token = match.group(0).lower()
            if "-" in token or "\u2010" in token:
                self.hyphenated.add(token.replace("\u2010", "-"))
                for part in re.split(r"[-\u2010]", token):
                    self.words.add(part)
            else:
                self.words.add(token)


def keeps_hyphen(left: str, right: str, vocab: Vocabulary | None = None) -> bool:
    """Decide whether the hyphen between ``left`` (the word part before a line-end hyphen)
    and ``right`` (the first word of the next line) is a real hyphen.

    >>> keeps_hyphen("organi", "sations")
    False
    >>> keeps_hyphen("Jean", "Claude")
    True
    >>> keeps_hyphen("tanker", "transport")
    True
    >>> keeps_hyphen("Wielingen", "class"), keeps_hyphen("NATO", "led"), keeps_hyphen("non", "combat")
    (True, True, True)
    """
    vocab = vocab or Vocabulary()
    left_w = re.sub(r"^.*[^\w]", "", left)  # last word of the left part
    right_w = re.match(r"\w*", right)
    right_word = right_w.group(0) if right_w else ""
    if not left_w or not right_word:
        return True
    if right_word[0].isdigit() or left_w[-1].isdigit():
        return True  # "2019-" + "2022", "F-" + "35"
    joined = (left_w + right_word).lower()
    hyphened = f"{left_w}-{right_word}".lower()
    # 1. The document itself.
    if hyphened in vocab.hyphenated:
        return True
    if joined in vocab.words:
        return False
    # 2. A capitalised second part is a name or a compound of names: Jean-Claude, Euro-Atlantic.
    if right_word[0].isupper():
        return True
    # 3. A prefix written with a hyphen in British usage, before a whole word: non-combat.
    if left_w.lower() in _HYPHEN_PREFIXES and len(right_word) >= 4 and in_dictionary(right_word):
        return True
    # 4. The dictionary.
    if in_dictionary(joined):
        return False
    # 5. An acronym before a lower-case word (NATO-led, EU-funded): acronyms are not hyphenated
    #    inside, so the hyphen joins two words.
    if len(left_w) >= 2 and left_w.isalpha() and left_w.isupper():
        return True
    # 6. A name the dictionary does not know, then a word that makes compounds: Wielingen-class.
    if left_w[0].isupper() and right_word.lower() in _modifier_heads() and not in_dictionary(left_w):
        return True
    return len(left_w) > 2 and in_dictionary(left_w) and in_dictionary(right_word)


def join_lines(lines: list[str], vocab: Vocabulary | None = None) -> str:
    """Join the lines of one block into one string, undoing line-end hyphenation."""
    out = ""
    for line in lines:
        line = collapse_spaces(line)
        if not line:
            continue
        if not out:
            out = line
            continue
        if out.endswith(SOFT_HYPHEN):
            out = out[:-1] + line  # the typesetter's own break inside one word
        elif out.endswith(LINE_END_HYPHENS) and len(out) > 1 and out[-2].isalpha() and line[:1].isalnum():
            head = out[:-1]
            word_start = max(head.rfind(" "), head.rfind("/")) + 1
            if keeps_hyphen(head[word_start:], line, vocab):
                out = head + "-" + line
            else:
                out = head + line
        else:
            out = out + " " + line
    return out.replace(SOFT_HYPHEN, "")
