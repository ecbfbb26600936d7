"""The gazetteer of organisations and operations (``extractors/data/gazetteer.csv``).

Columns ``canonical,label,acronyms,variants``: label is ORG or OPERATION; acronyms and
variants are ``|``-separated and may be empty. Canonical names are spelt as NATO writes them.

Lookup normalises a name: curly apostrophes and every kind of dash are unified, spaces around
a dash dropped ("NATO – EU" == "NATO-EU"), a leading "the" and possessive "'s" dropped, and
surrounding punctuation stripped. Names (canonical and variants) then match case-insensitively,
acronyms case-sensitively ("EDA", not "eda").

``Gazetteer.patterns()`` gives spaCy EntityRuler patterns for every name and acronym, with the
canonical name as id: LOWER token patterns for names, ORTH for acronyms; a dash token matches
any dash and "'s" either apostrophe.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
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
        """The canonical name and its variants (matched case-insensitively)."""
        return (self.canonical, *self.variants)


def _key(text: str) -> str:
    """A name's lookup key, case kept: quotes, dashes and spacing unified, "the" and "'s" dropped."""
    s = text.translate(_QUOTES).translate(_DASHES)
    s = re.sub(r"\s*-\s*", "-", s)
    s = " ".join(s.split()).strip(_EDGE_PUNCT)
    s = re.sub(r"^the\s+", "", s, flags=re.IGNORECASE)
    s = re.sub(r"(?<=\w)'s\b", "", s)
    return " ".join(s.split()).strip(_EDGE_PUNCT)


class Gazetteer:
    """Entries indexed by name (case-insensitive) and acronym (case-sensitive)."""

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
                self._add(self._names, _key(name).casefold(), name, entry)
            for acronym in entry.acronyms:
                self._add(self._acronyms, _key(acronym), acronym, entry)

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
        return self._acronyms.get(key) or self._names.get(key.casefold())

    def patterns(self, tokenizer: Callable[[str], Iterable[Any]] | None = None) -> list[dict[str, Any]]:
        """EntityRuler patterns ``{"label", "pattern", "id"}`` for every name and acronym.

        ``tokenizer`` splits a name into tokens as the pipeline will (``nlp.tokenizer``);
        by default a blank English pipeline's.
        """
        tokenize = tokenizer or _blank_tokenizer()
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for entry in self.entries:
            forms = [(n, "LOWER") for n in entry.names] + [(a, "ORTH") for a in entry.acronyms]
            for text, attr in forms:
                tokens = [t if isinstance(t, str) else t.text for t in tokenize(text)]
                pattern = [_token_pattern(t, attr) for t in tokens if t.strip()]
                if not pattern:
                    continue
                item = {"label": entry.label, "pattern": pattern, "id": entry.canonical}
                dedup = json.dumps(item, sort_keys=True, ensure_ascii=False)
                if dedup not in seen:
                    seen.add(dedup)
                    out.append(item)
        return out


def _token_pattern(token: str, attr: str) -> dict[str, Any]:
    if token and all(c in _DASH_CHARS for c in token):
        return {"ORTH": {"IN": sorted({token, *_DASH_CHARS})}}
    value = token.lower() if attr == "LOWER" else token
    if "'" in token or "\u2019" in token:
        straight = value.replace("\u2019", "'")
        return {attr: {"IN": sorted({straight, straight.replace("'", "\u2019")})}}
    return {attr: value}


@cache
def _blank_tokenizer() -> Callable[[str], Iterable[Any]]:
    import spacy

    return spacy.blank("en").tokenizer


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
