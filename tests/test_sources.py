"""Where the PDFs come from (``flows.sources``) and the inputs that cannot be used: files whose
name or bytes cannot be read, and URLs that are slow, lead to other hosts or to private
addresses. Real files, real processes, HTTP servers on 127.0.0.1."""

from __future__ import annotations

import http.server
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

from flows.ingest import run_ingest
from flows.sources import address_kind, fetch_sources
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
    _, result = run_ingest(paths=[str(inbox)], out=str(out), settings=Settings(model="none", isolate=False))
    assert (result["processed"], result["failed"]) == (1, 1)
    assert pd.read_parquet(out / "documents").source.tolist() == [SEA_GUARDIAN.name]
    from outputs.store import Store, export_csv

    export_csv(Store(out))
    fails = pd.read_csv(out / "csv" / "failures.csv")
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
    assert pd.read_parquet(out / "documents").source.tolist() == [SEA_GUARDIAN.name]
    fails = pd.read_parquet(out / "failures")
    assert fails.source.tolist() == ["locked.pdf"] and fails.stage.tolist() == ["read"]


# -------------------------------------------------------------------------------------- URLs


class Trickle:
    """A server on 127.0.0.1 that answers every request one byte at a time, for ever: the body
    of a PDF after whole headers (``body``), or the headers themselves (``headers``). It
    counts the connections it accepted."""

    def __init__(self, part: str) -> None:
        self.part = part
        self.accepted = 0
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/slow.pdf"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            if self.part == "body":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: 1000000\r\n\r\n%PDF-1.4\n")
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not self._stop.wait(0.05):
                try:
                    conn.sendall(b"0" if self.part == "body" else b"a")
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        self._sock.close()


@pytest.fixture()
def trickle(request):
    server = Trickle(getattr(request, "param", "body"))
    yield server
    server.close()


