"""Entity tagging and normalisation with the real spaCy model on the sample factsheets."""

from __future__ import annotations

from datetime import date

import pytest

from extractors.entities import entity_id, find_acronyms, is_name, tag_blocks, tag_document
from extractors.nlp import load_nlp
from schemas.records import BBox, Block

from .conftest import NATO_EU_2019, NATO_EU_2020


@pytest.fixture(scope="module")
def ents_2019(extracted, nlp):
    return tag_document(extracted[NATO_EU_2019.name], nlp)


@pytest.fixture(scope="module")
def ents_2020(extracted, nlp):
    return tag_document(extracted[NATO_EU_2020.name], nlp)


def _find(ents, label, canonical):
    return [e for e in ents if e.label == label and e.canonical == canonical]


def test_acronym_resolves_to_long_name(ents_2019):
    eda = _find(ents_2019, "ORG", "European Defence Agency")
    assert sorted(e.text for e in eda) == ["EDA", "European Defence Agency"]


def test_acronym_defined_after_long_form_in_brackets(ents_2019):
    shape = _find(ents_2019, "ORG", "Supreme Headquarters Allied Powers Europe")
    assert "SHAPE" in {e.text for e in shape}


def test_amount_in_currency(ents_2019):
    eur = [e for e in ents_2019 if e.label == "AMOUNT" and e.unit == "EUR"]
    assert len(eur) == 1
    assert (eur[0].text, eur[0].value, eur[0].qualifier) == ("2 million EUR", 2000000.0, None)
    assert eur[0].canonical == "2000000 EUR"


def test_counted_amounts(ents_2019):
    amounts = {(e.text, e.value, e.unit, e.qualifier) for e in ents_2019 if e.label == "AMOUNT"}
    assert ("more than seventy measures", 70.0, "measures", "more than") in amounts
    assert ("eight aircraft", 8.0, "aircraft", None) in amounts
    assert ("five Allies", 5.0, "Allies", None) in amounts
    # "the two organisations" refers back to NATO and the EU: not an amount
    assert not any(e.text.endswith("organisations") for e in ents_2019 if e.label == "AMOUNT")


def test_dates_are_iso_ranges(ents_2019):
    dates = {e.text: (e.date_start, e.date_end, e.qualifier) for e in ents_2019 if e.label == "DATE"}
    assert dates["July 2016"] == (date(2016, 7, 1), date(2016, 7, 31), None)
    assert dates["2019-2022"] == (date(2019, 1, 1), date(2022, 12, 31), None)
    assert dates["between 2020 and 2024"] == (date(2020, 1, 1), date(2024, 12, 31), None)
    assert dates["late 2018"] == (date(2018, 9, 1), date(2018, 12, 31), "late")
    # relative to the edition (February 2019)
    assert dates["last two years"] == (date(2017, 2, 1), date(2019, 2, 28), "relative")
    assert "annual" not in dates


def test_people_whole_and_without_roles(ents_2019, ents_2020):
    people = {e.canonical for e in ents_2019 if e.label == "PERSON"}
    assert people == {"Jens Stoltenberg", "Donald Tusk", "Jean-Claude Juncker"}
    assert {"Ursula von der Leyen", "Charles Michel"} <= {e.canonical for e in ents_2020 if e.label == "PERSON"}


def test_roles_are_not_organisations(ents_2019):
    orgs = {e.text for e in ents_2019 if e.label == "ORG"}
    assert not any("Secretary General" in o or "President" in o for o in orgs)
    assert "NATO" in orgs


def test_operations_are_not_organisations(ents_2019):
    ops = {e.canonical for e in ents_2019 if e.label == "OPERATION"}
    assert {"Operation Sea Guardian", "EUFOR Althea", "Kosovo Force", "NATO Mission Iraq"} <= ops
    orgs = {e.canonical for e in ents_2019 if e.label == "ORG"}
    assert not ops & orgs
    sophia = {e.text for e in ents_2019 if e.label == "OPERATION" and "Sophia" in e.canonical}
    assert "EUNAVFOR Operation Sophia" in sophia


def test_offsets_point_into_the_block(extracted, ents_2019):
    blocks = {b.block_id: b for b in extracted[NATO_EU_2019.name].blocks}
    for e in ents_2019:
        assert blocks[e.block_id].text[e.start_char : e.end_char] == e.text
        assert blocks[e.block_id].page == e.page


