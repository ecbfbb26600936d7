"""The project's knowledge as data: gazetteer, patterns and word lists (CSV, JSONL, TXT), and the
one way to read them."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

#: The folder of the data files.
DATA = Path(__file__).resolve().parent


def read_rows(name: str, folder: Path = DATA) -> list[dict[str, str]]:
    """The rows of a CSV file with a header, every cell stripped (empty cells are ""); lines
    before the header that start with ``#`` are comments."""
    with open(folder / name, encoding="utf-8", newline="") as f:
        lines = [line for line in f if not line.startswith("#")]
    return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(lines)]


def read_lines(name: str, folder: Path = DATA) -> list[str]:
    """The non-empty lines of a word list, without ``#`` comment lines."""
    lines = (folder / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def read_jsonl(name: str, folder: Path = DATA) -> list[dict[str, Any]]:
    """The objects of a JSON-lines file (spaCy's pattern format: ``{"label", "pattern", "id"}``)."""
    with open(folder / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
