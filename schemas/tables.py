"""The output contract: the six tables, declared once as pandera models (columns, types and
checks); their Arrow schemas are derived from the models' annotations.

Every table is built with ``frame(name, rows)``, which gives the columns their stable types
(dates as Arrow ``date32``, amounts as float64, timestamps in UTC), and checked with
``validate(name, df)`` before anything is written.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import pandas as pd
import pandera.pandas as pa
import pyarrow
from pandera.typing import Series

from .records import BLOCK_KINDS, ENTITY_LABELS, FACT_LABELS

TABLES = ("documents", "blocks", "entities", "facts", "changes", "failures")
#: The tables whose rows belong to one document each (kept per document, written in parts).
ROW_TABLES = ("blocks", "entities", "facts")
#: The order of ``documents`` rows (undated editions first in their series).
DOCUMENT_ORDER = ("series", "edition", "source", "doc_id")
CHANGE_KINDS = ("added", "removed", "changed", "moved")
CHANGE_LEVELS = ("entity", "block")
FAILURE_STAGES = ("discover", "read", "layout", "tag", "write", "pipeline", "timeout", "limit")

Date = Annotated[pd.ArrowDtype, pyarrow.date32()]
Timestamp = Annotated[pd.DatetimeTZDtype, "us", "UTC"]
_SHA256 = r"^[0-9a-f]{64}$"
_ID = r"^[0-9a-f]{16}$"
_EDITION = r"^\d{4}-(0[1-9]|1[0-2])$"


class DocumentsTable(pa.DataFrameModel):
    """One row per PDF."""

    doc_id: Series[str] = pa.Field(str_matches=_SHA256, unique=True)
    source: Series[str]
    series: Series[str] = pa.Field(str_matches=r"^[^\W_A-Z]+(-[^\W_A-Z]+)*$")  # lower-case letters of any script, digits
    title: Series[str]
    edition: Series[str] = pa.Field(nullable=True, str_matches=_EDITION)
    language: Series[str] = pa.Field(str_length={"min_value": 2, "max_value": 2})
    pages: Series[int] = pa.Field(ge=1)
    ingested_at: Series[Timestamp]
    pipeline_version: Series[str]

    class Config:
        strict = True
        coerce = True


class BlocksTable(pa.DataFrameModel):
    """One row per text block, in reading order."""

    doc_id: Series[str] = pa.Field(str_matches=_SHA256)
    block_id: Series[int] = pa.Field(ge=0)
    page: Series[int] = pa.Field(ge=1)
    kind: Series[str] = pa.Field(isin=BLOCK_KINDS)
    section: Series[str] = pa.Field(nullable=True)
    text: Series[str] = pa.Field(str_length={"min_value": 1})
    x0: Series[float]
    top: Series[float]
    x1: Series[float]
    bottom: Series[float]

    class Config:
        strict = True
        coerce = True
        unique = ["doc_id", "block_id"]


class EntitiesTable(pa.DataFrameModel):
    """One row per entity mention; offsets are into the block's text."""

    doc_id: Series[str] = pa.Field(str_matches=_SHA256)
    block_id: Series[int] = pa.Field(ge=0)
    page: Series[int] = pa.Field(ge=1)
    entity_id: Series[str] = pa.Field(str_matches=_ID)
    label: Series[str] = pa.Field(isin=ENTITY_LABELS)
    text: Series[str] = pa.Field(str_length={"min_value": 1})
    start_char: Series[int] = pa.Field(ge=0)
    end_char: Series[int] = pa.Field(ge=1)
    canonical: Series[str] = pa.Field(str_length={"min_value": 1})
    date_start: Series[Date] = pa.Field(nullable=True)
    date_end: Series[Date] = pa.Field(nullable=True)
    value: Series[float] = pa.Field(nullable=True)
    unit: Series[str] = pa.Field(nullable=True)
    qualifier: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = True
        coerce = True

    @pa.dataframe_check
    @classmethod
    def offsets_ordered(cls, df: pd.DataFrame) -> Series[bool]:
        return df["end_char"] > df["start_char"]

    @pa.dataframe_check
    @classmethod
    def date_range_ordered(cls, df: pd.DataFrame) -> Series[bool]:
        both = df["date_start"].notna() & df["date_end"].notna()
        ok = pd.Series(True, index=df.index)
        ok[both] = (df.loc[both, "date_start"] <= df.loc[both, "date_end"]).astype(bool)
        return ok


