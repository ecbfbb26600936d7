"""Shared fixtures: the sample factsheets, the real spaCy pipeline, Prefect's test harness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import flows  # noqa: F401  (sets Prefect's environment defaults before prefect is imported)

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
DATA = Path(__file__).resolve().parent / "data"
GOLD_BLOCKS = DATA / "gold" / "blocks"

NATO_EU_2019 = SAMPLES / "1902-factsheet-nato-eu-en.pdf"
NATO_EU_2020 = SAMPLES / "2006-factsheet-nato-eu-en.pdf"
SEA_GUARDIAN = SAMPLES / "1902-factsheet-operation-sea-guardian-en.pdf"
SAMPLE_PDFS = (NATO_EU_2019, NATO_EU_2020, SEA_GUARDIAN)


def pytest_configure(config: pytest.Config) -> None:
    """Prefect binds its log handlers to ``sys.stderr`` as it is when it sets them up (on the
    first import of ``prefect.main``): here, not inside a ``CliRunner`` invocation, whose stream
    is closed after it and would print a logging error into the next test's output."""
    import prefect.main  # noqa: F401


def gold_blocks(pdf: Path) -> list[dict]:
    return json.loads((GOLD_BLOCKS / f"{pdf.stem}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def nlp():
    from extractors.tagging import load_nlp
    from schemas.settings import DEFAULT_MODEL

    return load_nlp(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def extracted():
    """The three samples, extracted once per session, by file name."""
    from extractors.pipeline import extract_document

    return {p.name: extract_document(p) for p in SAMPLE_PDFS}


@pytest.fixture(scope="session")
def prefect_harness():
    """A temporary Prefect API (SQLite in a temp folder) for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def store():
    """The five tables for the three samples, built with the plain pipeline functions."""
    from extractors.pipeline import process_pdf
    from outputs.merge import merge_results

    return merge_results({}, [process_pdf(p) for p in SAMPLE_PDFS])


def _hypothesis_profiles() -> None:
    import os

    from hypothesis import settings

    settings.register_profile("ci", max_examples=200, derandomize=True)
    settings.register_profile("dev", max_examples=40)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


_hypothesis_profiles()
