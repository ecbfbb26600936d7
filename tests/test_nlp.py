"""The project's spaCy pipeline: one test per rule of ``factsheet_entities`` and the ruler, on the
real model (sentences written for the rule, not taken from the samples)."""

from __future__ import annotations

import pytest
import spacy

from extractors.nlp import UNUSED_COMPONENTS, FactsheetEntities, load_nlp


def ents(nlp, text: str) -> list[tuple[str, str]]:
    return [(e.text, e.label_) for e in nlp(text).ents]


def labelled(nlp, text: str, label: str) -> list[str]:
    return [t for t, lab in ents(nlp, text) if lab == label]


# --- the pipeline -------------------------------------------------------------------------------


def test_components(nlp):
    assert nlp.pipe_names == ["entity_ruler", "tok2vec", "tagger", "ner", "factsheet_entities"]
    assert not set(UNUSED_COMPONENTS) & set(nlp.pipe_names)  # no parser: the rules read tags
    assert isinstance(nlp.get_pipe("factsheet_entities"), FactsheetEntities)


def test_rules_only_pipeline_has_the_project_components(caplog):
    nlp = load_nlp("no_such_model_installed")
    assert nlp.pipe_names == ["entity_ruler", "factsheet_entities"]
    assert ents(nlp, "The European Defence Agency spent 2 million EUR in July 2016.") == [
        ("European Defence Agency", "ORG"),
        ("2 million EUR", "AMOUNT"),
        ("July 2016", "DATE"),
    ]


# --- ORG ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, orgs",
    [
        ("The NATO Secretary General visited the troops.", ["NATO"]),
        ("EU High Representative Josep Borrell spoke.", ["EU"]),
        ("The Secretary General of the North Atlantic Council spoke.", ["North Atlantic Council"]),
    ],
)
def test_roles_are_not_organisations(nlp, text, orgs):
    assert labelled(nlp, text, "ORG") == orgs


@pytest.mark.parametrize(
    "text, name",
    [
        ("EU staff took part in NATO’s annual exercises such as CMX and Cyber Coalition.", "Cyber Coalition"),
        ("Experts attended Crisis Shield, an EU hybrid exercise in Estonia.", "Crisis Shield"),
        ("They coordinated during the WannaCry and NotPetya attacks.", "NotPetya"),
        ("Allies trained in Exercise Brilliant Jump Command in Norway.", "Brilliant Jump Command"),
    ],
)
def test_exercises_and_attacks_are_not_organisations(nlp, text, name):
    found = ents(nlp, text)
    assert not any(name in t or t in name for t, lab in found if lab in ("ORG", "PERSON"))


def test_a_bare_generic_word_is_not_an_organisation(nlp):
    assert labelled(nlp, "Allies reinforced the eastern flank of the Alliance.", "ORG") == []


def test_a_model_organisation_needs_an_organisation_word(nlp):
    # "Navy" alone, capitalised at the start of a caption, names no body
    assert labelled(nlp, "Navy officers from the two operations work together.", "ORG") == []
    assert "Combined Maritime Forces" in labelled(nlp, "It works with the Combined Maritime Forces off Somalia.", "ORG")


def test_gazetteer_names_match_as_written_or_title_cased_only(nlp):
    assert labelled(nlp, "Experts from the International Staff met.", "ORG") == ["International Staff"]
    assert labelled(nlp, "The work is done by international staff and experts.", "ORG") == []


# --- OPERATION ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, operation",
    [
        ("NATO's Operation Active Fence deployed missile batteries.", "Operation Active Fence"),
        ("The EUFOR Concordia Demo force left.", "EUFOR Concordia Demo"),
        ("The NATO Mission Kabul Demo advises the ministry.", "NATO Mission Kabul Demo"),
        ("The EU Military Partnership Mission in Niger trained soldiers.", "EU Military Partnership Mission in Niger"),
        ("The EU Partnership Mission in Moldova was launched.", "EU Partnership Mission in Moldova"),
        ("KFOR works with EULEX.", "KFOR"),
    ],
)
def test_operations_are_operations_not_organisations(nlp, text, operation):
    found = ents(nlp, text)
    assert (operation, "OPERATION") in found
    assert not any(lab in ("ORG", "PERSON") and (t in operation or operation in t) for t, lab in found)


def test_an_operation_does_not_take_a_role_after_it(nlp):
    assert labelled(nlp, "Operation Sea Guardian Commander Smith said so.", "OPERATION") == ["Operation Sea Guardian"]


# --- DATE ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, date",
    [
        ("KFOR has been in Kosovo since June 1999 under a mandate.", "since June 1999"),
        ("Since 2014, Allies have reinforced the flank.", "Since 2014"),
        ("The centre will be fully operational by 2028.", "by 2028"),
        ("Between January 2013 and October 2015, NATO deployed batteries.", "Between January 2013 and October 2015"),
        ("The fleet will be delivered between 2020 and 2024.", "between 2020 and 2024"),
        ("From August 2009 to December 2016, the operation ran.", "August 2009 to December 2016"),
    ],
)
def test_dates_keep_their_qualifier_and_ranges_are_one_date(nlp, text, date):
    assert labelled(nlp, text, "DATE") == [date]