class FactsTable(pa.DataFrameModel):
    """One row per fact: a value (an AMOUNT or a DATE mention) with what it is about. ``fact_id``
    is the same for the same fact in every edition of a series."""

    fact_id: Series[str] = pa.Field(str_matches=_ID)
    series: Series[str]
    edition: Series[str] = pa.Field(nullable=True, str_matches=_EDITION)
    doc_id: Series[str] = pa.Field(str_matches=_SHA256)
    block_id: Series[int] = pa.Field(ge=0)
    page: Series[int] = pa.Field(ge=1)
    entity_id: Series[str] = pa.Field(str_matches=_ID)
    label: Series[str] = pa.Field(isin=FACT_LABELS)
    start_char: Series[int] = pa.Field(ge=0)
    end_char: Series[int] = pa.Field(ge=1)
    subject: Series[str] = pa.Field(str_length={"min_value": 1})
    measure: Series[str] = pa.Field(str_length={"min_value": 1})
    value: Series[float] = pa.Field(nullable=True)
    date_start: Series[Date] = pa.Field(nullable=True)
    date_end: Series[Date] = pa.Field(nullable=True)
    qualifier: Series[str] = pa.Field(nullable=True)
    mention: Series[str] = pa.Field(str_length={"min_value": 1})
    text: Series[str] = pa.Field(str_length={"min_value": 1})

    class Config:
        strict = True
        coerce = True
        unique = ["doc_id", "block_id", "start_char"]


class ChangesTable(pa.DataFrameModel):
    """One row per difference between two editions of a series."""

    change_id: Series[str] = pa.Field(str_matches=_ID, unique=True)
    series: Series[str]
    from_edition: Series[str] = pa.Field(nullable=True)
    to_edition: Series[str] = pa.Field(nullable=True)
    # the two documents compared: a series may hold two documents of one edition (a re-issue);
    # null in a store written before these columns existed
    from_doc_id: Series[str] = pa.Field(nullable=True, str_matches=_SHA256)
    to_doc_id: Series[str] = pa.Field(nullable=True, str_matches=_SHA256)
    change: Series[str] = pa.Field(isin=CHANGE_KINDS)
    level: Series[str] = pa.Field(isin=CHANGE_LEVELS)
    label: Series[str]
    canonical: Series[str] = pa.Field(nullable=True)
    before: Series[str] = pa.Field(nullable=True)
    after: Series[str] = pa.Field(nullable=True)
    similarity: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    # where the change is, and what it is of: facts and entities by id, places by block and page
    fact_id: Series[str] = pa.Field(nullable=True, str_matches=_ID)
    entity_id: Series[str] = pa.Field(nullable=True, str_matches=_ID)
    from_block_id: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)
    to_block_id: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)
    from_page: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=1)
    to_page: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=1)
    # a changed amount's values; a changed date's first days
    value_before: Series[float] = pa.Field(nullable=True)
    value_after: Series[float] = pa.Field(nullable=True)
    date_before: Series[Date] = pa.Field(nullable=True)
    date_after: Series[Date] = pa.Field(nullable=True)

    class Config:
        strict = True
        coerce = True


class FailuresTable(pa.DataFrameModel):
    """One row per input that could not be processed."""

    source: Series[str]
    doc_id: Series[str] = pa.Field(nullable=True)
    stage: Series[str] = pa.Field(isin=FAILURE_STAGES)
    error: Series[str]
    message: Series[str]

    class Config:
        strict = True
        coerce = True


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "documents": DocumentsTable,
    "blocks": BlocksTable,
    "entities": EntitiesTable,
    "facts": FactsTable,
    "changes": ChangesTable,
    "failures": FailuresTable,
}

