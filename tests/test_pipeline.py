"""``extractors.process_pdf``: one call from a PDF to its rows, without Prefect; and the cache
key that changes whenever anything that shapes the rows changes.

Title, edition, series and language read from the page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

import extractors
from extractors.pipeline import (
    cache_key,
    code_hash,
    detect_language,
    edition_from_filename,
    edition_from_info,
    edition_from_text,
    pipeline_version,
    series_slug,
)
from schemas.settings import Settings
from schemas.tables import validate

from .conftest import NATO_EU_2019, NATO_EU_2020, ROOT, SEA_GUARDIAN


def test_process_pdf_gives_validated_frames_and_no_prefect():
    result = extractors.process_pdf(SEA_GUARDIAN, Settings(isolate=False))
    assert result.ok and result.failure is None
    for name, df in (("documents", result.document), ("blocks", result.blocks), ("entities", result.entities)):
        assert isinstance(df, pd.DataFrame)
        validate(name, df)
    assert result.document.loc[0, "title"] == "Operation Sea Guardian"
    assert result.document.loc[0, "pipeline_version"] == pipeline_version(Settings())
    ops = result.entities[result.entities.label == "OPERATION"]
    assert "Operation Sea Guardian" in set(ops.canonical)


def test_the_public_names_are_listed():
    assert {"process_pdf", "load_nlp", "ProcessedPDF"} <= set(extractors.__all__)
    with pytest.raises(AttributeError, match="public names are"):
        extractors.no_such_name  # noqa: B018


def test_library_imports_no_prefect():
    code = "import extractors, outputs, schemas.tables; from extractors import process_pdf; import sys; print('prefect' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_bad_file_is_a_failure_value(tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\n1 0 obj <<")
    result = extractors.process_pdf(bad, Settings(isolate=False))
    assert not result.ok and result.failure is not None
    assert result.failure.stage == "read" and "broken.pdf" in result.failure.message
    assert result.blocks.empty and result.document.empty


def test_code_hash_follows_every_code_and_data_file(tmp_path):
    for name in ("extractors", "schemas"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    roots = [tmp_path / "extractors", tmp_path / "schemas"]
    before = code_hash(roots)
    assert before == code_hash([ROOT / "extractors", ROOT / "schemas"])
    with (tmp_path / "extractors" / "data" / "roles.txt").open("a", encoding="utf-8") as fh:
        fh.write("# a comment\n")
    after_data = code_hash(roots)
    (tmp_path / "schemas" / "records.py").write_text((tmp_path / "schemas" / "records.py").read_text() + "\n# x\n")
    assert len({before, after_data, code_hash(roots)}) == 3


def test_cache_key_follows_model_and_shaping_settings_only():
    base = cache_key(Settings(model="none"))
    assert cache_key(Settings(model="none", workers=7, timeout_s=5)) == base  # how it runs: same rows
    assert cache_key(Settings(model="none", layout={"heading_ratio": 1.2})) != base
    assert cache_key(Settings(model="none", ocr=False)) != base
    assert cache_key(Settings()) != base


def test_editing_a_data_file_reprocesses_stored_documents(tmp_path):
    """A real edit to a copy of the code: the next ingest of the same PDF processes it again."""
    src = tmp_path / "src"
    for name in ("extractors", "schemas", "outputs"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    script = textwrap.dedent(f"""
        from extractors import process_pdf
        from outputs import Store
        from schemas.settings import Settings
        settings = Settings(model="none", isolate=False)
        with Store({str(tmp_path / "out")!r}).batch(settings) as batch:
            todo = batch.plan([{str(SEA_GUARDIAN)!r}])
            for p in todo:
                batch.add(process_pdf(p, settings))
            batch.commit()
        print(len(todo))
    """)
    env = {**os.environ, "PYTHONPATH": str(src)}

    def run() -> str:
        return subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.strip()

    assert run() == "1"
    assert run() == "0"  # same code, same bytes: skipped
    with (src / "extractors" / "data" / "event_nouns.txt").open("a", encoding="utf-8") as fh:
        fh.write("# edited\n")
    assert run() == "1"
    docs = pd.read_parquet(tmp_path / "out" / "documents")
    assert len(docs) == 1 and docs["pipeline_version"].iloc[0].startswith("0.2.0+")


@pytest.mark.parametrize(
    "title", ["NATO – EU Relations", "NATO-EU relations", "NATO — EU  Relations", "nato - eu relations"]
)
def test_series_is_stable_across_dashes_and_case(title):
    assert series_slug(title) == "nato-eu-relations"


def test_edition_sources():
    assert edition_from_text("February 2019") == "2019-02"
    assert edition_from_text("Factsheet June 2020") == "2020-06"
    assert edition_from_text("no date here") is None
    assert edition_from_filename("1902-factsheet-nato-eu-en.pdf") == "2019-02"
    assert edition_from_filename("2111-factsheet-nato-eu-en.pdf") == "2021-11"
    assert edition_from_filename("1913-odd.pdf") is None
    assert edition_from_info({"CreationDate": "D:20190214120000Z"}) == "2019-02"


def test_language():
    assert detect_language("NATO and the European Union are essential partners who share common values") == "en"
    assert detect_language("L'OTAN et l'Union européenne sont des partenaires essentiels qui partagent des valeurs") == "fr"


@pytest.mark.parametrize(
    ("pdf", "title", "series", "edition", "pages"),
    [
        (NATO_EU_2019, "NATO – EU Relations", "nato-eu", "2019-02", 2),
        (NATO_EU_2020, "NATO – EU Relations", "nato-eu", "2020-06", 2),
        (SEA_GUARDIAN, "Operation Sea Guardian", "operation-sea-guardian", "2019-02", 1),
    ],
    ids=lambda v: getattr(v, "stem", None),
)
def test_sample_metadata(extracted, pdf, title, series, edition, pages):
    meta = extracted[pdf.name].meta
    assert (meta.title, meta.series, meta.edition, meta.language, meta.pages) == (title, series, edition, "en", pages)


@pytest.mark.parametrize(
    ("source", "title", "series"),
    [
        ("1505-factsheet-nato-ukraine-en.photocol.pdf", "NATO’s relations with Ukraine", "nato-ukraine"),
        ("1704-factsheet-nato-ukraine-en.pdf", "Relations with Ukraine", "nato-ukraine"),
        ("3f2a9c0d11aa22bb-2111-factsheet-nato-eu-en.pdf", "NATO – EU Relations", "nato-eu"),  # a download's name
        ("2006-factsheet-nato-eu-en-copy0001.pdf", "NATO – EU Relations", "nato-eu"),
        ("relations.pdf", "NATO's relations with Ukraine", "relations-ukraine"),
        ("relations-old.pdf", "Relations with Ukraine (Archived)", "relations-ukraine"),
        ("rsm.pdf", "Resolute Support Mission in Afghanistan – Archived", "resolute-support-mission-afghanistan"),
        ("report.pdf", "Отношения НАТО с Украиной", "отношения-нато-с-украиной"),
        ("doc-17.pdf", "Factsheet", "doc-17"),  # one word: not a key unrelated documents could share
    ],
)
def test_document_series(source, title, series):
    from extractors.pipeline import document_series

    assert document_series(source, title) == series


def test_title_and_edition_of_a_document_that_is_no_nato_factsheet():
    from extractors.pipeline import info_title, read_metadata
    from schemas.records import BBox, Block

    blocks = [
        Block(0, 1, "paragraph", "Vienna, 14 March 2023", BBox(0, 0, 1, 1)),
        Block(1, 1, "heading", "OSCE Special Monitoring Mission to Ukraine", BBox(0, 0, 1, 1)),
        Block(2, 1, "paragraph", "The mission observed the situation along the contact line.", BBox(0, 0, 1, 1)),
    ]
    meta = read_metadata(blocks, "smm.pdf", {"Title": "Microsoft Word - doc1.docx"}, 1)
    assert (meta.title, meta.edition, meta.language) == ("OSCE Special Monitoring Mission to Ukraine", "2023-03", "en")
    for placeholder in ("Microsoft Word - doc1.docx", "10811.exe", "untitled", "Untitled-3", "smm", "smm.pdf", "  "):
        assert info_title({"Title": placeholder}, "smm.pdf") is None, placeholder
    assert info_title({"Title": b"EU Naval Force Somalia"}, "smm.pdf") == "EU Naval Force Somalia"
    only_body = [Block(0, 1, "paragraph", "Il mandato della missione è stato prorogato fino al 2025.", BBox(0, 0, 1, 1))]
    meta = read_metadata(only_body, "missione.pdf", {"Title": "EUTM Mali"}, 1)
    assert (meta.title, meta.language) == ("EUTM Mali", "it")
