"""Fuzzing: mutated sample PDFs and built ones (byte flips, truncation, spliced and deleted
ranges) either extract or fail with the project's own errors, within a time limit.

Profiles (tests/conftest.py): ``ci`` runs 200 cases, ``dev`` 40; pick with HYPOTHESIS_PROFILE.
"""

from __future__ import annotations

import signal
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors.pipeline import extract_document
from schemas.errors import FactsheetError

from . import badpdfs
from .conftest import NATO_EU_2019, SEA_GUARDIAN


def _built() -> list[bytes]:
    """Pages that take the less common ways through the reader: turned by /Rotate, text drawn
    turned, fonts without a Unicode mapping."""
    builders = [lambda p: badpdfs.rotated_page(p, 90), lambda p: badpdfs.rotated_text(p, 270), badpdfs.no_unicode_map]
    with tempfile.TemporaryDirectory() as tmp:
        return [build(Path(tmp) / f"built-{i}.pdf").read_bytes() for i, build in enumerate(builders)]


SOURCES = [SEA_GUARDIAN.read_bytes(), NATO_EU_2019.read_bytes(), *_built()]
TIME_LIMIT_S = 20


@st.composite
def mutated_pdfs(draw: st.DrawFn) -> bytes:
    data = bytearray(SOURCES[draw(st.integers(0, len(SOURCES) - 1))])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "splice", "delete", "duplicate"]))
        n = len(data)
        if n < 16:
            break
        i = draw(st.integers(0, n - 1))
        if op == "flip":
            for k in range(draw(st.integers(1, 16))):
                data[(i + k * 97) % n] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[max(8, i):]
        elif op == "splice":  # a slice of another sample (whole objects, streams) pasted in
            other = SOURCES[draw(st.integers(0, len(SOURCES) - 1))]
            j = draw(st.integers(0, len(other) - 1))
            data[i:i] = other[j : j + draw(st.integers(1, 4096))]
        elif op == "delete":
            del data[i : i + draw(st.integers(1, 4096))]
        else:
            j = draw(st.integers(0, n - 1))
            data[i:i] = data[j : j + draw(st.integers(1, 2048))]
    return bytes(data)


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None, print_blob=True)
@given(data=mutated_pdfs())
def test_mutated_pdf_extracts_or_fails_cleanly(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mutant.pdf"
        path.write_bytes(data)
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(TIME_LIMIT_S)
        try:
            doc = extract_document(path, max_pages=50, ocr=False)  # OCR has its own test
        except FactsheetError as exc:
            assert str(exc)  # a message for the failures table
            return
        except _Timeout:
            pytest.fail(f"extraction took more than {TIME_LIMIT_S} s")
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
        assert doc.meta.pages >= 1
        assert all(b.text for b in doc.blocks)
