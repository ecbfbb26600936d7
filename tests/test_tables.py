"""The output contract: schemas reject bad rows with the evidence, types are stable."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow as pa
import pytest
from pandera.errors import SchemaErrors

from schemas.tables import ARROW, TABLES, empty, frame, to_arrow, validate

DOC = "a" * 64


def _block(**kw):
    row = {"doc_id": DOC, "block_id": 0, "page": 1, "kind": "paragraph", "section": None, "text": "Text.", "x0": 1.0, "top": 2.0, "x1": 3.0, "bottom": 4.0}
    row.update(kw)
    return row


def test_every_table_has_a_schema_and_empty_frames_validate():
    for name in TABLES:
        df = validate(name, empty(name))
        assert list(df.columns) == ARROW[name].names


def test_bad_kind_is_rejected_with_the_failing_row():
    df = frame("blocks", [_block(), _block(block_id=1, kind="banner")])
    with pytest.raises(SchemaErrors) as err:
        validate("blocks", df)
    cases = err.value.failure_cases
    assert "banner" in set(cases["failure_case"].astype(str))


def test_duplicate_block_ids_are_rejected():
    with pytest.raises(SchemaErrors):
        validate("blocks", frame("blocks", [_block(), _block()]))


def test_entity_dates_are_arrow_dates_and_values_float64():
    row = {
        "doc_id": DOC, "block_id": 0, "page": 1, "entity_id": "0" * 16, "label": "DATE", "text": "July 2016",
        "start_char": 3, "end_char": 12, "canonical": "2016-07-01/2016-07-31",
        "date_start": date(2016, 7, 1), "date_end": date(2016, 7, 31), "value": None, "unit": None, "qualifier": None,
    }
    df = validate("entities", frame("entities", [row]))
    table = to_arrow("entities", df)
    assert table.schema.field("date_start").type == pa.date32()
    assert table.schema.field("value").type == pa.float64()
    assert table.column("date_end").to_pylist() == [date(2016, 7, 31)]


def test_date_range_must_be_ordered():
    row = {
        "doc_id": DOC, "block_id": 0, "page": 1, "entity_id": "0" * 16, "label": "DATE", "text": "x",
        "start_char": 0, "end_char": 1, "canonical": "x", "date_start": date(2020, 1, 2), "date_end": date(2020, 1, 1),
    }
    with pytest.raises(SchemaErrors):
        validate("entities", frame("entities", [row]))


def test_unknown_table_name():
    with pytest.raises(ValueError, match="unknown table 'blocs'"):
        frame("blocs", [])


def test_sample_store_validates(store):
    for name in TABLES:
        validate(name, store[name])
    docs = store["documents"]
    assert list(docs["edition"]) == ["2019-02", "2020-06", "2019-02"]
    assert isinstance(docs["ingested_at"].dtype, pd.DatetimeTZDtype)
