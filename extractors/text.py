"""Text clean-up: Unicode normalisation and undoing line-end hyphenation.

Whether a hyphen at the end of a line splits one word ("organi-" + "sations") or is a real
hyphen ("Jean-" + "Claude", "tanker-" + "transport") is decided from evidence, in this order:
the document's own words (the joined or the hyphenated form used elsewhere in it), then a
dictionary (pyspellchecker's English word list, British spellings mapped to it), then the
shape of the parts (a capitalised second part keeps its hyphen).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

# Characters that are typographic variants of plain text. Curly quotes are kept as they are.
_CHAR_MAP = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
    "\u00a0": " ",  # no-break space
    "\u2007": " ",  # figure space
    "\u202f": " ",  # narrow no-break space
    "\u2009": " ",  # thin space
    "\u00ad": "",  # soft hyphen
    "\u200b": "",  # zero-width space
    "\u200c": "",
    "\u200d": "",
    "\ufeff": "",
}
_TRANSLATE = str.maketrans(_CHAR_MAP)
_SPACES = re.compile(r"\s+")

#: Hyphen characters that may end a line: hyphen-minus, hyphen, non-breaking hyphen.
LINE_END_HYPHENS = ("-", "\u2010", "\u2011")

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


def clean_text(text: str) -> str:
    """Expand ligatures, drop soft hyphens and zero-width characters, make odd spaces plain."""
    return text.translate(_TRANSLATE)


def collapse_spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


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
        if body.endswith(LINE_END_HYPHENS):
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
    # 3. The dictionary.
    if in_dictionary(joined):
        return False
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
        if out.endswith(LINE_END_HYPHENS) and len(out) > 1 and out[-2].isalpha() and line[:1].isalnum():
            head = out[:-1]
            word_start = max(head.rfind(" "), head.rfind("/")) + 1
            if keeps_hyphen(head[word_start:], line, vocab):
                out = head + "-" + line
            else:
                out = head + line
        else:
            out = out + " " + line
    return out
