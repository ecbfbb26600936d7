"""Where the PDFs come from (``flows.sources``) and the inputs that cannot be used: files whose
name or bytes cannot be read, and URLs that are slow, lead to other hosts or to private
addresses. Real files, real processes, HTTP servers on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from flows.ingest import ingest
from schemas.settings import Settings

from .conftest import NATO_EU_2019, ROOT, SEA_GUARDIAN
from .test_merge import unreadable_copy, without_file_privileges


def _env() -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}


# ------------------------------------------------------------------------------------- files


@pytest.mark.usefixtures("prefect_harness")
def test_ingest_goes_on_past_a_file_name_that_is_not_utf8(tmp_path):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    shutil.copy(SEA_GUARDIAN, inbox / SEA_GUARDIAN.name)
    shutil.copy(NATO_EU_2019, os.fsencode(inbox) + b"/bad-\xff.pdf")
    result = ingest(paths=[str(inbox)], out=str(out), settings=Settings(model="none", isolate=False))
    assert (result["processed"], result["failed"]) == (1, 1)
    assert pd.read_parquet(out / "documents.parquet").source.tolist() == [SEA_GUARDIAN.name]
    fails = pd.read_csv(out / "failures.csv")
    assert fails.source.tolist() == ["bad-\\xff.pdf"] and fails.stage.tolist() == ["read"]
    assert "not valid UTF-8" in fails.message[0]


@pytest.mark.usefixtures("prefect_harness")
def test_cli_ingest_goes_on_past_an_unreadable_file(tmp_path):
    prefix = without_file_privileges()
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    shutil.copy(SEA_GUARDIAN, inbox / SEA_GUARDIAN.name)
    unreadable_copy(NATO_EU_2019, inbox / "locked.pdf")
    cli = [*prefix, sys.executable, "-m", "flows.cli", "ingest", str(inbox), "--out", str(out), "--model", "none"]
    run = subprocess.run(cli, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr[-3000:]
    assert "locked.pdf: locked.pdf cannot be read (Permission denied); check its permissions" in run.stderr
    assert pd.read_parquet(out / "documents.parquet").source.tolist() == [SEA_GUARDIAN.name]
    fails = pd.read_parquet(out / "failures.parquet")
    assert fails.source.tolist() == ["locked.pdf"] and fails.stage.tolist() == ["read"]
