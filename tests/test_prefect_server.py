"""Against a real Prefect server (``prefect server start`` on 127.0.0.1, started and stopped by
these tests): a run with a failed input ends Failed with a message that names it, runs and task
runs are named for what they do, the run publishes its artifact, and the alert set up with
``factsheets alert`` posts to a webhook when a run fails."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from .conftest import NATO_EU_2019, NATO_EU_2020, ROOT

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-server")
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            pytest.fail(f"prefect server stopped: {proc.stdout.read().decode()[-2000:]}")  # type: ignore[union-attr]
        time.sleep(0.2)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("prefect server did not answer within 150 s")
    client_home = tmp_path_factory.mktemp("prefect-client")
    yield api, {**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(client_home), "DO_NOT_TRACK": "1",
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def webhook():
    """A webhook on 127.0.0.1 that keeps what it is sent."""
    received: list[dict] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            received.append(json.loads(body or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()  # shutdown() waits for one poll
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", received
    httpd.shutdown()


def _cli(env, *args, timeout=600):
    return subprocess.run([str(BIN / "factsheets"), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _post(api, path, body):
    r = httpx.post(f"{api}{path}", json=body, timeout=30)
    r.raise_for_status()
    return r.json()


@pytest.fixture(scope="module")
def failed_run(server, webhook, tmp_path_factory):
    api, env = server
    url, _ = webhook
    alert = _cli(env, "alert", "--webhook-url", url)
    assert alert.returncode == 0, alert.stderr
    inbox = tmp_path_factory.mktemp("prefect-inbox") / "inbox"
    inbox.mkdir()
    for pdf in (NATO_EU_2019, NATO_EU_2020):
        shutil.copy(pdf, inbox / pdf.name)
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<")
    out = inbox.parent / "out"
    done, children = _watched(env, "ingest", str(inbox), "--out", str(out))
    runs = _post(api, "/flow_runs/filter", {"sort": "START_TIME_DESC", "limit": 5})
    return done, runs[0], out, children


def _watched(env, *args):
    """``_cli``, also returning the processes the command started (seen while it ran) that are
    still running the moment it has exited."""
    import psutil

    proc = subprocess.Popen([str(BIN / "factsheets"), *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    output: dict[str, str] = {}
    reader = threading.Thread(target=lambda: output.update(zip(("stdout", "stderr"), proc.communicate(timeout=600), strict=True)))
    reader.start()
    seen: dict[int, psutil.Process] = {}
    parent = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            seen.update((c.pid, c) for c in parent.children(recursive=True))
        except psutil.Error:  # gone, or a zombie until waited for
            break
        time.sleep(0.1)
    proc.wait()
    def running(c: psutil.Process) -> str | None:
        try:
            return " ".join(c.cmdline())[:100] if c.is_running() and c.status() != psutil.STATUS_ZOMBIE else None
        except psutil.Error:
            return None

    left = [(c.pid, cmd) for c in seen.values() if (cmd := running(c))]
    # Python's resource tracker ends by itself once the last process using it has gone: a moment
    tracker = [c for c in seen.values() if any(pid == c.pid and "resource_tracker" in cmd for pid, cmd in left)]
    psutil.wait_procs(tracker, timeout=2)
    left = [(pid, cmd) for pid, cmd in left if "resource_tracker" not in cmd or running(seen[pid])]
    reader.join()
    done = subprocess.CompletedProcess(proc.args, proc.returncode, output.get("stdout", ""), output.get("stderr", ""))
    return done, left


def test_a_run_with_a_failed_input_ends_failed_and_says_which(failed_run):
    done, run, out, _ = failed_run
    assert done.returncode == 1, done.stderr[-2000:]
    assert "broken.pdf" in done.stderr
    assert run["state"]["type"] == "FAILED"
    assert run["state"]["message"].startswith("1 of 3 input(s) failed: broken.pdf; the others were written.")
    assert f"failures table in {out}" in run["state"]["message"]
    assert (out / "documents").exists()
    assert re.fullmatch(r"ingest-inbox-\d{4}-\d\d-\d\dT\d\d:\d\d", run["name"]), run["name"]


def test_the_command_leaves_no_process_behind(failed_run):
    """The workers and the fork server that starts them are gone when the command has exited:
    nothing holds its output open or runs on after it."""
    done, _, _, children = failed_run
    assert done.returncode == 1 and children == [], children


def test_task_runs_are_named_for_their_stage_and_document(server, failed_run):
    api, _ = server
    _, run, _, _ = failed_run
    tasks = _post(api, "/task_runs/filter", {"flow_runs": {"id": {"any_": [run["id"]]}}, "limit": 200})
    names = {t["name"] for t in tasks}
    for pdf in ("1902-factsheet-nato-eu-en.pdf", "2006-factsheet-nato-eu-en.pdf", "broken.pdf"):
        assert f"extract[{pdf}]" in names and f"tag[{pdf}]" in names, names
    assert {"find-pdfs", "merge-tables", "compare[nato-eu]", "write-tables", "write-report"} <= names, names


def test_the_run_publishes_what_it_did(server, failed_run):
    api, _ = server
    _, run, _, _ = failed_run
    (artifact,) = _post(api, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run["id"]]}}})
    assert artifact["key"] == "ingest-summary"
    text = artifact["data"]
    assert "## New documents" in text and "2006-factsheet-nato-eu-en.pdf" in text
    assert "| broken.pdf | read |" in text
    assert "## Facts that changed" in text and "**nine aircraft** (9 aircraft)" in text


def test_the_alert_posts_to_the_webhook_when_a_run_fails(failed_run, webhook):
    _, run, _, _ = failed_run
    _, received = webhook
    deadline = time.monotonic() + 90
    while not received and time.monotonic() < deadline:
        time.sleep(0.1)
    assert received, "no alert reached the webhook within 90 s"
    text = received[0]["text"]
    assert "an ingest run failed" in text and run["name"] in text and "broken.pdf" in text


def test_a_run_where_all_succeed_completes(server, failed_run):
    api, env = server
    _, _, out, _ = failed_run
    again = _cli(env, "ingest", str(NATO_EU_2019), "--out", str(out))
    assert again.returncode == 0, again.stderr[-2000:]
    run = _post(api, "/flow_runs/filter", {"sort": "START_TIME_DESC", "limit": 1})[0]
    assert run["state"]["type"] == "COMPLETED" and "already in" in run["state"]["message"]
