"""Title, edition, series and language read from the page."""

from __future__ import annotations

import pytest

from extractors.metadata import detect_language, edition_from_filename, edition_from_info, edition_from_text, series_slug

from .conftest import NATO_EU_2019, NATO_EU_2020, SEA_GUARDIAN


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
        (NATO_EU_2019, "NATO – EU Relations", "nato-eu-relations", "2019-02", 2),
        (NATO_EU_2020, "NATO – EU Relations", "nato-eu-relations", "2020-06", 2),
        (SEA_GUARDIAN, "Operation Sea Guardian", "operation-sea-guardian", "2019-02", 1),
    ],
    ids=lambda v: getattr(v, "stem", None),
)
def test_sample_metadata(extracted, pdf, title, series, edition, pages):
    meta = extracted[pdf.name].meta
    assert (meta.title, meta.series, meta.edition, meta.language, meta.pages) == (title, series, edition, "en", pages)
