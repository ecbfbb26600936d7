"""The gazetteer of organisations and operations (``extractors/data/gazetteer.csv``).

Columns ``canonical,label,acronyms,variants``: label is ORG or OPERATION; acronyms and
variants are ``|``-separated and may be empty. Canonical names are spelt as NATO writes them.

Lookup normalises a name: curly apostrophes and every kind of dash are unified, spaces around
a dash dropped ("NATO – EU" == "NATO-EU"), a leading "the" and possessive "'s" dropped, and
surrounding punctuation stripped. Case matters: a name (canonical or variant) matches as
written, title-cased ("Enhanced Forward Presence" for "enhanced Forward Presence") or in
capitals (a heading), never in lower case, so that the generic "International Staff" does not
match the prose "international staff"; acronyms match exactly as written ("EDA", not "eda").

``Gazetteer.patterns()`` gives spaCy EntityRuler phrase patterns (matched on ORTH, so in the
same cases as lookup) for every name and acronym, with the canonical name as id; a name with a
dash or an apostrophe is given with every dash and both apostrophes.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
DEFAULT_PATH = DATA / "gazetteer.csv"
LABELS = ("ORG", "OPERATION")

_DASH_CHARS = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_DASHES = str.maketrans({c: "-" for c in _DASH_CHARS[1:]})
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00a0": " ", "\u202f": " "})
_EDGE_PUNCT = " \t\n'\".,;:()[]{}"


@dataclass(frozen=True)
class GazetteerEntry:
    canonical: str
    label: str
    acronyms: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The canonical name and its variants (matched as written, title-cased or in capitals)."""
        return (self.canonical, *self.variants)


#: Words left in lower case when a name is title-cased ("Council of the European Union").
SMALL_WORDS = frozenset("a an and at by de des du for in la le of on the to with".split())


def title_case(name: str) -> str:
    """``name`` with each word capitalised, small words after the first left alone."""
    words = name.split(" ")
    out = []
    for i, word in enumerate(words):
        if word[:1].islower() and (i == 0 or word not in SMALL_WORDS):
            word = word[0].upper() + word[1:]
        out.append(word)
    return " ".join(out)


def name_forms(name: str) -> tuple[str, ...]:
    """The cases a name matches in: as written, title-cased, in capitals."""
    forms = [name, title_case(name)]
    if sum(c.isalpha() for c in name) > 1:
        forms.append(name.upper())
    return tuple(dict.fromkeys(forms))


def _key(text: str) -> str:
    """A name's lookup key, case kept: quotes, dashes and spacing unified, "the" and "'s" dropped."""
    s = text.translate(_QUOTES).translate(_DASHES)
    s = re.sub(r"\s*-\s*", "-", s)
    s = " ".join(s.split()).strip(_EDGE_PUNCT)
    s = re.sub(r"^the\s+", "", s, flags=re.IGNORECASE)
    s = re.sub(r"(?<=\w)'s\b", "", s, flags=re.IGNORECASE)
    return " ".join(s.split()).strip(_EDGE_PUNCT)


class Gazetteer:
    """Entries indexed by name (as written, title-cased, in capitals) and acronym (as written)."""

    def __init__(self, entries: Iterable[GazetteerEntry]) -> None:
        self.entries: tuple[GazetteerEntry, ...] = tuple(entries)
        self._names: dict[str, GazetteerEntry] = {}
        self._acronyms: dict[str, GazetteerEntry] = {}
        for entry in self.entries:
            if entry.label not in LABELS:
                raise ValueError(
                    f"gazetteer label must be one of {LABELS}, got {entry.label!r} for {entry.canonical!r}"
                )
            if not entry.canonical.strip():
                raise ValueError(f"gazetteer entry without a canonical name: {entry!r}")
            for name in entry.names:
                self._add(self._names, _key(name), name, entry)
            for acronym in entry.acronyms:
                self._add(self._acronyms, _key(acronym), acronym, entry)
        # derived forms (title case, capitals) never override a name as written
        for entry in self.entries:
            for name in entry.names:
                for form in name_forms(name)[1:]:
                    self._names.setdefault(_key(form), entry)

    @staticmethod
    def _add(index: dict[str, GazetteerEntry], key: str, text: str, entry: GazetteerEntry) -> None:
        if not key:
            raise ValueError(f"gazetteer name {text!r} of {entry.canonical!r} is empty once normalised")
        other = index.get(key)
        if other is not None and other is not entry:
            raise ValueError(f"gazetteer name {text!r} is claimed by both {other.canonical!r} and {entry.canonical!r}")
        index[key] = entry

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[GazetteerEntry]:
        return iter(self.entries)

    def lookup(self, name: str) -> GazetteerEntry | None:
        """The entry a name, variant or acronym refers to, or None."""
        if not isinstance(name, str):
            raise ValueError(f"gazetteer lookup expects a str, got {name!r}")
        key = _key(name)
        if not key:
            return None
        return self._acronyms.get(key) or self._names.get(key)

    def patterns(self) -> list[dict[str, Any]]:
        """EntityRuler phrase patterns ``{"label", "pattern", "id"}`` for every name and acronym."""
        out: list[dict[str, Any]] = []
        seen: set[tuple[str, str, str]] = set()
        for entry in self.entries:
            forms = [f for n in entry.names for f in name_forms(n)] + list(entry.acronyms)
            for form in forms:
                for text in _spellings(form):
                    item = (entry.label, text, entry.canonical)
                    if item not in seen:
                        seen.add(item)
                        out.append({"label": entry.label, "pattern": text, "id": entry.canonical})
        return out


_PRINTED_DASHES = ("-", "\u2013", "\u2014", "\u2011")


def _spellings(text: str) -> list[str]:
    """``text`` with each dash as printed (every kind, with or without spaces) and both apostrophes."""
    base = " ".join(text.translate(_QUOTES).split())
    forms = [base]
    if re.search(f"[{re.escape(_DASH_CHARS)}]", base):
        stem = re.sub(rf"\s*[{re.escape(_DASH_CHARS)}]\s*", "\x00", base)
        forms = [stem.replace("\x00", d) for d in _PRINTED_DASHES] + [stem.replace("\x00", f" {d} ") for d in _PRINTED_DASHES]
    if "'" in base:
        forms += [f.replace("'", "\u2019") for f in forms]
    return list(dict.fromkeys(forms))


def _split(cell: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (cell or "").split("|") if p.strip())


def read_gazetteer(path: Path) -> list[GazetteerEntry]:
    """The entries of a gazetteer CSV, in file order."""
    with open(path, encoding="utf-8", newline="") as f:
        return [
            GazetteerEntry(
                canonical=(row["canonical"] or "").strip(),
                label=(row["label"] or "").strip(),
                acronyms=_split(row.get("acronyms")),
                variants=_split(row.get("variants")),
            )
            for row in csv.DictReader(f)
        ]


@cache
def _load(path: Path) -> Gazetteer:
    return Gazetteer(read_gazetteer(path))


def load_gazetteer(path: Path | None = None) -> Gazetteer:
    """The gazetteer at ``path`` (default ``extractors/data/gazetteer.csv``), loaded once."""
    return _load(Path(path) if path is not None else DEFAULT_PATH)
