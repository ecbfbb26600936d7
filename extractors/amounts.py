"""Amounts: numbers in digits or words, with scale, currency, percent, counted noun and qualifier.

``parse_amount("more than €2 million")`` -> ``Amount(2000000.0, "EUR", "more than")``;
``parse_amount("74 measures")`` -> ``Amount(74.0, "measures", None)``.

Word lists live in ``extractors/data``:

- ``number_words.csv`` (word,value,kind): number words, shared with ``extractors.dates``;
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
"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

from schemas.records import Amount

DATA = Path(__file__).parent / "data"

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+|[^\w\s]")
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00a0": " ", "\u202f": " "})

Token = tuple[str, int, int]  # text, start, end
Phrase = tuple[tuple[str, ...], bool]  # tokens, case-sensitive


# --- data ---------------------------------------------------------------------------------


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(f)]


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


def _normalise(text: str) -> str:
    return " ".join(text.translate(_DASHES).translate(_QUOTES).split())


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


def _digits(text: str) -> float | None:
    """Digits to a value: "3,000" -> 3000.0, "2,5" -> 2.5, "1.5" -> 1.5, "1.500.000" -> 1500000.0."""
    dots, commas = text.count("."), text.count(",")
    if dots > 1:  # dots group thousands; a comma, if any, is the decimal mark
        int_part, _, dec = text.partition(",")
        groups = int_part.split(".")
        if "," in dec or any(len(g) != 3 for g in groups[1:]):
            return None
        return float("".join(groups) + ("." + dec if dec else ""))
    if dots and commas:
        if text.rfind(".") > text.rfind(","):  # 1,234.5
            int_part, dec = text.split(".")
            groups = int_part.split(",")
            if any(len(g) != 3 for g in groups[1:]):
                return None
            return float("".join(groups) + "." + dec)
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
    tokens = _tokens(_normalise(text))
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
    text = _normalise(text)
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
    if m := after.match(text, end):
        end = m.end()
    elif m := percent.match(text, end):
        end = m.end()
    if m := before.search(text, 0, start):
        start = m.start(1)
    return start, end


def qualifier_start(text: str, start: int) -> int:
    """Where a qualifier right before ``start`` begins ("more than", "up to", "about"), else ``start``."""
    m = _qualifier_before_re().search(text, 0, start)
    return m.start() if m else start
