"""Bad input: every kind of broken file is one failure with a message a person can act on,
and the rest of the batch goes on. Files are built with pikepdf/reportlab at test time."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pdfplumber
import psutil
import pytest

from extractors import pdf as pdf_module
from extractors.pdf import ocr_available, ocr_pages
from extractors.pipeline import process_pdf
from flows.workers import WorkerPool
from schemas.settings import Settings

from . import badpdfs
from .conftest import NATO_EU_2019, ROOT

CASES = [
    # builder, stage, error, words the message must contain
    (badpdfs.empty, "read", "UnreadablePDFError", "is empty"),
    (badpdfs.png_renamed, "read", "UnreadablePDFError", "not a PDF (it starts like a PNG image)"),
    (badpdfs.html_renamed, "read", "UnreadablePDFError", "not a PDF (it starts like an HTML page)"),
    (badpdfs.text_renamed, "read", "UnreadablePDFError", "not a PDF (it starts like a text file)"),
    (badpdfs.truncated, "read", "UnreadablePDFError", "truncated"),
    (badpdfs.encrypted_user_password, "read", "UnreadablePDFError", "encrypted with a password"),
    (badpdfs.zero_pages, "read", "UnreadablePDFError", "zero_pages.pdf has no pages"),
]


@pytest.mark.parametrize(("build", "stage", "error", "words"), CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_bad_file_is_one_clear_failure(tmp_path, build, stage, error, words):
    path = build(tmp_path / f"{build.__name__}.pdf")
    result = process_pdf(path, Settings(isolate=False))
    assert not result.ok
    assert (result.failure.stage, result.failure.error) == (stage, error)
    assert words in result.failure.message
    assert result.failure.source == path.name


#: tesseract's TSV header: what a real tesseract prints for a page without words.
TSV_HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"


@pytest.fixture
def fake_tesseract(tmp_path, monkeypatch):
    """Install a ``tesseract`` shell script (its body given) first on PATH; returns its folder."""

    def install(body: str):
        folder = tmp_path / "fake-bin"
        folder.mkdir(exist_ok=True)
        script = folder / "tesseract"
        script.write_text("#!/bin/sh\n" + body + "\n")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
        assert ocr_available()
        return folder

    return install


def test_zero_pages_with_ocr_available_says_no_pages(tmp_path, fake_tesseract):
    """With OCR available, an empty page tree was sent to OCR, which failed with "PDFium: Success"."""
    fake_tesseract(f"printf '{TSV_HEADER}\\n'")
    path = badpdfs.zero_pages(tmp_path / "empty-tree.pdf")
    result = process_pdf(path, Settings(isolate=False))
    assert (result.failure.stage, result.failure.error) == ("read", "UnreadablePDFError")
    assert "empty-tree.pdf has no pages" in result.failure.message
    assert "PDFium" not in result.failure.message


@pytest.mark.parametrize("build", [badpdfs.encrypted_owner_only, badpdfs.broken_xref], ids=lambda f: f.__name__)
def test_readable_damage_is_read_normally(tmp_path, build):
    """An owner password only restricts editing, and pdfminer rebuilds a broken cross-reference
    table from the objects: both read like the original."""
    path = build(tmp_path / "x.pdf")
    original = process_pdf(NATO_EU_2019, Settings(isolate=False))
    result = process_pdf(path, Settings(isolate=False))
    assert result.ok, result.failure
    assert result.blocks["text"].tolist() == original.blocks["text"].tolist()


def test_page_limit(tmp_path):
    path = badpdfs.many_pages(tmp_path / "huge.pdf", 2000)
    result = process_pdf(path, Settings(isolate=False, max_pages=300))
    assert (result.failure.stage, result.failure.error) == ("limit", "TooLargeError")
    assert "2000 pages, more than the limit of 300" in result.failure.message


@pytest.mark.skipif(ocr_available(), reason="tesseract is installed here, so the scan is OCRed (see test_ocr_reads_a_scan)")
def test_scan_without_ocr_says_how_to_fix(tmp_path):
    result = process_pdf(badpdfs.image_only(tmp_path / "scan.pdf"), Settings(isolate=False))
    assert (result.failure.stage, result.failure.error) == ("layout", "NoTextLayerError")
    assert "install tesseract" in result.failure.message


@pytest.mark.skipif(not ocr_available(), reason="tesseract is not installed (apt-get install tesseract-ocr); OCR is optional")
def test_ocr_reads_a_scan(tmp_path):
    result = process_pdf(badpdfs.image_only(tmp_path / "scan.pdf"), Settings(isolate=False))
    assert result.ok, result.failure
    text = " ".join(result.blocks["text"].tolist())
    assert "essential partners" in text


def test_limits_stop_runaway_documents_and_the_batch_goes_on(tmp_path):
    """A decompression bomb hits the memory limit, a document over the time limit is stopped;
    the worker is replaced and the next document is processed."""
    bomb = badpdfs.decompression_bomb(tmp_path / "bomb.pdf", inflated_mb=1536)
    good = tmp_path / NATO_EU_2019.name
    shutil.copy(NATO_EU_2019, good)
    with WorkerPool(Settings(workers=1, memory_limit_mb=1024, timeout_s=60), size=1) as pool:
        r_bomb = pool.run(bomb)
        r_good = pool.run(good)
    assert r_bomb.failure.stage == "limit", r_bomb.failure
    assert "memory" in r_bomb.failure.message
    assert r_good.ok and len(r_good.blocks) == 44
    with WorkerPool(Settings(workers=1, timeout_s=0.05), size=1) as pool:
        slow = pool.run(good)
    assert (slow.failure.stage, slow.failure.error) == ("timeout", "TimeoutError")
    assert "took more than 0.05 s and was stopped" in slow.failure.message


# ---------------------------------------------------------------- OCR cleans up on every exit


def _slow_tesseract(fake_tesseract, tmp_path) -> tuple[Path, set[int]]:
    """A 'tesseract' that starts a child of its own and hangs; both write their pids to a file.
    Returns that file and the pids of this process's children before any OCR (a worker pool's
    fork server, say), which are not the OCR's."""
    pids = tmp_path / "fake-pids"
    fake_tesseract(f'echo $$ >> "{pids}"\nsleep 300 &\necho $! >> "{pids}"\nwait')
    return pids, {c.pid for c in psutil.Process().children(recursive=True)}