#: Arrow types of the models' column annotations.
_ARROW_TYPES: dict[Any, pyarrow.DataType] = {
    str: pyarrow.string(),
    int: pyarrow.int64(),
    float: pyarrow.float64(),
    pd.Int64Dtype: pyarrow.int64(),
    Date: pyarrow.date32(),
    Timestamp: pyarrow.timestamp("us", tz="UTC"),
}


def _arrow_schema(model: type[pa.DataFrameModel]) -> pyarrow.Schema:
    """The model's columns, in order, with their Arrow types (the one place columns are declared)."""
    fields = []
    for name, hint in typing.get_type_hints(model, include_extras=True).items():
        if typing.get_origin(hint) is Series:
            (inner,) = typing.get_args(hint)
            fields.append((name, _ARROW_TYPES[inner]))
    return pyarrow.schema(fields)


ARROW: dict[str, pyarrow.Schema] = {name: _arrow_schema(model) for name, model in MODELS.items()}


def columns(name: str) -> list[str]:
    return ARROW[_known(name)].names


def _known(name: str) -> str:
    if name not in ARROW:
        raise ValueError(f"unknown table {name!r}; the tables are {', '.join(TABLES)}")
    return name


def types_mapper(ty: pyarrow.DataType) -> Any:
    return pd.ArrowDtype(ty) if pyarrow.types.is_date(ty) else None


def frame(name: str, rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A table's DataFrame with its stable column types, from row dicts (missing keys → null)."""
    schema = ARROW[_known(name)]
    table = pyarrow.Table.from_pylist([dict(r) for r in rows], schema=schema)
    return table.to_pandas(types_mapper=types_mapper)


def arrow_table(name: str, rows: Iterable[Mapping[str, Any]]) -> pyarrow.Table:
    """Row dicts as an Arrow table with the table's types (compact: what workers send back)."""
    return pyarrow.Table.from_pylist([dict(r) for r in rows], schema=ARROW[_known(name)])


def conform(name: str, table: pyarrow.Table) -> pyarrow.Table:
    """``table`` with exactly the contract's columns and types (a column it lacks, as from a
    store written before the column existed, is all nulls)."""
    schema = ARROW[_known(name)]
    for f in schema:
        if f.name not in table.column_names:
            table = table.append_column(f.name, pyarrow.nulls(table.num_rows, f.type))
    return table.select(schema.names).cast(schema)


def concat_arrow(name: str, parts: Iterable[pyarrow.Table]) -> pyarrow.Table:
    """One Arrow table from Arrow tables of one table's rows, with the contract's types."""
    conformed = [conform(name, p) for p in parts]
    return pyarrow.concat_tables(conformed) if conformed else ARROW[_known(name)].empty_table()


def frame_from_arrow(name: str, parts: Iterable[pyarrow.Table]) -> pd.DataFrame:
    """One DataFrame from Arrow tables of one table's rows."""
    return concat_arrow(name, parts).to_pandas(types_mapper=types_mapper)


def empty(name: str) -> pd.DataFrame:
    return frame(name, [])


def prepare() -> None:
    """Build every table's pandera schema now. The first build imports pandera's optional
    backends (``dask.dataframe`` when Dask is installed: about 2 s); a flow calls this in a
    background thread at its start so that the import does not wait until the first write."""
    for model in MODELS.values():
        model.to_schema()


def validate(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Check ``df`` against the table's schema; raises ``pandera.errors.SchemaErrors`` with the
    failing rows when it does not conform."""
    return MODELS[_known(name)].validate(df, lazy=True)


def to_arrow(name: str, df: pd.DataFrame) -> pyarrow.Table:
    """The validated frame as an Arrow table with exactly the contract's types."""
    schema = ARROW[_known(name)]
    table = pyarrow.Table.from_pandas(df[schema.names], preserve_index=False)
    return table.cast(schema).replace_schema_metadata(None)
