"""The command as a user runs it, against a real Prefect server: ``make bench`` (``python -m
tests.bench_cli``).

Starts ``prefect server start`` on 127.0.0.1 (a temporary home), then, in rounds (``--repeat``,
default 3; each measurement keeps its fastest round), times whole processes:

- start-up: ``factsheets ingest ONE.pdf`` against the server, against the sum of Prefect's own
  one-task hello-world flow against the same server and a naive one-document script that loads
  pdfplumber and spaCy and tags the PDF. Target: ingest ≤ 1.25 × (hello + naive).
- read-only commands (``report``, ``summary``, ``history``, ``--help``): wall time each, target
  ≤ 3 s, and that none imports Prefect or spaCy.
- 100 documents: ``factsheets ingest`` of 100 edited copies of the samples against the naive
  script over the same PDFs (``extract_text`` and the full spaCy model on each). Target:
  naive / pipeline ≥ 1.5.

Figures are written to the last section of ``BENCHMARKS.md`` (after ``tests.bench``'s). Ratios, not absolute times, are the result: the
machines are shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.bench import MODEL, ROOT, WORK, build_corpus

BIN = Path(sys.executable).parent
ONE = ROOT / "samples" / "1902-factsheet-nato-eu-en.pdf"
TARGET_STARTUP = 1.25
TARGET_READONLY_S = 3.0
TARGET_HUNDRED = 1.5
MARKER = "## The command against a Prefect server (`python -m tests.bench_cli`)"

HELLO = """
from prefect import flow, task
@task
def hello():
    return "hello"
@flow
def hello_flow():
    return hello()
hello_flow()
"""
NAIVE = f"""
import sys, pdfplumber, spacy
nlp = spacy.load({MODEL!r})
for path in sys.argv[1:]:
    with pdfplumber.open(path) as pdf:
        text = "\\n".join(p.extract_text() or "" for p in pdf.pages)
    print(path, len(nlp(text).ents))
"""
IMPORTS = """
import sys
from flows.cli import app
try:
    app(sys.argv[1:])
except SystemExit:
    pass
print("imports:", "prefect" in sys.modules, "spacy" in sys.modules, file=sys.stderr)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(home: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(home / "server"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    for _ in range(150):
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(1)
    else:
        raise SystemExit("the Prefect server did not start within 150 s")
    client = {**env, "PREFECT_API_URL": api, "PREFECT_HOME": str(home / "client")}
    return proc, client


def timed(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode not in (0,):
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--docs", type=int, default=100)
    args = ap.parse_args(argv)
    corpus = build_corpus(args.docs)
    pdfs = sorted(str(p) for p in corpus.glob("*.pdf"))
    home = Path(tempfile.mkdtemp(prefix="bench-cli-", dir=WORK))
    server, env = start_server(home)
    rounds: dict[str, list[float]] = {}
    readonly_imports: dict[str, str] = {}
    try:
        py, cli = str(BIN / "python"), str(BIN / "factsheets")
        timed([cli, "ingest", str(ONE), "--out", str(home / "warm")], env)  # the server's first flow run, the OS caches
        for r in range(args.repeat):
            print(f"round {r + 1} of {args.repeat}", flush=True)
            rounds.setdefault("hello", []).append(timed([py, "-c", HELLO], env))
            rounds.setdefault("naive-one", []).append(timed([py, "-c", NAIVE, str(ONE)], env))
            shutil.rmtree(home / "one", ignore_errors=True)
            rounds.setdefault("ingest-one", []).append(timed([cli, "ingest", str(ONE), "--out", str(home / "one")], env))
            for command in (["report"], ["summary"], ["history", "--fact", "aircraft"], ["--help"]):
                out = [] if command == ["--help"] else ["--out", str(home / "one")]
                rounds.setdefault(" ".join(command), []).append(timed([cli, *command, *out], env))
            rounds.setdefault("naive-100", []).append(timed([py, "-c", NAIVE, *pdfs], env))
            shutil.rmtree(home / "hundred", ignore_errors=True)
            rounds.setdefault("ingest-100", []).append(timed([cli, "ingest", str(corpus), "--out", str(home / "hundred")], env))
        for command in (["report"], ["summary"], ["history", "--fact", "aircraft"], ["--help"]):
            out = [] if command == ["--help"] else ["--out", str(home / "one")]
            done = subprocess.run([py, "-c", IMPORTS, *command, *out], env=env, cwd=ROOT, capture_output=True, text=True)
            readonly_imports[" ".join(command)] = done.stderr.strip().splitlines()[-1]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    best = {k: min(v) for k, v in rounds.items()}
    startup = best["ingest-one"] / (best["hello"] + best["naive-one"])
    hundred = best["naive-100"] / best["ingest-100"]
    lines = [
        MARKER,
        "",
        f"{args.repeat} rounds, each figure the fastest; a real `prefect server start` on 127.0.0.1.",
        "",
        "| measurement | seconds (best) | every round (s) |",
        "|---|---:|---|",
        *[f"| {k} | {best[k]:.2f} | {', '.join(f'{x:.2f}' for x in v)} |" for k, v in rounds.items()],
        "",
        "| ratio | value | target |",
        "|---|---:|---|",
        f"| ingest ONE.pdf / (hello-world flow + naive one-document script) | {startup:.2f} | ≤ {TARGET_STARTUP} {'met' if startup <= TARGET_STARTUP else 'NOT met'} |",
        f"| naive script / ingest, {args.docs} documents | {hundred:.2f} | ≥ {TARGET_HUNDRED} {'met' if hundred >= TARGET_HUNDRED else 'NOT met'} |",
        *[f"| `factsheets {k}` wall time | {best[k]:.2f} s | ≤ {TARGET_READONLY_S} s {'met' if best[k] <= TARGET_READONLY_S else 'NOT met'} |"
          for k in ("report", "summary", "history --fact aircraft", "--help")],
        "",
        "Imports of the read-only commands (Prefect, spaCy imported?): "
        + "; ".join(f"`{k}`: {v.removeprefix('imports: ')}" for k, v in readonly_imports.items()),
        "",
    ]
    text = "\n".join(lines)
    path = ROOT / "BENCHMARKS.md"
    before = path.read_text(encoding="utf-8").split(MARKER)[0].rstrip() + "\n\n" if path.exists() else ""
    path.write_text(before + text, encoding="utf-8")
    print(text)
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
