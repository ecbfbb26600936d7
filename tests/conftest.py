"""Shared fixtures: the sample factsheets, the real spaCy pipeline, Prefect's test harness."""

from __future__ import annotations

import json
import os
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


#: The test files that take longest (servers, clusters, killed runs), longest first. pyproject.toml
#: runs the suite on two pytest-xdist workers, a file to one worker, handed out in collection
#: order: these go first and the short files fill in at the end, so both workers finish together.
SLOW_FILES = ("test_store.py", "test_runners.py", "test_deployments.py", "test_cli.py", "test_prefect_server.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker only (each worker collects and must order alike): the slow files first;
    the order within a file, and of the other files, is kept (a stable sort). One process (-n 0)
    runs in the usual order."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        rank = {name: i for i, name in enumerate(SLOW_FILES)}
        items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


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
