"""A batch into the store (``outputs.merge``): series assigned across documents, overrides."""

from __future__ import annotations

import pandas as pd
import pytest

from outputs.merge import assign_series, read_series_map
from schemas.errors import UsageError
from schemas.tables import frame


def _docs(*rows: tuple[str, str]) -> pd.DataFrame:
    return frame("documents", [
        {"doc_id": f"{i:064x}", "source": source, "series": "x", "title": title, "edition": None, "language": "en",
         "pages": 1, "ingested_at": pd.Timestamp("2026-01-01", tz="UTC"), "pipeline_version": "t"}
        for i, (source, title) in enumerate(rows)
    ])


def test_editions_join_the_series_of_a_factsheet_with_the_same_title_key():
    docs = _docs(
        ("1505-factsheet-nato-ukraine-en.pdf", "NATO’s relations with Ukraine"),
        ("ukraine-2017.pdf", "Relations with Ukraine"),  # renamed file: joins by its title's key
        ("ukraine-2021.pdf", "Relations with Ukraine (Archived)"),
        ("other.pdf", "Relations with Georgia"),
        ("a.pdf", "Factsheet"),
        ("b.pdf", "Factsheet"),  # a one-word title: no shared key, each its own series
    )
    got = dict(zip(docs.source, assign_series(docs).series, strict=True))
    assert got["ukraine-2017.pdf"] == got["ukraine-2021.pdf"] == got["1505-factsheet-nato-ukraine-en.pdf"] == "nato-ukraine"
    assert got["other.pdf"] == "relations-georgia"
    assert got["a.pdf"] != got["b.pdf"]


def test_a_series_map_overrides_file_names_and_titles(tmp_path):
    path = tmp_path / "series.csv"
    path.write_text("pattern,series\n*georgia*,Georgia relations\nRelations with Ukraine,ukraine\n", encoding="utf-8")
    mapping = read_series_map(path)
    assert mapping == [("*georgia*", "georgia-relations"), ("Relations with Ukraine", "ukraine")]
    docs = _docs(("1505-factsheet-nato-ukraine-en.pdf", "NATO’s relations with Ukraine"), ("x.pdf", "relations with ukraine"),
                 ("GEORGIA-2020.pdf", "NATO and Georgia"))
    assert assign_series(docs, mapping).series.tolist() == ["nato-ukraine", "ukraine", "georgia-relations"]


def test_a_bad_series_map_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="pattern,series"):
        read_series_map(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("file,name\na,b\n", encoding="utf-8")
    with pytest.raises(UsageError, match="needs the columns pattern,series"):
        read_series_map(bad)
