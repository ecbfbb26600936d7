"""Synthetic documents made from the samples' rows, for store tests and ``tests/bench_store.py``:
no PDF is read. Document ``i`` is a copy of sample ``i % 3`` (NATO – EU 2019, NATO – EU 2020,
Operation Sea Guardian) in group ``i // 3``: its own id, file name and series
(``nato-eu-g00007``, ``operation-sea-guardian-g00007``), the sample's rows."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from schemas.tables import DOCUMENT_ORDER, ROW_TABLES, TABLES, arrow_table, concat_arrow

TEMPLATES = 3


def doc_id(i: int) -> str:
    return hashlib.sha256(f"synthetic document {i}".encode()).hexdigest()


def source(template: str, group: int) -> str:
    """``1902-factsheet-nato-eu-en.pdf`` → ``1902-factsheet-nato-eu-g00007-en.pdf``."""
    return re.sub(r"-(\w\w)\.pdf$", rf"-g{group:05d}-\1.pdf", template)


def _series(template_series: str, group: int) -> str:
    return f"{template_series}-g{group:05d}"


class Samples:
    """The samples' tables (``merge_results`` of the three sample PDFs), in the order above."""

    def __init__(self, tables: Mapping[str, pd.DataFrame]) -> None:
        docs = tables["documents"].sort_values(["series", "edition"], na_position="first").reset_index(drop=True)
        self.documents = docs
        self._rows = {name: pa.Table.from_pandas(tables[name], preserve_index=False) for name in ROW_TABLES}
        self.changes = tables["changes"]
        self.templates = docs["doc_id"].tolist()
        assert len(self.templates) == TEMPLATES
        #: each template's rows of each table, with the contract's types (made once: a large store copies them 10,000 times)
        self._template_rows = {
            (name, t): concat_arrow(name, [table.filter(pa.compute.equal(table["doc_id"], t))])
            for name, table in self._rows.items() for t in self.templates
        }
        self._document_rows = [docs.iloc[k].to_dict() for k in range(TEMPLATES)]

    def document_row(self, i: int) -> dict[str, Any]:
        row = dict(self._document_rows[i % TEMPLATES])
        group = i // TEMPLATES
        return {**row, "doc_id": doc_id(i), "source": source(row["source"], group), "series": _series(row["series"], group)}

    def rows(self, name: str, i: int) -> pa.Table:
        table = self._template_rows[(name, self.templates[i % TEMPLATES])]
        at = table.schema.get_field_index("doc_id")  # the same field (type, nullability): the table keeps the contract's schema
        table = table.set_column(at, table.schema.field(at), pa.array([doc_id(i)] * table.num_rows, pa.string()))
        if name == "facts":
            row = self.document_row(i)
            at = table.schema.get_field_index("series")
            table = table.set_column(at, table.schema.field(at), pa.array([row["series"]] * table.num_rows, pa.string()))
        return table

    def manifest(self, numbers: Iterable[int], cache_key: str) -> Any:
        """The manifest a run would have written for documents ``numbers``."""
        from outputs.store import Manifest

        m = Manifest()
        for i in numbers:
            row = self.document_row(i)
            m.record(row["doc_id"], cache_key, row["source"])
        return m

    def result(self, i: int, path: str | None = None) -> Any:
        """Document ``i`` as ``process_pdf`` would give it."""
        from extractors.pipeline import ProcessedPDF

        row = self.document_row(i)
        return ProcessedPDF(source=row["source"], doc_id=row["doc_id"], path=path, document_row=row,
                            rows={name: self.rows(name, i) for name in ROW_TABLES})

    def changes_of(self, group: int) -> pd.DataFrame:
        """The change rows of group ``group``'s two NATO – EU editions (the samples' pair)."""
        a, b = self.templates[0], self.templates[1]
        ch = self.changes[(self.changes["from_doc_id"] == a) & (self.changes["to_doc_id"] == b)]
        first = group * TEMPLATES
        return ch.assign(
            series=_series(str(ch["series"].iloc[0]), group) if len(ch) else ch["series"],
            from_doc_id=doc_id(first), to_doc_id=doc_id(first + 1),
            change_id=[hashlib.sha256(f"{group}\x1f{c}".encode()).hexdigest()[:16] for c in ch["change_id"]],
        )

    def tables(self, n: int | Iterable[int], docs_per_part: int = 64) -> dict[str, Any]:
        """The six tables of a store of documents ``0 .. n-1`` (or of the documents ``n``), as
        ``Store.write`` takes them: the large ones as functions that yield parts."""
        from outputs.merge import assign_series

        numbers = list(range(n)) if isinstance(n, int) else sorted(n)
        documents = pd.DataFrame([self.document_row(i) for i in numbers]).astype(self.documents.dtypes.to_dict())
        documents = assign_series(documents).sort_values(list(DOCUMENT_ORDER), na_position="first").reset_index(drop=True)
        index = {doc_id(i): i for i in numbers}
        order = [index[d] for d in documents["doc_id"]]

        def parts(name: str) -> Iterator[pd.DataFrame]:
            for k in range(0, len(order), docs_per_part):
                yield pa.concat_tables([self.rows(name, i) for i in order[k : k + docs_per_part]]).to_pandas(
                    types_mapper=lambda t: pd.ArrowDtype(t) if pa.types.is_date(t) else None)

        present = set(numbers)
        groups = sorted({i // TEMPLATES for i in numbers if i % TEMPLATES == 1 and i - 1 in present})
        changes = pd.concat([self.changes_of(g) for g in groups], ignore_index=True) if groups else self.changes.iloc[:0]
        out: dict[str, Any] = {"documents": documents, "changes": changes, "failures": arrow_table("failures", []).to_pandas()}
        for name in ROW_TABLES:
            out[name] = (lambda name=name: parts(name))
        assert set(out) == set(TABLES)
        return out