def test_find_acronyms_both_orders():
    found = find_acronyms([
        "NATO works closely with the European Defence Agency (EDA) and five Allies.",
        "located at SHAPE (NATO’s Supreme Headquarters Allied Powers Europe).",
        "its predecessor, the International Security Assistance Force (ISAF), have cooperated",
    ])
    assert found["EDA"] == "European Defence Agency"
    assert found["SHAPE"] == "Supreme Headquarters Allied Powers Europe"
    assert found["ISAF"] == "International Security Assistance Force"


def test_entity_id_is_stable():
    assert entity_id("ORG", "European Defence Agency") == entity_id("ORG", "European Defence Agency")
    assert entity_id("ORG", "European Defence Agency") != entity_id("OPERATION", "European Defence Agency")
    assert len(entity_id("ORG", "x")) == 16


def test_rules_only_pipeline_still_tags(caplog):
    nlp = load_nlp("no_such_model_installed")
    assert "ner" not in nlp.pipe_names
    assert "not installed" in caplog.text
    block = Block(0, 1, "paragraph", "In July 2016, the European Defence Agency (EDA) received 2 million EUR.", BBox(0, 0, 1, 1))
    ents = tag_blocks([block], nlp, "2019-02")
    got = {(e.label, e.canonical) for e in ents}
    assert ("ORG", "European Defence Agency") in got
    assert ("DATE", "2016-07-01/2016-07-31") in got
    assert ("AMOUNT", "2000000 EUR") in got


# --- acronym definitions --------------------------------------------------------------------------


def _block(text: str, i: int = 0) -> Block:
    return Block(i, 1, "paragraph", text, BBox(0, 0, 1, 1))


def test_find_acronyms_with_a_name_part():
    found = find_acronyms(["The EU Military Partnership Mission in Niger (EUMPM Niger) and the EU Training Mission in Mali (EUTM Mali)."])
    assert found == {
        "EUMPM Niger": "EU Military Partnership Mission in Niger",
        "EUTM Mali": "EU Training Mission in Mali",
    }


@pytest.mark.parametrize(
    "text, name",
    [("European Defence Agency", True), ("Council of the European Union", True), ("Euro-Atlantic Disaster Response Unit", True),
     ("gross domestic product", False), ("multirole tanker–transport", False)],
)
def test_is_name(text, name):
    assert is_name(text) is name


def test_a_definition_tags_every_mention_in_the_document(nlp):
    blocks = [
        _block("Special forces train with the NATO Special Operations Headquarters (NSHQ) in Mons.", 0),
        _block("The NSHQ also advises partners. Spending reached 2% of gross domestic product (GDP).", 1),
    ]
    got = [(e.block_id, e.label, e.text, e.canonical) for e in tag_blocks(blocks, nlp, "2024-06")]
    nshq = [g for g in got if g[3] == "NATO Special Operations Headquarters"]
    assert nshq == [
        (0, "ORG", "NATO Special Operations Headquarters", "NATO Special Operations Headquarters"),
        (0, "ORG", "NSHQ", "NATO Special Operations Headquarters"),
        (1, "ORG", "NSHQ", "NATO Special Operations Headquarters"),
    ]
    assert not any(g[2] == "GDP" for g in got)  # "gross domestic product" is not a name


def test_a_definition_replaces_what_the_model_guessed(nlp):
    text = "The EU Military Partnership Mission in Niger (EUMPM Niger) ended. EUMPM Niger was launched in December 2022."
    got = {(e.label, e.text, e.canonical) for e in tag_blocks([_block(text)], nlp, "2024-06") if e.label != "DATE"}
    assert got == {
        ("OPERATION", "EU Military Partnership Mission in Niger", "EU Military Partnership Mission in Niger"),
        ("OPERATION", "EUMPM Niger", "EU Military Partnership Mission in Niger"),
    }


def test_a_definition_resolves_through_the_gazetteer(nlp):
    got = {(e.label, e.text, e.canonical) for e in tag_blocks([_block("It works with the European Union Training Mission in Mali (EUTM Mali).")], nlp, "2024-06")}
    assert ("OPERATION", "EUTM Mali", "EU Training Mission in Mali") in got


def test_amount_unit_is_the_counted_noun(nlp):
    ents = tag_blocks([_block("Allies agreed to deploy up to 700 additional troops and €1.5bn.")], nlp, "2024-06")
    assert {(e.text, e.value, e.unit, e.qualifier) for e in ents if e.label == "AMOUNT"} == {
        ("up to 700 additional troops", 700.0, "troops", "up to"),
        ("€1.5bn", 1.5e9, "EUR", None),
    }
