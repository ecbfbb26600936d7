"""A batch into the store (``outputs.merge``): series assigned across documents, overrides,
inputs that cannot be planned."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from extractors import process_pdf
from outputs import Store
from outputs.merge import assign_series, read_series_map
from schemas.errors import UsageError
from schemas.settings import Settings
from schemas.tables import frame

from .conftest import NATO_EU_2019, ROOT, SEA_GUARDIAN


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


# ------------------------------------------------- inputs that cannot be planned (Batch.plan)

#: Runs a script that ingests a folder with the library (plan, process, commit) and prints
#: what plan returned; argv: folder, out.
PLAN_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from extractors import process_pdf
    from outputs import Store
    from schemas.settings import Settings
    settings = Settings(model="none", isolate=False)
    with Store(sys.argv[2]).batch(settings) as batch:
        todo = batch.plan(sorted(Path(sys.argv[1]).iterdir()))
        print(*[p.name for p in todo], sep="\\n")
        for path in todo:
            batch.add(process_pdf(path, settings))
        batch.commit()
    """
)


def without_file_privileges() -> list[str]:
    """A command prefix under which file permissions hold: none for a normal user; for root
    (who reads any file) `setpriv` without the capabilities that override them. Skips the
    test when running as root without setpriv."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root, where chmod 000 does not stop a read, and setpriv (util-linux) is missing")
    drop = "-dac_override,-dac_read_search"
    return [setpriv, f"--bounding-set={drop}", f"--inh-caps={drop}"]


def unreadable_copy(pdf: Path, path: Path) -> Path:
    shutil.copy(pdf, path)
    path.chmod(0)
    return path


def test_plan_records_a_file_name_that_is_not_utf8_as_a_failure(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SEA_GUARDIAN, inbox / SEA_GUARDIAN.name)
    shutil.copy(NATO_EU_2019, os.fsencode(inbox) + b"/bad-\xff.pdf")
    store = Store(tmp_path / "out")
    settings = Settings(model="none", isolate=False)
    with store.batch(settings) as batch:
        todo = batch.plan(sorted(inbox.iterdir()))
        assert [p.name for p in todo] == [SEA_GUARDIAN.name]
        for path in todo:
            batch.add(process_pdf(path, settings))
        summary = batch.commit()
    assert summary.processed == [SEA_GUARDIAN.name] and summary.failed == 1
    fails = store.read("failures")
    assert fails.source.tolist() == ["bad-\\xff.pdf"]
    assert fails.stage.tolist() == ["read"]
    assert "not valid UTF-8" in fails.message[0] and "rename" in fails.message[0]
    from outputs.store import export_csv

    export_csv(store)
    assert pd.read_csv(tmp_path / "out" / "csv" / "failures.csv").source.tolist() == ["bad-\\xff.pdf"]
    assert store.read("documents").source.tolist() == [SEA_GUARDIAN.name]


def test_plan_records_an_unreadable_file_as_a_failure(tmp_path):
    prefix = without_file_privileges()
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    shutil.copy(SEA_GUARDIAN, inbox / SEA_GUARDIAN.name)
    unreadable_copy(NATO_EU_2019, inbox / "locked.pdf")
    script = PLAN_SCRIPT.format(root=str(ROOT))
    run = subprocess.run([*prefix, sys.executable, "-c", script, str(inbox), str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split() == [SEA_GUARDIAN.name]  # planned: the readable file only
    store = Store(out)
    fails = store.read("failures")
    assert fails.source.tolist() == ["locked.pdf"] and fails.stage.tolist() == ["read"]
    assert fails.error.tolist() == ["UnreadablePDFError"]
    assert "cannot be read" in fails.message[0] and "permissions" in fails.message[0]
    assert store.read("documents").source.tolist() == [SEA_GUARDIAN.name]


def _ingest(store: Store, folder: Path) -> None:
    settings = Settings(model="none", isolate=False)
    with store.batch(settings) as batch:
        for path in batch.plan(sorted(folder.iterdir())):
            batch.add(process_pdf(path, settings))
        batch.commit()


def test_a_failure_stays_until_its_own_file_succeeds_not_when_another_of_its_name_comes(tmp_path):
    """D5: a failure belongs to its file (its bytes; where it was), not to its name."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "report.pdf").write_bytes(NATO_EU_2019.read_bytes()[:3000])  # cut short: a broken PDF
    shutil.copy(SEA_GUARDIAN, b / "report.pdf")  # another file of the same name, that works
    store = Store(tmp_path / "out")
    _ingest(store, a)
    broken = store.read("failures")
    assert broken.source.tolist() == ["report.pdf"] and broken.stage.tolist() == ["read"]
    _ingest(store, b)
    assert store.read("failures").equals(broken)  # still there: that file has not succeeded
    assert store.read("documents").source.tolist() == ["report.pdf"]
    _ingest(store, a)  # the same broken bytes: reported once, no second row
    assert store.read("failures").equals(broken)
    shutil.copy(NATO_EU_2019, a / "report.pdf")  # the broken file replaced by a good one at its path
    _ingest(store, a)
    assert store.read("failures").empty
    assert len(store.read("documents")) == 2
