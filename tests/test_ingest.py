"""The Prefect flow end to end, on a temporary Prefect API (prefect_test_harness)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from flows.ingest import run_ingest
from schemas.errors import UsageError
from schemas.settings import Settings

from .conftest import SAMPLES

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    """The samples plus two inputs that are not PDFs at all."""
    folder = tmp_path_factory.mktemp("inbox")
    for pdf in SAMPLES.glob("*.pdf"):
        shutil.copy(pdf, folder / pdf.name)
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "photo.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    return folder


@pytest.fixture(scope="module")
def first_run(inbox, tmp_path_factory):
    out = tmp_path_factory.mktemp("store")
    _, result = run_ingest(paths=[str(inbox)], out=str(out), settings=Settings())
    return result, out


def test_flow_writes_all_tables_and_reports_failures(first_run):
    result, out = first_run
    assert (result["processed"], result["failed"], result["skipped"]) == (4, 2, 0)
    for name in ("documents", "blocks", "entities", "changes", "failures"):
        assert (out / name).is_dir() and list((out / name).glob("part-*.parquet"))
    docs = pd.read_parquet(out / "documents")
    assert sorted(docs.source) == [
        "1902-factsheet-nato-eu-en.pdf", "1902-factsheet-operation-sea-guardian-en.pdf", "2006-factsheet-nato-eu-en.pdf", "2111-factsheet-nato-eu-en.pdf",
    ]
    fails = pd.read_parquet(out / "failures").set_index("source")
    assert fails.loc["empty.pdf", "stage"] == "read"
    assert "is empty" in fails.loc["empty.pdf", "message"]
    assert fails.loc["photo.pdf", "error"] == "UnreadablePDFError"
    assert "PNG image" in fails.loc["photo.pdf", "message"]


def test_flow_output_has_the_concrete_content(first_run):
    _, out = first_run
    blocks = pd.read_parquet(out / "blocks")
    captions = blocks[blocks.kind == "caption"]
    assert captions.text.str.startswith("Navy officers from NATO Operation Sea Guardian").sum() == 4
    ents = pd.read_parquet(out / "entities")
    eda = ents[(ents.text == "EDA")]
    assert set(eda.canonical) == {"European Defence Agency"} and set(eda.label) == {"ORG"}
    assert len(set(eda.entity_id)) == 1
    eur = ents[ents.unit == "EUR"]  # one in each NATO-EU edition
    assert list(eur.value) == [2000000.0, 2000000.0, 2500000.0] and list(eur.text) == ["2 million EUR"] * 2 + ["2.5 million EUR"]
    assert "Jean-Claude Juncker" in set(ents[ents.label == "PERSON"].canonical)
    changes = pd.read_parquet(out / "changes")
    measures = changes[(changes.label == "AMOUNT") & changes.before.fillna("").str.startswith("70 measures")]
    assert list(zip(measures.value_before, measures.value_after)) == [(70.0, 74.0)] and measures.fact_id.notna().all()


def test_second_run_is_a_no_op_and_rewrites_nothing(first_run):
    _, out = first_run
    before = _snapshot(out)
    _, result = run_ingest(paths=[str(SAMPLES)], out=str(out), settings=Settings())
    assert (result["processed"], result["failed"], result["skipped"]) == (0, 0, 4)
    assert _snapshot(out) == before


def _snapshot(folder):
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def test_a_broken_file_is_reported_once_and_tried_again_when_it_changes(inbox, first_run):
    _, out = first_run
    _, again = run_ingest(paths=[str(inbox)], out=str(out), settings=Settings())
    assert (again["processed"], again["failed"], again["skipped"]) == (0, 0, 6)
    fails = pd.read_parquet(out / "failures")
    assert sorted(fails.source) == ["empty.pdf", "photo.pdf"]  # still reported
    _, retry = run_ingest(paths=[str(inbox)], out=str(out), settings=Settings(), force=True)
    assert retry["failed"] == 2


def test_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such file or folder"):
        run_ingest(paths=[str(tmp_path / "nope")], out=str(tmp_path / "out"))


def test_plan_batches_largest_first_and_shrinking(tmp_path):
    from flows.ingest import MAX_BATCH, plan_batches

    paths = []
    for i in range(5 * MAX_BATCH):
        p = tmp_path / f"{i:02d}.pdf"
        p.write_bytes(b"%PDF" + b"x" * i)
        paths.append(str(p))
    two = plan_batches(paths, 2)
    flat = [p for b in two for p in b]
    assert sorted(flat) == sorted(paths) and len(flat) == len(paths)
    assert flat == sorted(paths, reverse=True)  # largest (here: latest) file first
    sizes = [len(b) for b in two]
    assert sizes == sorted(sizes, reverse=True) and max(sizes) == MAX_BATCH and sizes[-2:] == [1, 1]
    assert [len(b) for b in plan_batches(paths, 1)] == [MAX_BATCH] * 5
    assert plan_batches([], 2) == []
