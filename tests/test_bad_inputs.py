"""Bad input: every kind of broken file is one failure with a message a person can act on,
and the rest of the batch goes on. Files are built with pikepdf/reportlab at test time."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from extractors.pdf import ocr_available
from extractors.pipeline import process_pdf
from flows.workers import WorkerPool
from schemas.settings import Settings

from . import badpdfs
from .conftest import NATO_EU_2019

CASES = [
    # builder, stage, error, words the message must contain
    (badpdfs.empty, "read", "UnreadablePDFError", "is empty"),
    (badpdfs.png_renamed, "read", "UnreadablePDFError", "not a PDF (it starts like a PNG image)"),
    (badpdfs.html_renamed, "read", "UnreadablePDFError", "not a PDF (it starts like an HTML page)"),
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
