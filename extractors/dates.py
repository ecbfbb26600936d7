"""Dates: a DATE entity's text -> the inclusive range of days it covers.

``parse_date("late 2018")`` -> ``DateRange(2018-09-01, 2018-12-31, "late")``.

``reference`` is the document's edition date (first day of the edition month). It anchors
relative dates ("the last two years", "this year") and gives the year to a day and month
without one ("3 March"); without it these return None.

Word lists live in ``extractors/data``:

- ``months.csv`` (word,month): month names and abbreviations ("dec" for "Dec.");
- ``date_parts.csv`` (phrase,scope,start,end,qualifier): parts of a year (months start..end,
  "late" = 9..12, seasons, halves, quarters; meteorological seasons of the northern
  hemisphere, winter = December to February of the next year), of a month (days) and of
  a decade (years 0..9);
- ``date_affixes.csv`` (text,position,qualifier): leading words to drop ("in", "during") or
  to keep as a qualifier ("since", "by", "until"), and trailing ones ("onwards" = since);
- ``number_words.csv`` (shared with ``extractors.amounts``) for "the last two years".

Qualifiers: the affix's ("since", "by", "until", "before", "after", "about"), else the
part's ("late", "first half", "spring"), else "relative" for dates anchored on the
reference, else None. "since X" runs from the start of X to the end of the reference month.

Vague or repeated expressions ("recent years", "annually", "each year", "a year") give None.
Text that is not a date expression but holds a year ("the 2018 Brussels Summit") gives that
year (the month too when one precedes it); several years give the span from first to last.
"""

from __future__ import annotations

import calendar
import csv
import re
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from schemas.records import DateRange

from .amounts import parse_number

DATA = Path(__file__).parent / "data"

Fields = tuple[int | None, int | None, int | None]  # year, month, day as written
Parsed = tuple[DateRange, str]  # range and granularity: day, month, year, decade, span

_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00a0": " ", "\u202f": " "})
_YEAR = r"(1[5-9]\d\d|2[01]\d\d)"
_RANGE_SEPARATORS = (
    re.compile(r"\s+(?:to|until|till|through|thru|and)\s+"),
    re.compile(r"\s*-\s*"),
    re.compile(r"\s*/\s*"),
)


# --- data ---------------------------------------------------------------------------------


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(f)]


@cache
def _months() -> dict[str, int]:
    return {r["word"].lower(): int(r["month"]) for r in _rows("months.csv")}


@cache
def _month_re() -> str:
    words = sorted(_months(), key=len, reverse=True)
    return "(" + "|".join(re.escape(w) for w in words) + ")"


@cache
def _parts() -> dict[tuple[str, str], tuple[int, int, str]]:
    """(phrase, scope) -> (start, end, qualifier)."""
    return {
        (r["phrase"].lower(), r["scope"]): (int(r["start"]), int(r["end"]), r["qualifier"])
        for r in _rows("date_parts.csv")
    }


@cache
def _part_re() -> re.Pattern[str]:
    phrases = sorted({p for p, _ in _parts()}, key=len, reverse=True)
    alt = "|".join(re.escape(p) for p in phrases)
    return re.compile(rf"^({alt})(?:\s+(?:of|in))?(?:\s+the)?\s+(.+)$")