class _Site(http.server.BaseHTTPRequestHandler):
    """``server.routes``: path -> (status, headers, body); every path asked for is kept in
    ``server.asked``."""

    def do_GET(self) -> None:
        self.server.asked.append(self.path)
        status, headers, body = self.server.routes.get(self.path, (404, {}, b"not here"))
        self.send_response(status)
        for k, v in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def site():
    """A site on 127.0.0.1 with a PDF at /a.pdf; tests add routes. ``site.base`` is its URL,
    ``site.other`` the same server under another host name (localhost)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    server.asked, port = [], server.server_address[1]
    server.base, server.other = f"http://127.0.0.1:{port}", f"http://localhost:{port}"
    server.routes = {"/a.pdf": (200, {"Content-Type": "application/pdf"}, SEA_GUARDIAN.read_bytes())}
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()  # shutdown() waits for one poll
    yield server
    server.shutdown()
    server.server_close()


def _redirect(to: str) -> tuple[int, dict[str, str], bytes]:
    return 302, {"Location": to}, b""


def _fetch(tmp_path, urls=(), index_urls=(), **settings):
    files, failures = fetch_sources(list(urls), list(index_urls), tmp_path / "downloads", Settings(**settings))
    return files, {f.source: f for f in failures}


@pytest.mark.parametrize("trickle", ["body", "headers"], indirect=True)
def test_a_server_that_sends_a_byte_at_a_time_is_cut_off_at_the_deadline(tmp_path, trickle, site):
    start = time.monotonic()
    files, failures = _fetch(tmp_path, [trickle.url, f"{site.base}/a.pdf"], fetch_timeout_s=1, allow_private_hosts=True)
    assert time.monotonic() - start < 5
    assert [f.name.split("-", 1)[1] for f in files] == ["a.pdf"]  # the batch goes on
    failure = failures[trickle.url]
    assert failure.stage == "discover" and failure.error == "FetchError"
    assert f"{trickle.url} did not finish within 1 s" in failure.message and "FACTSHEETS_FETCH_TIMEOUT_S" in failure.message


def test_a_loopback_url_is_refused_without_the_setting(tmp_path, trickle):
    files, failures = _fetch(tmp_path, [trickle.url])
    assert files == [] and trickle.accepted == 0  # refused before connecting
    message = failures[trickle.url].message
    assert "127.0.0.1 is a loopback address" in message and "FACTSHEETS_ALLOW_PRIVATE_HOSTS" in message


def test_links_and_redirects_to_another_host_are_refused(tmp_path, site):
    site.routes["/index.html"] = (200, {"Content-Type": "text/html"},
                                  f'<a href="/a.pdf">a</a> <a href="{site.other}/b.pdf">b</a> <a href="/away.pdf">c</a>'.encode())
    site.routes["/away.pdf"] = _redirect(f"{site.other}/a.pdf")
    files, failures = _fetch(tmp_path, index_urls=[f"{site.base}/index.html"], allow_private_hosts=True)
    assert len(files) == 1 and sorted(failures) == [f"{site.base}/away.pdf", f"{site.other}/b.pdf"]
    assert "is on localhost, not a host given (127.0.0.1)" in failures[f"{site.other}/b.pdf"].message
    assert f"redirects to {site.other}/a.pdf, on localhost, not a host given" in failures[f"{site.base}/away.pdf"].message
    assert all("FACTSHEETS_ALLOWED_HOSTS" in f.message for f in failures.values())
    assert "/b.pdf" not in site.asked  # the other host was never asked
    # allowed: both followed
    files, failures = _fetch(tmp_path, index_urls=[f"{site.base}/index.html"], allow_private_hosts=True, allowed_hosts=["localhost"])
    assert list(failures) == [f"{site.other}/b.pdf"] and "HTTP 404" in failures[f"{site.other}/b.pdf"].message


def test_every_redirect_hop_is_checked_against_private_addresses(tmp_path, site):
    site.routes["/away.pdf"] = _redirect(f"{site.other}/a.pdf")
    url = f"{site.base}/away.pdf"
    files, failures = _fetch(tmp_path, [url], allow_private_hosts=["127.0.0.1"], allowed_hosts=["localhost"])
    assert files == [] and site.asked == ["/away.pdf"]
    assert "localhost resolves to 127.0.0.1, a loopback address" in failures[url].message


def test_redirects_are_followed_at_most_five_times(tmp_path, site):
    for i in range(7):
        site.routes[f"/r{i}.pdf"] = _redirect(f"/r{i + 1}.pdf")
    site.routes["/r7.pdf"] = site.routes["/a.pdf"]
    site.routes["/r2-file.pdf"] = _redirect("file:///etc/passwd")
    files, failures = _fetch(tmp_path, [f"{site.base}/r2.pdf", f"{site.base}/r0.pdf", f"{site.base}/r2-file.pdf"], allow_private_hosts=True)
    assert len(files) == 1  # r2 → r7: five redirects
    assert "redirects more than 5 times" in failures[f"{site.base}/r0.pdf"].message
    assert "not an http(s) URL" in failures[f"{site.base}/r2-file.pdf"].message


def test_host_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("FACTSHEETS_ALLOWED_HOSTS", "files.example.org, CDN.example.org")
    monkeypatch.setenv("FACTSHEETS_ALLOW_PRIVATE_HOSTS", "true")
    settings = Settings()
    assert settings.allowed_hosts == ["files.example.org", "cdn.example.org"] and settings.allow_private_hosts is True
    monkeypatch.setenv("FACTSHEETS_ALLOW_PRIVATE_HOSTS", "127.0.0.1,Intranet")
    assert Settings().allow_private_hosts == ["127.0.0.1", "intranet"]
    monkeypatch.delenv("FACTSHEETS_ALLOW_PRIVATE_HOSTS")
    monkeypatch.delenv("FACTSHEETS_ALLOWED_HOSTS")
    assert (Settings().allowed_hosts, Settings().allow_private_hosts) == ([], False)


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"), ("10.1.2.3", "private"),
    ("192.168.0.1", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("0.0.0.0", "unspecified"),
    ("240.0.0.1", "reserved"), ("100.64.0.1", "non-public"), ("224.0.0.1", "multicast"), ("8.8.8.8", None),
    ("2a00:1450:4001:800::200e", None),
])
def test_address_kinds(address, kind):
    assert address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.usefixtures("prefect_harness")
def test_ingest_goes_on_past_slow_and_refused_urls(tmp_path, trickle, site):
    site.routes["/away.pdf"] = _redirect(f"{site.other}/a.pdf")
    out = tmp_path / "out"
    settings = Settings(model="none", isolate=False, fetch_timeout_s=1, allow_private_hosts=True)
    start = time.monotonic()
    _, result = run_ingest(paths=[], out=str(out), settings=settings, urls=[trickle.url, f"{site.base}/away.pdf", f"{site.base}/a.pdf"])
    assert time.monotonic() - start < 60
    assert pd.read_parquet(out / "documents").title.tolist() == ["Operation Sea Guardian"]
    fails = pd.read_parquet(out / "failures").set_index("source")
    assert sorted(fails.index) == sorted([trickle.url, f"{site.base}/away.pdf"]) and set(fails.stage) == {"discover"}
    assert "did not finish within 1 s" in fails.message[trickle.url]
    assert "FACTSHEETS_ALLOWED_HOSTS" in fails.message[f"{site.base}/away.pdf"]
    assert result["failed"] == 2


def test_a_malformed_url_or_link_is_a_failure_row_not_a_crash(tmp_path, site):
    site.routes["/index.html"] = (200, {"Content-Type": "text/html"}, b'<a href="http://[::1/x.pdf">bad</a> <a href="/a.pdf">a</a>')
    files, failures = _fetch(tmp_path, ["http://[zz]/b.pdf"], [f"{site.base}/index.html"], allow_private_hosts=True)
    assert len(files) == 1  # the good link of the index page
    assert list(failures) == ["http://[zz]/b.pdf"] and "not an http(s) URL" in failures["http://[zz]/b.pdf"].message