def _pids(pids: Path, at_least: int = 2, wait_s: float = 10) -> list[int]:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        found = [int(x) for x in pids.read_text().split()] if pids.exists() else []
        if len(found) >= at_least:
            return found
        time.sleep(0.05)
    raise AssertionError(f"the fake tesseract did not start within {wait_s} s")


def _running(pid: int) -> bool:
    """A zombie (killed, not yet reaped by its new parent) is not running."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _assert_cleaned(pids: Path, temp_root: Path, children_before: set[int], wait_s: float = 5) -> None:
    started = _pids(pids)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and (any(map(_running, started)) or list(temp_root.glob("factsheets-ocr-*"))):
        time.sleep(0.05)
    assert not [p for p in started if _running(p)], "tesseract (or a child of it) is still running"
    assert not list(temp_root.glob("factsheets-ocr-*")), "the OCR's temporary folder was left behind"
    children = [c for c in psutil.Process().children(recursive=True) if c.pid not in children_before and _running(c.pid)]
    assert not children, f"a child process of the OCR is still running: {children}"


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    """A temporary-files folder of the test's own, so leftovers are seen and nobody else's are."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    monkeypatch.setenv("TMPDIR", str(root))
    return root


def test_ocr_timeout_stops_tesseract_and_its_children(tmp_path, fake_tesseract, temp_root, monkeypatch):
    pids, before = _slow_tesseract(fake_tesseract, tmp_path)
    monkeypatch.setattr(pdf_module, "DEFAULT_OCR_TIMEOUT_S", 1.0)
    result = process_pdf(badpdfs.image_only(tmp_path / "scan.pdf"), Settings(isolate=False))
    assert (result.failure.stage, result.failure.error) == ("layout", "NoTextLayerError")
    assert "OCR was stopped: tesseract took more than 1 s on page 1" in result.failure.message
    _assert_cleaned(pids, temp_root, before)


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, MemoryError, RuntimeError])
def test_ocr_interrupted_cleans_up(tmp_path, fake_tesseract, temp_root, interrupt):
    """Ctrl-C, running out of memory, or any other error while tesseract runs."""
    pids, before = _slow_tesseract(fake_tesseract, tmp_path)
    scan = badpdfs.image_only(tmp_path / "scan.pdf")

    def raise_it(signum, frame):
        raise interrupt("while tesseract runs")

    old = signal.signal(signal.SIGALRM, raise_it)
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    try:
        with pytest.raises(interrupt):
            ocr_pages(scan, timeout=60)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    _assert_cleaned(pids, temp_root, before)


def test_ocr_process_killed_leaves_nothing_behind(tmp_path, fake_tesseract, temp_root):
    """The worker pool kills a worker (SIGKILL) that runs over the document time limit, in the
    middle of OCR: nothing in it can clean up, yet tesseract and the temporary folder go too."""
    pids, before = _slow_tesseract(fake_tesseract, tmp_path)
    scan = badpdfs.image_only(tmp_path / "scan.pdf")
    code = f"from extractors.pdf import ocr_pages; ocr_pages({str(scan)!r}, timeout=60)"
    worker = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=os.environ.copy())
    try:
        _pids(pids, wait_s=30)
        assert list(temp_root.glob("factsheets-ocr-*"))
    finally:
        worker.kill()
        worker.wait()
    _assert_cleaned(pids, temp_root, before)


# ---------------------------------------------------------- fonts without a Unicode mapping


def test_the_no_unicode_map_builder_really_gives_unreadable_text(tmp_path):
    with pdfplumber.open(badpdfs.no_unicode_map(tmp_path / "nomap.pdf")) as pdf:
        text = pdf.pages[0].extract_text()
    assert text.count("(cid:") > 100
    assert not any(word in text for word in ("NATO", "European", "partners"))