@cache
def _affixes() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(prefixes, suffixes) as (text, qualifier), longest first."""
    rows = sorted(_rows("date_affixes.csv"), key=lambda r: -len(r["text"]))
    pre = [(r["text"].lower(), r["qualifier"]) for r in rows if r["position"] == "prefix"]
    suf = [(r["text"].lower(), r["qualifier"]) for r in rows if r["position"] == "suffix"]
    return pre, suf


# --- calendar helpers -----------------------------------------------------------------------


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + months, 12)
    return date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def _shift(d: date, n: int, unit: str) -> date:
    """``d`` moved by ``n`` units (negative: back)."""
    if unit == "year":
        return _add_months(d, 12 * n)
    if unit == "decade":
        return _add_months(d, 120 * n)
    if unit == "month":
        return _add_months(d, n)
    if unit == "week":
        return d + timedelta(weeks=n)
    return d + timedelta(days=n)


def _year(y: int) -> DateRange:
    return DateRange(date(y, 1, 1), date(y, 12, 31))


def _month(y: int, m: int) -> DateRange:
    return DateRange(date(y, m, 1), _month_end(y, m))


# --- normalisation --------------------------------------------------------------------------


def _normalise(text: str) -> str:
    s = text.translate(_DASHES).translate(_QUOTES).lower()
    s = re.sub(r"(?<=[a-z])\.", " ", s)  # "dec." -> "dec"
    s = re.sub(r"(\d{3}0)'s\b", r"\1s", s)  # "1990's"
    s = re.sub(r"\b(\d{1,2})(?:st|nd|rd|th)\b", r"\1", s)  # "3rd" -> "3"
    s = re.sub(r"[,;:()\"'\[\]]", " ", s)
    return " ".join(s.split())


def _strip_affixes(s: str) -> tuple[str, str | None]:
    prefixes, suffixes = _affixes()
    qualifier: str | None = None
    changed = True
    while changed and s:
        changed = False
        for word, q in prefixes:
            if s.startswith(word + " "):
                s, changed = s[len(word) + 1 :], True
                qualifier = qualifier or q or None
                break
        for word, q in suffixes:
            if s.endswith(" " + word):
                s, changed = s[: -len(word) - 1], True
                qualifier = qualifier or q or None
                break
    return s, qualifier


# --- points ---------------------------------------------------------------------------------


def _fields(s: str) -> Fields | None:
    """Year, month and day as written; missing ones None. "20" alone is (None, None, 20)."""
    mon = _month_re()
    months = _months()
    s = re.sub(r"^the\s+", "", s)
    if m := re.fullmatch(rf"(?:years?\s+)?{_YEAR}", s):
        return int(m[1]), None, None
    if m := re.fullmatch(rf"{mon}(?:\s+of)?\s+{_YEAR}", s):
        return int(m[2]), months[m[1]], None
    if m := re.fullmatch(mon, s):
        return None, months[m[1]], None
    if m := re.fullmatch(rf"(\d{{1,2}})(?:\s+of)?\s+{mon}(?:\s+{_YEAR})?", s):
        return (int(m[3]) if m[3] else None), months[m[2]], int(m[1])
    if m := re.fullmatch(rf"{mon}\s+(\d{{1,2}})(?:\s+{_YEAR})?", s):
        return (int(m[3]) if m[3] else None), months[m[1]], int(m[2])
    if m := re.fullmatch(rf"(\d{{1,2}})\s+{_YEAR}", s):  # "5, 2020" in "March 3-5, 2020"
        return int(m[2]), None, int(m[1])
    if m := re.fullmatch(r"(\d{1,2})", s):
        return None, None, int(m[1])
    return None


def _resolve(f: Fields, reference: date | None) -> Parsed | None:
    year, month, day = f
    if month is None:
        if year is None or day is not None:
            return None
        return _year(year), "year"
    if year is None:
        if reference is None:
            return None
        year = reference.year
    if not 1 <= month <= 12:
        return None
    if day is None:
        return _month(year, month), "month"
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    d = date(year, month, day)
    return DateRange(d, d), "day"


def _count(text: str | None) -> int | None:
    if text is None:
        return 1
    n = parse_number(text)
    if n is None or n != int(n) or n < 1:
        return None
    return int(n)


_UNIT = r"(year|month|week|day|decade)(s?)"


def _relative(s: str, reference: date | None) -> Parsed | None:
    """Dates anchored on the reference; None when ``s`` is none or there is no reference."""
    if m := re.fullmatch(rf"(the\s+)?(last|past|previous|preceding)(?:\s+(.+?))?\s+{_UNIT}", s):
        if reference is None:
            return None
        the, word, number, unit, plural = m[1], m[2], m[3], m[4], m[5]
        if plural and number is None:
            return None  # "the past years": vague
        n = _count(number)
        if n is None:
            return None
        if not the and number is None and word in ("last", "previous") and unit in ("year", "month"):
            if unit == "year":
                return _year(reference.year - 1), "year"
            prev = _add_months(reference, -1)
            return _month(prev.year, prev.month), "month"
        start = _shift(reference, -n, unit)
        return DateRange(start, _month_end(reference.year, reference.month)), "span"
    if m := re.fullmatch(rf"(.+?)\s+{_UNIT}\s+ago", s):
        n = _count(m[1])
        if reference is None or n is None:
            return None
        unit = m[2]
        then = _shift(reference, -n, unit)
        if unit in ("year", "decade"):
            return _year(then.year), "year"
        return _month(then.year, then.month), "month"
    if m := re.fullmatch(r"(?:this|the\s+current|current)\s+(year|month)", s):
        if reference is None:
            return None
        if m[1] == "year":
            return _year(reference.year), "year"
        return _month(reference.year, reference.month), "month"
    if m := re.fullmatch(r"(?:the\s+)?(?:next|coming)\s+(year|month)", s):
        if reference is None:
            return None
        if m[1] == "year":
            return _year(reference.year + 1), "year"
        nxt = _add_months(reference, 1)
        return _month(nxt.year, nxt.month), "month"
    if m := re.fullmatch(r"(?:the\s+)?(?:next|coming)\s+(.+?)\s+(year|month)s", s):
        n = _count(m[1])
        if reference is None or n is None:
            return None
        end = _shift(reference, n, m[2])
        return DateRange(reference, _month_end(end.year, end.month)), "span"
    if re.fullmatch(r"today|now|currently|nowadays|(?:the\s+)?present(?:\s+day)?|at\s+present", s):
        if reference is None:
            return None
        return _month(reference.year, reference.month), "month"
    return None


def _single(s: str, reference: date | None) -> tuple[DateRange, str, str | None] | None:
    """One date expression (no range): (range, granularity, qualifier)."""
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", s.strip()):  # ISO 8601
        res = _resolve((int(m[1]), int(m[2]), int(m[3])), reference)
        return (res[0], res[1], None) if res else None
    s = s.replace("-", " ").strip()
    s = " ".join(s.split())
    if not s:
        return None
    rel = _relative(s, reference)
    if rel is not None:
        return rel[0], rel[1], "relative"
    s = re.sub(r"^the\s+", "", s)
    if m := re.fullmatch(r"(?:the\s+)?(\d{3})0s", s):
        start = int(m[1]) * 10
        return DateRange(date(start, 1, 1), date(start + 9, 12, 31)), "decade", None
    if m := _part_re().fullmatch(s):
        inner = _single(m[2], reference)
        if inner is None:
            return None
        rng, gran, _ = inner
        part = _parts().get((m[1], gran))
        if part is None:
            return None
        lo, hi, qualifier = part
        y, mo = rng.start.year, rng.start.month
        if gran == "year":
            end_year = y + 1 if hi < lo else y
            return DateRange(date(y, lo, 1), _month_end(end_year, hi)), "span", qualifier
        if gran == "month":
            last = calendar.monthrange(y, mo)[1]
            return DateRange(date(y, mo, lo), date(y, mo, min(hi, last))), "span", qualifier
        return DateRange(date(y + lo, 1, 1), date(y + hi, 12, 31)), "span", qualifier
    f = _fields(s)
    if f is None or f[0] is None and f[1] is None:  # a bare number is no date on its own
        return None
    res = _resolve(f, reference)
    return (res[0], res[1], None) if res else None


# --- ranges ---------------------------------------------------------------------------------


def _range(left: str, right: str, reference: date | None) -> DateRange | None:
    """Join two sides: "July 2016" to "March 2018", "March"-"May 2019", "2019"/"20", "3"-"5 March 2020"."""
    lf = _fields(left.replace("-", " "))
    rf = _fields(right.replace("-", " "))
    if lf is not None and rf is not None:
        (ly, lm, ld), (ry, rm, rd) = lf, rf
        if ry is None and rm is None:  # right is a bare number
            if ly is not None and lm is None and ld is None and rd is not None:
                ry, rd = ly // 100 * 100 + rd, None  # "2019/20"
                if ry < ly:
                    ry += 100
            elif ld is not None and lm is not None:
                ry, rm = ly, lm  # "March 3-5"
            else:
                return None
        elif rm is None and rd is not None:  # "March 3-5, 2020"
            if lm is None or ld is None:
                return None
            rm = lm
        if ly is None and lm is None:  # left is a bare day: "3-5 March 2020"
            if rd is None or ld is None:
                return None
            lm = rm
        inherited = ly is None
        if inherited:
            ly = ry
        if ry is None:
            ry = ly
        lr, rr = _resolve((ly, lm, ld), reference), _resolve((ry, rm, rd), reference)
        if lr is None or rr is None:
            return None
        if inherited and ly is not None and lr[0].start > rr[0].end:  # "November-February 2019"
            lr = _resolve((ly - 1, lm, ld), reference)
            if lr is None:
                return None
        start, end = lr[0].start, rr[0].end
    else:
        ls, rs = _single(left, reference), _single(right, reference)
        if ls is None or rs is None:
            return None
        start, end = ls[0].start, rs[0].end
    if start > end:
        return None
    return DateRange(start, end)


def _split_range(s: str, reference: date | None) -> DateRange | None:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        return None
    for sep in _RANGE_SEPARATORS:
        for m in sep.finditer(s):
            left, right = s[: m.start()].strip(), s[m.end() :].strip()
            if left and right:
                rng = _range(left, right, reference)
                if rng is not None:
                    return rng
    return None


def _fallback(s: str, reference: date | None) -> DateRange | None:
    """A year (or month and year) inside text that is not a date expression."""
    if m := re.search(r"(?<![\d.])(\d{3})0s\b", s):  # "the 1990s Balkan wars"
        start = int(m[1]) * 10
        return DateRange(date(start, 1, 1), date(start + 9, 12, 31))
    years = sorted({int(y) for y in re.findall(rf"(?<![\d.]){_YEAR}(?!\d|\.\d|\s*%)", s)})
    if not years:
        return None
    if len(years) > 1:
        return DateRange(date(years[0], 1, 1), date(years[-1], 12, 31))
    if m := re.search(rf"\b(?:(\d{{1,2}})\s+)?{_month_re()}(?:\s+of)?\s+{years[0]}\b", s):
        res = _resolve((years[0], _months()[m[2]], int(m[1]) if m[1] else None), reference)
        return res[0] if res is not None else _month(years[0], _months()[m[2]])  # "31 February"
    return _year(years[0])


# --- public ---------------------------------------------------------------------------------


def parse_date(text: str, reference: date | None = None) -> DateRange | None:
    """The inclusive range of days a DATE entity's text covers, or None when it covers no
    definite range ("annually", "recent years") or needs a missing ``reference``."""
    if not isinstance(text, str):
        raise ValueError(f"parse_date expects a str, got {text!r}")
    if reference is not None and not isinstance(reference, date):
        raise ValueError(f"parse_date reference must be a date, got {reference!r}")
    s, qualifier = _strip_affixes(_normalise(text))
    if not s:
        return None
    rng = _split_range(s, reference)
    if rng is None:
        single = _single(s, reference)
        if single is not None:
            rng = single[0]
            qualifier = qualifier or single[2]
        else:
            rng = _fallback(s, reference)
    if rng is None:
        return None
    rng.qualifier = qualifier
    if qualifier == "since":
        if reference is not None:
            end = _month_end(reference.year, reference.month)
            if end >= rng.start:
                rng.end = end
    return rng


# --- extending a date's span (used by the spaCy component) -------------------------------------

#: Words that open a range ("between 2020 and 2024", "from May to July 2019").
RANGE_OPENERS = ("between", "from")


@cache
def _prefix_re() -> re.Pattern[str]:
    prefixes, _ = _affixes()
    words = {text for text, qualifier in prefixes if qualifier and len(text) > 1}
    alt = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?:^|(?<=[^\w]))(?i:{alt})\s+$")


def prefix_start(text: str, start: int) -> int:
    """Where a qualifying word right before ``start`` begins ("since", "until", "by", "before",
    "about"; see ``date_affixes.csv``), else ``start``: the qualifier belongs to the date."""
    m = _prefix_re().search(text, 0, start)
    return m.start() if m else start
