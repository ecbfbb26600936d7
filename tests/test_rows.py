"""Per-document rows kept out of memory: the spool on disk, the store's rows, and their order."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pytest

from outputs.rows import Rows, Spool, StoredRows, same_content
from schemas.tables import arrow_table, frame


def _doc(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def _blocks(doc_id: str, texts: list[str]) -> pa.Table:
    return arrow_table("blocks", [
        {"doc_id": doc_id, "block_id": i, "page": 1, "kind": "paragraph", "section": None, "text": t,
         "x0": 0.0, "top": float(i), "x1": 1.0, "bottom": float(i) + 0.5}
        for i, t in enumerate(texts)
    ])


def _entities(doc_id: str, spans: list[tuple[int, int, str]]) -> pa.Table:
    return arrow_table("entities", [
        {"doc_id": doc_id, "block_id": b, "page": 1, "entity_id": "0" * 16, "label": "ORG", "text": t,
         "start_char": s, "end_char": s + len(t), "canonical": t}
        for b, s, t in spans
    ])


def test_spool_gives_back_each_documents_rows(tmp_path):
    spool = Spool(tmp_path / "spool")
    a, b, c = _doc(1), _doc(2), _doc(3)
    spool.add(a, {"blocks": _blocks(a, ["NATO and the EU", "The European Defence Agency (EDA)"]),
                  "entities": _entities(a, [(0, 0, "NATO"), (1, 4, "European Defence Agency")])})
    spool.add(b, {"blocks": _blocks(b, ["Operation Sea Guardian"]), "entities": _entities(b, [])})
    assert a in spool and c not in spool
    assert spool.get("blocks", a).column("text").to_pylist() == ["NATO and the EU", "The European Defence Agency (EDA)"]
    assert spool.get("entities", a).column("text").to_pylist() == ["NATO", "European Defence Agency"]
    assert spool.get("entities", b).num_rows == 0 and spool.get("blocks", b).column("doc_id").to_pylist() == [b]
    assert spool.get("blocks", c) is None
    with pytest.raises(RuntimeError, match="add every document before reading"):
        spool.add(c, {"blocks": _blocks(c, ["x"]), "entities": _entities(c, [])})
    spool.close()
    assert not (tmp_path / "spool").exists()


def test_rows_prefer_the_newest_source_and_keep_store_order():
    a, b = _doc(1), _doc(2)
    old = StoredRows({"blocks": frame("blocks", _blocks(a, ["old text"]).to_pylist() + _blocks(b, ["kept", "too"]).to_pylist())})
    # New rows arrive out of order: they come back ordered by block_id.
    new = StoredRows({"blocks": _blocks(a, ["first", "second"]).take([1, 0]), "entities": _entities(a, [(1, 0, "EU"), (0, 3, "NATO"), (0, 0, "EDA")])})
    rows = Rows([new, old])
    assert rows.frame("blocks", [b, a]).text.tolist() == ["kept", "too", "first", "second"]
    assert [(r.block_id, r.start_char) for r in rows.frame("entities", [a]).itertuples()] == [(0, 0), (0, 3), (1, 0)]
    assert rows.frame("entities", [b]).empty and list(rows.frame("entities", [b]).columns)[:3] == ["doc_id", "block_id", "page"]


def test_merge_from_a_spool_equals_the_merge_in_memory(tmp_path):
    import pandas as pd

    from extractors.pipeline import process_pdf
    from outputs.merge import merge, merge_results
    from outputs.store import Manifest, Store

    from .conftest import SAMPLE_PDFS

    results = [process_pdf(p) for p in SAMPLE_PDFS]
    first, later = [results[0], results[2]], [results[1]]  # June 2020 joins February 2019 and Sea Guardian
    existing = merge_results({}, first)
    expected = merge_results(existing, later)

    store = Store(tmp_path)
    store.write(existing, Manifest())
    with store.spool() as spool:
        for r in later:
            spool.add(r.doc_id, r.rows)
        shells = [type(r)(source=r.source, doc_id=r.doc_id, document_row=r.document_row) for r in later]  # no rows in memory
        merged = merge(store.read_small(), spool, shells, store.rows())
        got = merged.frames()
        # as a batch merges: only the change rows of the series a new document is in are read
        small = {name: store.read(name) for name in ("documents", "failures")}
        read: list[set[str]] = []
        lean = merge(small, spool, shells, store.rows(), changes_of=lambda series: read.append(series) or store.read_series("changes", series))
        assert read == [{"nato-eu"}] and set(lean.changes.series) == {"nato-eu"}
        store.write(lean.tables(), Manifest())
    assert set(zip(got["changes"].from_edition, got["changes"].to_edition)) == {("2019-02", "2020-06")}
    for name, df in expected.items():
        pd.testing.assert_frame_equal(got[name], df, check_dtype=False)
        pd.testing.assert_frame_equal(store.read(name), df, check_dtype=False)
    assert not list(tmp_path.glob(".spool-*"))


def test_same_content_means_same_blocks_and_same_normalised_entities():
    a, b, c, d = _doc(1), _doc(2), _doc(3), _doc(4)
    texts = ["The European Defence Agency (EDA) was set up in 2004.", "Operation Sea Guardian"]
    spans = [(0, 4, "European Defence Agency"), (1, 0, "Operation Sea Guardian")]
    other_value = _entities(c, spans).set_column(8, "canonical", pa.array(["EDA", "Operation Sea Guardian"]))
    rows = Rows([StoredRows({
        "blocks": pa.concat_tables([_blocks(x, texts) for x in (a, b, c)] + [_blocks(d, texts[:1] + ["Operation Sea Guardian."])]),
        "entities": pa.concat_tables([_entities(a, spans), _entities(b, spans[::-1]), other_value, _entities(d, spans)]),
    })])
    assert same_content(rows.tables(a), rows.tables(b))  # same rows, whatever order they come in
    assert not same_content(rows.tables(a), rows.tables(c))  # same words, another normalised value (as a relative date can be)
    assert not same_content(rows.tables(a), rows.tables(d))  # one block's text differs


def test_stored_rows_give_each_documents_rows_in_order_whether_together_or_apart():
    a, b, c = _doc(1), _doc(2), _doc(3)
    together = pa.concat_tables([_blocks(b, ["b0", "b1"]), _blocks(a, ["a0", "a1", "a2"]), _blocks(c, ["c0"])])
    of_a = _blocks(a, ["a0", "a1", "a2"])
    apart = pa.concat_tables([of_a.slice(0, 1), _blocks(b, ["b0", "b1"]), of_a.slice(1)])
    for table in (together, apart):
        rows = StoredRows({"blocks": table})
        assert rows.get("blocks", a)["text"].to_pylist() == ["a0", "a1", "a2"]
        assert rows.get("blocks", b)["text"].to_pylist() == ["b0", "b1"]
        assert rows.get("blocks", _doc(4)) is None
    assert StoredRows({"blocks": together}).get("blocks", c)["text"].to_pylist() == ["c0"]