def test_two_dates_joined_by_and_stay_two(nlp):
    assert labelled(nlp, "Summits took place in July 2016 and July 2018.", "DATE") == ["July 2016", "July 2018"]


# --- AMOUNT -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, amount",
    [
        ("Trust funds received US$3m for Moldova.", "US$3m"),
        ("The facility provided €1.5bn in assistance.", "€1.5bn"),
        ("The Commission agreed to contribute 2 million EUR to the fund.", "2 million EUR"),
        ("Allies agreed to spend 2% of GDP on defence.", "2%"),
        ("Expenditure grew by 18 per cent in real terms.", "18 per cent"),
        ("NATO and the EU cooperate on more than seventy measures, endorsed by ministers.", "more than seventy measures"),
        ("Allies agreed to deploy up to 700 additional troops.", "up to 700 additional troops"),
        ("In mid-2021, some 3,600 troops from 28 countries served.", "some 3,600 troops"),
        ("The fleet consists of eight aircraft which are scheduled for delivery.", "eight aircraft"),
    ],
)
def test_amount_spans(nlp, text, amount):
    assert amount in labelled(nlp, text, "AMOUNT")


def test_model_money_holding_two_amounts_is_split_and_missed_money_found(nlp):
    text = "NATO allocated €2.5 million and $ 3m to the fund, plus CHF 10 million and 1.5 billion euros."
    assert labelled(nlp, text, "AMOUNT") == ["€2.5 million", "$ 3m", "CHF 10 million", "1.5 billion euros"]


@pytest.mark.parametrize(
    "text",
    [
        "In the last two years, the two organisations have developed closer cooperation.",
        "Navy officers from both operations work together.",
        "Cooperation between them is one of the measures.",
        "The number of Allies rose from twelve in 1949.",
    ],
)
def test_numbers_that_count_nothing_named_are_not_amounts(nlp, text):
    assert labelled(nlp, text, "AMOUNT") == []


@pytest.mark.parametrize(
    "text, noun",
    [
        ("Allies agreed to deploy up to 700 additional troops.", "troops"),
        ("The Alliance trained more than 30,000 Ukrainian soldiers.", "soldiers"),
        ("Allies deployed eight multinational battlegroups.", "battlegroups"),
        ("In 2024, 30 NATO Allies met the guideline.", "NATO Allies"),
        ("The ships protected 370 merchant vessels.", "merchant vessels"),
    ],
)
def test_counted_noun_drops_adjectives(nlp, text, noun):
    amounts = [e for e in nlp(text).ents if e.label_ == "AMOUNT"]
    assert [e._.counted_noun for e in amounts] == [noun]


# --- PERSON -------------------------------------------------------------------------------------


def test_people_without_roles_and_after_roles(nlp):
    text = (
        "The Chair of the NATO Military Committee, Admiral Rob Bauer, met NATO Secretary General "
        "Jens Stoltenberg and the President of the European Commission Jean-Claude Juncker."
    )
    assert labelled(nlp, text, "PERSON") == ["Rob Bauer", "Jens Stoltenberg", "Jean-Claude Juncker"]


def test_name_particles_join_the_name(nlp):
    assert "Ursula von der Leyen" in labelled(nlp, "He welcomed the President, Ursula von der Leyen, to Brussels.", "PERSON")


def test_acronyms_and_operations_are_not_people(nlp):
    text = "The EUTM Mali and the EUMPM Niger ended; Operation Sophia continued."
    assert labelled(nlp, text, "PERSON") == []


# --- places -------------------------------------------------------------------------------------


def test_place_list_overrides_the_model(nlp):
    found = ents(nlp, "Consultations have also covered the Western Balkans, Libya and the Middle East.")
    assert ("Western Balkans", "LOC") in found and ("Libya", "GPE") in found and ("Middle East", "LOC") in found
    assert ("Moldova", "GPE") in ents(nlp, "Trust funds: US$3m for Moldova in the last two years.")


def test_a_place_inside_a_role_or_a_word_is_not_a_place(nlp):
    assert labelled(nlp, "It is commanded by the Deputy Supreme Allied Commander Europe.", "LOC") == []
    assert labelled(nlp, "The attack changed security in the Euro-Atlantic area.", "LOC") == []


def test_a_place_in_a_longer_name_is_not_added(nlp):
    found = ents(nlp, "At the 2018 Brussels Summit, Allied leaders welcomed the declaration.")
    assert not any(t == "Brussels" for t, _ in found)


def test_component_data_must_be_well_formed(tmp_path):
    from extractors.nlp import read_places

    bad = tmp_path / "places.csv"
    bad.write_text("name,label\nBrussels,CITY\n", encoding="utf-8")
    with pytest.raises(ValueError, match="GPE or LOC"):
        read_places(bad)


def test_blank_pipeline_with_the_component_runs():
    nlp = spacy.blank("en")
    nlp.add_pipe("factsheet_entities")
    assert nlp("Nothing to see in Brussels.").ents[0].text == "Brussels"
