"""Normalisation: the typography every stage shares, amounts and dates.

One place for the knowledge a normaliser needs: dash and apostrophe characters
(:data:`DASHES`, :data:`APOSTROPHES`, :func:`plain_punctuation`), numbers in digits and words,
currencies, scales and qualifiers (:func:`parse_amount`), month names, parts of a year and the
words that qualify or join dates (:func:`parse_date`). The word lists are data
(``extractors/data/*.csv``); see each section below.

## Amounts

Amounts: numbers in digits or words, with scale, currency, percent, counted noun and qualifier.

``parse_amount("more than €2 million")`` -> ``Amount(2000000.0, "EUR", "more than")``;
``parse_amount("74 measures")`` -> ``Amount(74.0, "measures", None)``.

Word lists live in ``extractors/data``:

- ``number_words.csv`` (word,value,kind): number words, shared with the dates below;
  kind is ``unit`` (0-19), ``ten`` (20..90), ``multiplier`` (dozen, hundred, thousand, ...)
  or ``article`` (a, an: one, but only counts as a number before a multiplier, "a million");
- ``scales.csv`` (word,value): scale words and abbreviations after a number ("1.5bn", "3m");
  one-letter abbreviations must touch the number ("3m", not "3 m");
- ``currencies.csv`` (text,code): currency symbols, codes and names; all-capital codes
  ("EUR", "TRY") match case-sensitively, everything else case-insensitively;
- ``percent_words.csv`` (text): "%", "per cent", ...;
- ``qualifiers.csv`` (text,qualifier): "more than", "some" -> "about", ...; entries starting
  with "or " ("or more") follow the number, the others precede it;
- ``unit_stopwords.csv`` (word): words that end the counted noun ("troops *in* Kosovo").

Digits: "," followed by exactly three digits groups thousands ("3,000"), otherwise it is a
decimal comma ("2,5"); several dots group thousands ("1.500.000").

## Dates

Dates: a DATE entity's text -> the inclusive range of days it covers.

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
  to keep as a qualifier ("since", "by", "until"), and trailing ones ("onwards" = since); the
  words that join two dates into a range (position ``joiner``: "to", "until", "and") and that
  open one (``opener``: "between", "from"), which the spaCy component reads too;
- ``number_words.csv`` (shared with the amounts above) for "the last two years".

Qualifiers: the affix's ("since", "by", "until", "before", "after", "about"), else the
part's ("late", "first half", "spring"), else "relative" for dates anchored on the
reference, else None. "since X" runs from the start of X to the end of the reference month.

Vague or repeated expressions ("recent years", "annually", "each year", "a year") give None.
Text that is not a date expression but holds a year ("the 2018 Brussels Summit") gives that
year (the month too when one precedes it); several years give the span from first to last.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from functools import cache

from schemas.records import Amount, DateRange

from .data import read_rows as _rows

# --------------------------------------------------------------------------------------------
# Typography shared by every stage
# --------------------------------------------------------------------------------------------

#: Every dash and hyphen character a PDF may print, hyphen-minus first.
DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
#: The hyphens among them (hyphen-minus, hyphen, non-breaking hyphen): what a line may end with
#: when a word or a compound is broken.
HYPHENS = DASHES[:3]
#: Characters written for an apostrophe.
APOSTROPHES = "'\u2019\u2018\u02bc`"
_PLAIN = str.maketrans({**dict.fromkeys(DASHES[1:], "-"), **dict.fromkeys(APOSTROPHES[1:], "'"), "\u00a0": " ", "\u202f": " "})


def plain_punctuation(text: str) -> str:
    """``text`` with every dash as "-", every apostrophe as "'" and odd spaces plain: the form
    names, dates and amounts are compared and parsed in."""
    return text.translate(_PLAIN)


# --------------------------------------------------------------------------------------------
# Amounts
# --------------------------------------------------------------------------------------------


_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+|[^\w\s]")

Token = tuple[str, int, int]  # text, start, end
Phrase = tuple[tuple[str, ...], bool]  # tokens, case-sensitive


# --- data ---------------------------------------------------------------------------------


@cache
def number_words() -> dict[str, tuple[float, str]]:
    """word -> (value, kind) from ``number_words.csv``."""
    return {r["word"].lower(): (float(r["value"]), r["kind"]) for r in _rows("number_words.csv")}


@cache
def _scales() -> dict[str, float]:
    return {r["word"].lower(): float(r["value"]) for r in _rows("scales.csv")}


def _phrase(text: str) -> Phrase:
    case_sensitive = text.isalpha() and text.isupper()
    toks = tuple(m.group() for m in _TOKEN.finditer(text))
    return toks if case_sensitive else tuple(t.lower() for t in toks), case_sensitive


def _phrase_table(rows: list[tuple[str, str]]) -> list[tuple[Phrase, str]]:
    """(phrase, value) pairs, longest phrase first so "US dollars" wins over "dollars"."""
    table = [(_phrase(text), value) for text, value in rows if text]
    return sorted(table, key=lambda pv: -len(pv[0][0]))


@cache
def _currencies() -> list[tuple[Phrase, str]]:
    return _phrase_table([(r["text"], r["code"]) for r in _rows("currencies.csv")])


@cache
def _percent_words() -> list[tuple[Phrase, str]]:
    return _phrase_table([(r["text"], "percent") for r in _rows("percent_words.csv")])


@cache
def _qualifiers() -> tuple[list[tuple[Phrase, str]], list[tuple[Phrase, str]]]:
    """(before-number, after-number) qualifier phrases."""
    rows = [(r["text"], r["qualifier"]) for r in _rows("qualifiers.csv")]
    table = _phrase_table(rows)
    after = [pv for pv in table if pv[0][0][:1] == ("or",)]
    before = [pv for pv in table if pv[0][0][:1] != ("or",)]
    return before, after


@cache
def _unit_stopwords() -> frozenset[str]:
    return frozenset(r["word"].lower() for r in _rows("unit_stopwords.csv"))


# --- tokens ---------------------------------------------------------------------------------


def _amount_text(text: str) -> str:
    return " ".join(plain_punctuation(text).split())


def _tokens(text: str) -> list[Token]:
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _match_phrase(tokens: list[Token], i: int, table: list[tuple[Phrase, str]]) -> tuple[str, int] | None:
    """(value, tokens consumed) of the longest phrase of ``table`` at token ``i``."""
    for (words, case_sensitive), value in table:
        n = len(words)
        if i + n > len(tokens):
            continue
        got = tuple(t[0] if case_sensitive else t[0].lower() for t in tokens[i : i + n])
        if got == words:
            return value, n
    return None


# --- numbers --------------------------------------------------------------------------------


_DIGIT_RUN = re.compile(r"[0-9]+(?:[.,][0-9]+)*")


def _digits(text: str) -> float | None:
    """Digits to a value: "3,000" -> 3000.0, "2,5" -> 2.5, "1.5" -> 1.5, "1.500.000" -> 1500000.0."""
    if not _DIGIT_RUN.fullmatch(text):  # "³", "③" (isdigit, not a number), "1..2"
        return None
    dots, commas = text.count("."), text.count(",")
    if dots > 1:  # dots group thousands; a comma, if any, is the decimal mark
        int_part, _, dec = text.partition(",")
        groups = int_part.split(".")
        if "," in dec or "." in dec or any(len(g) != 3 for g in groups[1:]):
            return None
        return float("".join(groups) + ("." + dec if dec else ""))
    if dots and commas:
        if text.rfind(".") > text.rfind(","):  # 1,234.5
            int_part, dec = text.split(".")
            groups = int_part.split(",")
            if any(len(g) != 3 for g in groups[1:]):
                return None
            return float("".join(groups) + "." + dec)
        if commas > 1:  # "3.804,4.508": two numbers, not one
            return None
        int_part, dec = text.split(",")  # 1.234,5
        groups = int_part.split(".")
        if any(len(g) != 3 for g in groups[1:]):
            return None
        return float("".join(groups) + "." + dec)
    if commas:
        groups = text.split(",")
        if all(len(g) == 3 for g in groups[1:]):
            return float("".join(groups))
        if commas == 1:
            return float(text.replace(",", "."))
        return None
    return float(text)


def _number_run(tokens: list[Token], i: int) -> tuple[float, int, bool] | None:
    """The number starting at token ``i``: (value, tokens consumed, only an article).

    A run starts with digits, a unit or tens word or an article, and goes on with number
    words, scales, "and" after a multiplier and hyphens between words ("twenty-nine").
    It may not start with a bare multiplier ("hundred", "dozen"): "several hundred" is vague.
    """
    words, scales = number_words(), _scales()
    total = current = 0.0
    has_current = False
    only_article = True
    j = i
    last_kind = ""
    while j < len(tokens):
        text, start, _ = tokens[j]
        low = text.lower()
        if text[0].isdigit():
            if j > i:
                break  # "3 4": two numbers
            value = _digits(text)
            if value is None:
                return None
            current, has_current, only_article, last_kind = value, True, False, "digits"
            j += 1
            continue
        if low in words and not (last_kind == "digits" and words[low][1] != "multiplier"):
            value, kind = words[low]
            if j == i and kind == "multiplier":
                return None
            if kind == "multiplier":
                if value >= 1000:
                    total += (current if has_current else 1.0) * value
                    current, has_current = 0.0, False
                else:
                    current, has_current = (current if has_current else 1.0) * value, True
                only_article = False
            elif kind == "article":
                if j > i:
                    break
                current, has_current = value, True
            else:
                if last_kind in ("unit", "article") or (last_kind == "ten" and kind == "ten"):
                    break  # "two three", "a seven", "twenty thirty": not one number
                if last_kind == "digits":
                    break
                current, has_current, only_article = current + value, True, False
            last_kind = kind
            j += 1
            continue
        if low in scales and j > i and last_kind in ("digits", "unit", "ten", "multiplier"):
            if len(low) == 1 and tokens[j - 1][2] != start:
                break  # "3 m": a one-letter scale must touch the number
            value = scales[low]
            if value >= 1000:
                total += (current if has_current else 1.0) * value
                current, has_current = 0.0, False
            else:
                current, has_current = (current if has_current else 1.0) * value, True
            only_article, last_kind = False, "multiplier"
            j += 1
            continue
        if (
            low in ("and", "-")
            and j > i
            and j + 1 < len(tokens)
            and tokens[j + 1][0].lower() in words
            and words[tokens[j + 1][0].lower()][1] in ("unit", "ten")
            and (low == "-" and last_kind == "ten" or low == "and" and last_kind == "multiplier")
        ):
            j += 1
            continue
        break
    if j == i:
        return None
    if last_kind == "article":
        only_article = True
    return total + current, j - i, only_article


def parse_number(text: str) -> float | None:
    """A number in digits or words, with scale: "3,000" -> 3000.0, "1.5bn" -> 1.5e9,
    "twenty-nine" -> 29.0, "a dozen" -> 12.0; None unless the whole text is one number."""
    if not isinstance(text, str):
        raise ValueError(f"parse_number expects a str, got {text!r}")
    tokens = _tokens(_amount_text(text))
    if not tokens:
        return None
    run = _number_run(tokens, 0)
    if run is None or run[1] != len(tokens):
        return None
    return run[0]


# --- amounts --------------------------------------------------------------------------------


def _counted_noun(text: str, tokens: list[Token], i: int) -> str | None:
    """The words after the number up to a stop word or punctuation, as written."""
    stop = _unit_stopwords()
    start = end = None
    j = i
    while j < len(tokens):
        tok, s, e = tokens[j]
        if tok[0].isalpha():
            joined = end is not None and s == end  # "on" in "follow-on"
            if tok.lower() in stop and not joined:
                break
            if start is None:
                start = s
            end = e
            j += 1
            continue
        # a hyphen or apostrophe inside a word ("follow-on", "Allies'") belongs to it
        if tok in ("-", "'") and start is not None and s == end and j + 1 < len(tokens) and tokens[j + 1][1] == e:
            end = e
            j += 1
            continue
        break
    if start is None or end is None:
        return None
    return text[start:end].strip(" -'") or None


def parse_amount(text: str) -> Amount | None:
    """An amount span -> Amount(value, unit, qualifier); None when it holds no number.

    unit is an ISO 4217 code, ``percent``, the counted noun as written ("NATO Allies") or
    None for a bare number.
    """
    if not isinstance(text, str):
        raise ValueError(f"parse_amount expects a str, got {text!r}")
    text = _amount_text(text)
    tokens = _tokens(text)
    before, after = _qualifiers()
    i = 0
    while i < len(tokens):
        qualifier: str | None = None
        currency: str | None = None
        j = i
        if tokens[j][0].lower() == "the":
            j += 1
        q = _match_phrase(tokens, j, before)
        if q:
            qualifier, j = q[0], j + q[1]
        c = _match_phrase(tokens, j, _currencies())
        if c:
            currency, j = c[0], j + c[1]
        run = _number_run(tokens, j)
        if run is None or run[2]:
            i += 1
            continue
        value, n, _ = run
        j += n
        if currency is None:
            c = _match_phrase(tokens, j, _currencies())
            if c:
                currency, j = c[0], j + c[1]
        unit = currency
        if unit is None:
            p = _match_phrase(tokens, j, _percent_words())
            if p:
                unit, j = p[0], j + p[1]
        q = _match_phrase(tokens, j, after)
        if q:
            qualifier, j = qualifier or q[0], j + q[1]
        if unit is None:
            unit = _counted_noun(text, tokens, j)
            if unit is not None:
                k = j + len(_tokens(unit))
                q = _match_phrase(tokens, k, after)
                if q:
                    qualifier = qualifier or q[0]
        return Amount(value, unit, qualifier)
    return None


# --- extending a number's span (used by the spaCy component) -----------------------------------


def _alternation(texts: list[str]) -> str:
    """A regex alternation of ``texts``, longest first; all-capital codes case-sensitive."""
    parts = []
    for text in sorted(set(texts), key=len, reverse=True):
        esc = re.escape(text)
        parts.append(esc if (text.isalpha() and text.isupper()) or not any(c.isalpha() for c in text) else f"(?i:{esc})")
    return "|".join(parts)


@cache
def currency_codes() -> frozenset[str]:
    """Every ISO 4217 code of ``currencies.csv``."""
    return frozenset(r["code"] for r in _rows("currencies.csv"))


@cache
def _extent_res() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    rows = _rows("currencies.csv")
    # before a number: symbols and codes ("€", "US$", "EUR"); after it: codes and words too
    before = [r["text"] for r in rows if not r["text"].isalpha() or r["text"].isupper()]
    after = [r["text"] for r in rows]
    scales = list(_scales())
    touching = [s for s in scales if len(s) == 1]  # "3m": a one-letter scale touches the number
    spaced = [s for s in scales if len(s) > 1]
    percent = [r["text"] for r in _rows("percent_words.csv")]
    return (
        re.compile(rf"(?:^|(?<=[\s(]))({_alternation(before)})[ \u00a0]?$"),
        re.compile(rf"(?:(?i:{_alternation(touching)})|[ \u00a0]?(?i:{_alternation(spaced)}))(?![\w$€£])"),
        re.compile(rf"[ \u00a0]?({_alternation(after)})(?![\w$€£])"),
        re.compile(rf"[ \u00a0]?({_alternation(percent)})(?![\w])"),
    )


@cache
def _qualifier_before_re() -> re.Pattern[str]:
    before, _ = _qualifiers()
    texts = [" ".join(words) for (words, _cs), _q in before]
    alt = "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in sorted(texts, key=len, reverse=True))
    return re.compile(rf"(?:^|(?<=[^\w]))(?i:{alt})\s+$")


def money_extent(text: str, start: int, end: int) -> tuple[int, int]:
    """``text[start:end]`` (a number) widened to the currency, scale and percent words around it:
    "US$" + "3" + "m", "€" + "1.5bn", "2 million" + " EUR", "25" + " per cent"."""
    before, scale, after, percent = _extent_res()
    if m := scale.match(text, end):
        end = m.end()
    if (m := after.match(text, end)) or (m := percent.match(text, end)):
        end = m.end()
    if m := before.search(text, 0, start):
        start = m.start(1)
    return start, end


def qualifier_start(text: str, start: int) -> int:
    """Where a qualifier right before ``start`` begins ("more than", "up to", "about"), else ``start``."""
    m = _qualifier_before_re().search(text, 0, start)
    return m.start() if m else start


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------


Fields = tuple[int | None, int | None, int | None]  # year, month, day as written
Parsed = tuple[DateRange, str]  # range and granularity: day, month, year, decade, span

_YEAR = r"(1[5-9]\d\d|2[01]\d\d)"


# --- data ---------------------------------------------------------------------------------


@cache
def _months() -> dict[str, int]:
    return {r["word"].lower(): int(r["month"]) for r in _rows("months.csv")}


def month_number(word: str) -> int | None:
    """The month a month name or abbreviation of ``months.csv`` names ("February", "Feb",
    "février" → 2), else None."""
    return _months().get(word.lower().rstrip("."))


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
def _affixes_at(position: str) -> tuple[tuple[str, str], ...]:
    """(text, qualifier) of ``date_affixes.csv`` rows at ``position``, longest first."""
    rows = sorted(_rows("date_affixes.csv"), key=lambda r: -len(r["text"]))
    return tuple((r["text"].lower(), r["qualifier"]) for r in rows if r["position"] == position)


def _affixes() -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """(prefixes, suffixes) as (text, qualifier), longest first."""
    return _affixes_at("prefix"), _affixes_at("suffix")


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


def _date_text(text: str) -> str:
    s = plain_punctuation(text).lower()
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


@cache
def range_joiners() -> frozenset[str]:
    """Words that join two dates into one range (``date_affixes.csv``, position ``joiner``):
    "July 2016 to March 2018"; "and" only after an opener ("between 2020 and 2024")."""
    return frozenset(text for text, _ in _affixes_at("joiner"))


@cache
def range_openers() -> frozenset[str]:
    """Words that open a range (position ``opener``): "between", "from"."""
    return frozenset(text for text, _ in _affixes_at("opener"))


@cache
def _range_separators() -> tuple[re.Pattern[str], ...]:
    words = "|".join(re.escape(w) for w in sorted(range_joiners(), key=len, reverse=True))
    return (re.compile(rf"\s+(?:{words})\s+"), re.compile(r"\s*-\s*"), re.compile(r"\s*/\s*"))


def _split_range(s: str, reference: date | None) -> DateRange | None:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        return None
    for sep in _range_separators():
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
    s, qualifier = _strip_affixes(_date_text(text))
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
    if qualifier == "since" and reference is not None:
        end = _month_end(reference.year, reference.month)
        if end >= rng.start:
            rng.end = end
    return rng


# --- extending a date's span (used by the spaCy component) -------------------------------------

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


def format_value(value: float) -> str:
    """A value as people write it in a key: 2000000.0 → "2000000", 1.5 → "1.5"."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