def test_text_without_unicode_mapping_is_a_failure_when_ocr_is_off(tmp_path):
    result = process_pdf(badpdfs.no_unicode_map(tmp_path / "nomap.pdf"), Settings(isolate=False, ocr=False))
    assert not result.ok, result.blocks["text"].tolist()
    assert (result.failure.stage, result.failure.error) == ("layout", "UnreadableTextError")
    message = result.failure.message
    assert "nomap.pdf: the text of page 1 cannot be read: its fonts have no Unicode mapping" in message
    assert "ocrmypdf --force-ocr" in message and "OCR is turned off" in message


@pytest.mark.skipif(ocr_available(), reason="tesseract is installed here, so the page is OCRed (see test_text_without_unicode_mapping_is_ocred)")
def test_text_without_unicode_mapping_says_to_install_tesseract(tmp_path):
    result = process_pdf(badpdfs.no_unicode_map(tmp_path / "nomap.pdf"), Settings(isolate=False))
    assert (result.failure.stage, result.failure.error) == ("layout", "UnreadableTextError")
    assert "its fonts have no Unicode mapping (100% of the characters are unknown glyphs)" in result.failure.message
    assert "install tesseract" in result.failure.message


@pytest.mark.skipif(not ocr_available(), reason="tesseract is not installed (apt-get install tesseract-ocr); OCR is optional")
def test_text_without_unicode_mapping_is_ocred(tmp_path):
    result = process_pdf(badpdfs.no_unicode_map(tmp_path / "nomap.pdf"), Settings(isolate=False))
    assert result.ok, result.failure
    text = " ".join(result.blocks["text"].tolist())
    assert "essential partners" in text
    assert "\ufffd" not in text


def test_only_the_unreadable_pages_are_ocred(tmp_path, fake_tesseract):
    """Page 1 has a good text layer and is read from it; page 2 has no Unicode mapping and is
    sent to OCR (a fake tesseract here, which reads "Read by OCR." on any page it is given)."""
    tsv = tmp_path / "page.tsv"
    rows = [
        "1\t1\t0\t0\t0\t0\t0\t0\t2480\t3508\t-1\t",
        "2\t1\t1\t0\t0\t0\t300\t600\t600\t50\t-1\t",
        "3\t1\t1\t1\t0\t0\t300\t600\t600\t50\t-1\t",
        "4\t1\t1\t1\t1\t0\t300\t600\t600\t50\t-1\t",
        "5\t1\t1\t1\t1\t1\t300\t600\t200\t50\t95\tRead",
        "5\t1\t1\t1\t1\t2\t520\t600\t100\t50\t95\tby",
        "5\t1\t1\t1\t1\t3\t640\t600\t260\t50\t95\tOCR.",
    ]
    tsv.write_text("\n".join([TSV_HEADER, *rows]) + "\n")
    calls = tmp_path / "calls"
    fake_tesseract(f'echo "$1" >> "{calls}"\ncat "{tsv}"')
    result = process_pdf(badpdfs.readable_then_no_unicode_map(tmp_path / "mixed.pdf"), Settings(isolate=False))
    assert result.ok, result.failure
    by_page = result.blocks.groupby("page")["text"].apply(" ".join).to_dict()
    assert "essential partners" in by_page[1]
    assert by_page[2] == "Read by OCR."
    assert [Path(line).name for line in calls.read_text().split()] == ["page-2.png"]


# --------------------------------------------------------------------------------- rotation

ROTATED = [
    pytest.param(lambda p: badpdfs.rotated_page(p, 90), id="page-Rotate-90"),
    pytest.param(lambda p: badpdfs.rotated_page(p, 180), id="page-Rotate-180"),
    pytest.param(lambda p: badpdfs.rotated_page(p, 270), id="page-Rotate-270"),
    pytest.param(lambda p: badpdfs.rotated_text(p, 90), id="text-drawn-90"),
    pytest.param(lambda p: badpdfs.rotated_text(p, 180), id="text-drawn-180"),
    pytest.param(lambda p: badpdfs.rotated_text(p, 270), id="text-drawn-270"),
]


@pytest.mark.parametrize("build", ROTATED)
def test_rotated_page_is_read_in_its_orientation(tmp_path, build):
    """A page turned by /Rotate, or with its text drawn turned, reads like the upright page: its
    lines were dropped (90, 270: "no text layer") or read backwards (180)."""
    upright = process_pdf(badpdfs.prose(tmp_path / "upright.pdf"), Settings(isolate=False, model=None))
    result = process_pdf(build(tmp_path / "rotated.pdf"), Settings(isolate=False, model=None))
    assert result.ok, result.failure
    assert result.blocks[["kind", "text"]].values.tolist() == upright.blocks[["kind", "text"]].values.tolist()
    assert result.document["title"].tolist() == ["NATO-EU Relations"]
