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
#: A soft hyphen at the end of a word as drawn on the page: the typesetter broke the word there,
#: so the two parts are one word. ``clean_word`` keeps it (and only it) as this mark.
SOFT_HYPHEN = "\u00ad"
_WORD_END_SOFT_HYPHEN = re.compile("\u00ad+[-\u2010\u2011]?$")

#: Prefixes that British (and NATO) usage joins with a hyphen even where an American dictionary
#: writes the compound solid ("non-combat", "self-defence"): at a line end the hyphen is kept.
_HYPHEN_PREFIXES = frozenset({"non", "self"})
#: Words that follow a name or an acronym after a hyphen to make an adjective ("Wielingen-class",
#: "NATO-led", "Brussels-based"). After a capitalised first part that no dictionary knows, the
#: hyphen before one of these is a real one; other second parts may be the rest of a name cut by
#: hyphenation ("Stolten-" + "berg").
_COMPOUND_HEADS = frozenset({
    "backed", "based", "born", "bound", "brokered", "built", "centred", "centered", "class", "controlled",
    "era", "flagged", "funded", "held", "led", "level", "like", "linked", "made", "mandated", "owned",
    "registered", "related", "run", "size", "sized", "speaking", "sponsored", "style", "trained", "type", "wide",
})

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


def clean_word(text: str) -> str:
    """``clean_text`` for one word as drawn on the page, keeping a soft hyphen at its end.

    A soft hyphen inside a word is invisible and only splits the word for the typesetter, so
    it goes. At the end of a word (with or without the visible hyphen glyph drawn for it) it says
    that the line break splits one word; ``join_lines`` joins the parts without any guessing.
    """
    m = _WORD_END_SOFT_HYPHEN.search(text)
    if m:
        return clean_text(text[: m.start()]) + SOFT_HYPHEN
    return clean_text(text)


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
    if left_w[0].isupper() and right_word.lower() in _COMPOUND_HEADS and not in_dictionary(left_w):
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
