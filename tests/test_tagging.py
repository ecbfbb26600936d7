"""Tagging (``extractors.tagging``): the gazetteer, the spaCy pipeline and its component, then whole documents.

The project's spaCy pipeline: one test per rule of ``factsheet_entities`` and the ruler, on the
real model (sentences written for the rule, not taken from the samples).

Entity tagging and normalisation with the real spaCy model on the sample factsheets.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
import spacy

from extractors.tagging import (
    DEFAULT_PATH,
    UNUSED_COMPONENTS,
    FactsheetEntities,
    Gazetteer,
    GazetteerEntry,
    entity_id,
    find_acronyms,
    is_name,
    load_gazetteer,
    load_nlp,
    name_forms,
    tag_blocks,
    tag_document,
)
from schemas.records import BBox, Block

from .conftest import NATO_EU_2019, NATO_EU_2020


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return load_gazetteer()


@pytest.fixture(scope="module")
def ruler_nlp(gaz: Gazetteer) -> spacy.language.Language:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(gaz.patterns())  # type: ignore[attr-defined]
    return nlp


def test_file_is_broad_and_well_formed(gaz: Gazetteer) -> None:
    with open(DEFAULT_PATH, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["canonical", "label", "acronyms", "variants"]
        rows = list(reader)
    assert len(rows) >= 150
    assert len(gaz.entries) == len(rows)
    assert {e.label for e in gaz.entries} == {"ORG", "OPERATION"}
    canonicals = [e.canonical for e in gaz.entries]
    assert len(canonicals) == len(set(canonicals))
    assert sum(e.label == "OPERATION" for e in gaz.entries) >= 40


def test_load_is_cached() -> None:
    assert load_gazetteer() is load_gazetteer()
    assert load_gazetteer(DEFAULT_PATH) is load_gazetteer()


def test_every_name_and_acronym_finds_its_own_entry(gaz: Gazetteer) -> None:
    for entry in gaz.entries:
        for text in (*entry.names, *entry.acronyms):
            assert gaz.lookup(text) is entry, text


@pytest.mark.parametrize(
    "name, canonical, label",
    [
        ("NATO", "NATO", "ORG"),
        ("North Atlantic Treaty Organization", "NATO", "ORG"),
        ("NAC", "North Atlantic Council", "ORG"),
        ("the North Atlantic Council", "North Atlantic Council", "ORG"),
        ("Military Committee", "NATO Military Committee", "ORG"),
        ("SHAPE", "Supreme Headquarters Allied Powers Europe", "ORG"),
        ("ACO", "Allied Command Operations", "ORG"),
        ("ACT", "Allied Command Transformation", "ORG"),
        ("JFC Naples", "Allied Joint Force Command Naples", "ORG"),
        ("Joint Force Command Brunssum", "Allied Joint Force Command Brunssum", "ORG"),
        ("MARCOM", "Allied Maritime Command", "ORG"),
        ("NATO Parliamentary Assembly", "NATO Parliamentary Assembly", "ORG"),
        ("NSPA", "NATO Support and Procurement Agency", "ORG"),
        ("NCI Agency", "NATO Communications and Information Agency", "ORG"),
        ("NCIRC", "NATO Computer Incident Response Capability", "ORG"),
        ("CCDCOE", "NATO Cooperative Cyber Defence Centre of Excellence", "ORG"),
        ("JISD", "Joint Intelligence and Security Division", "ORG"),
        ("NATO Defence College", "NATO Defense College", "ORG"),
        ("STO", "NATO Science and Technology Organization", "ORG"),
        ("EAPC", "Euro-Atlantic Partnership Council", "ORG"),
        ("PfP", "Partnership for Peace", "ORG"),
        ("Istanbul Cooperation Initiative", "Istanbul Cooperation Initiative", "ORG"),
        ("Building Integrity Trust Fund", "NATO Building Integrity Trust Fund", "ORG"),
        ("EU", "European Union", "ORG"),
        ("EEAS", "European External Action Service", "ORG"),
        ("EDA", "European Defence Agency", "ORG"),
        ("European Union Military Staff", "EU Military Staff", "ORG"),
        ("EUMC", "EU Military Committee", "ORG"),
        ("SatCen", "European Union Satellite Centre", "ORG"),
        ("EUISS", "European Union Institute for Security Studies", "ORG"),
        ("European Border and Coast Guard Agency", "Frontex", "ORG"),
        ("FRONTEX", "Frontex", "ORG"),
        ("Europol", "Europol", "ORG"),
        ("ENISA", "European Union Agency for Cybersecurity", "ORG"),
        ("Computer Emergency Response Team for the EU institutions", "CERT-EU", "ORG"),
        ("Hybrid CoE", "European Centre of Excellence for Countering Hybrid Threats", "ORG"),
        ("European Centre on Hybrid Threats", "European Centre of Excellence for Countering Hybrid Threats", "ORG"),
        ("PSC", "Political and Security Committee", "ORG"),
        ("PESCO", "Permanent Structured Cooperation", "ORG"),
        ("EDF", "European Defence Fund", "ORG"),
        ("UN", "United Nations", "ORG"),
        ("United Nations Security Council", "UN Security Council", "ORG"),
        ("OSCE", "Organization for Security and Co-operation in Europe", "ORG"),
        ("AU", "African Union", "ORG"),
        ("OECD", "Organisation for Economic Co-operation and Development", "ORG"),
        ("IMF", "International Monetary Fund", "ORG"),
        ("G-20", "G20", "ORG"),
        ("INTERPOL", "Interpol", "ORG"),
        ("ICRC", "International Committee of the Red Cross", "ORG"),
        ("Operation Sea Guardian", "Operation Sea Guardian", "OPERATION"),
        ("Active Endeavour", "Operation Active Endeavour", "OPERATION"),
        ("Operation Ocean Shield", "Operation Ocean Shield", "OPERATION"),
        ("Operation Unified Protector", "Operation Unified Protector", "OPERATION"),
        ("Operation Eagle Assist", "Operation Eagle Assist", "OPERATION"),
        ("KFOR", "Kosovo Force", "OPERATION"),
        ("Stabilization Force", "Stabilisation Force", "OPERATION"),
        ("IFOR", "Implementation Force", "OPERATION"),
        ("ISAF", "International Security Assistance Force", "OPERATION"),
        ("Resolute Support", "Resolute Support Mission", "OPERATION"),
        ("RSM", "Resolute Support Mission", "OPERATION"),
        ("NMI", "NATO Mission Iraq", "OPERATION"),
        ("NTM-I", "NATO Training Mission-Iraq", "OPERATION"),
        ("Baltic Air Policing", "Baltic Air Policing", "OPERATION"),
        ("eFP", "enhanced Forward Presence", "OPERATION"),
        ("Enhanced Forward Presence", "enhanced Forward Presence", "OPERATION"),
        ("SNMG2", "Standing NATO Maritime Group 2", "ORG"),
        ("SNMCMG 1", "Standing NATO Mine Countermeasures Group 1", "ORG"),
        ("Operation Althea", "EUFOR Althea", "OPERATION"),
        ("Operation EUFOR Althea", "EUFOR Althea", "OPERATION"),
        ("Operation Sophia", "EUNAVFOR MED Operation Sophia", "OPERATION"),
        ("EU Operation Sophia", "EUNAVFOR MED Operation Sophia", "OPERATION"),
        ("EUNAVFOR Operation Sophia", "EUNAVFOR MED Operation Sophia", "OPERATION"),
        ("Operation Irini", "EUNAVFOR MED Operation Irini", "OPERATION"),
        ("Operation Atalanta", "EU NAVFOR Somalia Operation Atalanta", "OPERATION"),
        ("EULEX", "EU Rule of Law Mission in Kosovo", "OPERATION"),
        ("Rule of Law Mission in Kosovo", "EU Rule of Law Mission in Kosovo", "OPERATION"),
        ("EUPOL", "EU Police Mission in Afghanistan", "OPERATION"),
        ("EUPOL Afghanistan", "EU Police Mission in Afghanistan", "OPERATION"),
        ("EUTM Mali", "EU Training Mission in Mali", "OPERATION"),
        ("EUCAP Sahel Niger", "EU Capacity Building Mission in Niger", "OPERATION"),
        ("EUAM Ukraine", "EU Advisory Mission Ukraine", "OPERATION"),
        ("EUMM Georgia", "EU Monitoring Mission in Georgia", "OPERATION"),
        ("EUBAM Rafah", "EU Border Assistance Mission at Rafah Crossing Point", "OPERATION"),
    ],
)
def test_lookup(gaz: Gazetteer, name: str, canonical: str, label: str) -> None:
    entry = gaz.lookup(name)
    assert entry is not None, name
    assert (entry.canonical, entry.label) == (canonical, label)


@pytest.mark.parametrize(
    "name, canonical",
    [
        ("THE EUROPEAN DEFENCE AGENCY", "European Defence Agency"),  # names: as written, title case, capitals
        ("Enhanced Forward Presence", "enhanced Forward Presence"),
        ("International Staff", "NATO International Staff"),
        ("the European Defence Agency", "European Defence Agency"),
        ("European Defence Agency’s", "European Defence Agency"),
        ("European Defence Agency's", "European Defence Agency"),
        ("  European   Defence  Agency ", "European Defence Agency"),
        ("the EU’s Rule of Law Mission in Kosovo", "EU Rule of Law Mission in Kosovo"),
        ("EU's Rule of Law Mission in Kosovo", "EU Rule of Law Mission in Kosovo"),
        ("NATO Training Mission \u2013 Iraq", "NATO Training Mission-Iraq"),
        ("NATO Training Mission\u2014Iraq", "NATO Training Mission-Iraq"),
        ("NATO Russia Council", "NATO-Russia Council"),
        ("NATO \u2013 Russia Council", "NATO-Russia Council"),
        ("Euro\u2011Atlantic Partnership Council", "Euro-Atlantic Partnership Council"),
        ("NTM\u2013I", "NATO Training Mission-Iraq"),
        ("CERT – EU", "CERT-EU"),
        ("NATO’s", "NATO"),
        ("(EDA)", "European Defence Agency"),
    ],
)
def test_lookup_normalises(gaz: Gazetteer, name: str, canonical: str) -> None:
    entry = gaz.lookup(name)
    assert entry is not None and entry.canonical == canonical


@pytest.mark.parametrize(
    "name",
    [
        "european defence agency",  # names never match in lower case
        "international staff",  # generic words in prose are not the NATO International Staff
        "International staff",
        "eda",  # acronyms match case-sensitively
        "Eda",
        "eulex",
        "kfor",
        "Rule of Law Mission",  # ambiguous (Kosovo or Afghanistan): left to the acronym
        "the Alliance",
        "Ministry of Defence",
        "",
        "the",
    ],
)
def test_lookup_misses(gaz: Gazetteer, name: str) -> None:
    assert gaz.lookup(name) is None


def test_conflicting_names_are_a_data_error() -> None:
    a = GazetteerEntry("European Defence Agency", "ORG", ("EDA",), ())
    b = GazetteerEntry("Economic Development Agency", "ORG", ("EDA",), ())
    with pytest.raises(ValueError, match="EDA"):
        Gazetteer([a, b])
    with pytest.raises(ValueError, match="PERSON"):
        Gazetteer([GazetteerEntry("Jens Stoltenberg", "PERSON")])


def test_load_from_path(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text(
        "canonical,label,acronyms,variants\n"
        "Example Agency,ORG,EXA|EXAG,Agency of Examples| The Example Agency \n"
        "Operation Example,OPERATION,,\n",
        encoding="utf-8",
    )
    g = load_gazetteer(path)
    assert g.entries == (
        GazetteerEntry("Example Agency", "ORG", ("EXA", "EXAG"), ("Agency of Examples", "The Example Agency")),
        GazetteerEntry("Operation Example", "OPERATION", (), ()),
    )
    assert g.lookup("exag") is None
    assert g.lookup("EXAG") is g.entries[0]
    assert g.lookup("Operation Example") is g.entries[1]
    assert g.lookup("OPERATION EXAMPLE") is g.entries[1]
    assert g.lookup("operation example") is None


def test_patterns_shape(gaz: Gazetteer) -> None:
    patterns = gaz.patterns()
    assert all(set(p) == {"label", "pattern", "id"} for p in patterns)
    assert all(isinstance(p["pattern"], str) and p["pattern"] for p in patterns)  # phrase patterns
    ids = {p["id"] for p in patterns}
    assert ids == {e.canonical for e in gaz.entries}
    eda = {p["pattern"] for p in patterns if p["id"] == "European Defence Agency"}
    assert eda == {"European Defence Agency", "EUROPEAN DEFENCE AGENCY", "EDA"}
    efp = {p["pattern"] for p in patterns if p["id"] == "enhanced Forward Presence"}
    assert {"enhanced Forward Presence", "Enhanced Forward Presence", "eFP"} <= efp


def test_patterns_spell_every_dash_and_apostrophe(gaz: Gazetteer) -> None:
    nrc = {p["pattern"] for p in gaz.patterns() if p["id"] == "NATO-Russia Council"}
    assert {"NATO-Russia Council", "NATO\u2013Russia Council", "NATO \u2013 Russia Council", "NATO\u2011Russia Council"} <= nrc
    unicef = {p["pattern"] for p in gaz.patterns() if p["id"] == "United Nations Children's Fund"}
    assert {"United Nations Children's Fund", "United Nations Children\u2019s Fund"} <= unicef


@pytest.mark.parametrize(
    "name, forms",
    [
        ("enhanced Forward Presence", ("enhanced Forward Presence", "Enhanced Forward Presence", "ENHANCED FORWARD PRESENCE")),
        ("Council of the European Union", ("Council of the European Union", "COUNCIL OF THE EUROPEAN UNION")),
        ("Partnership for Peace programme", ("Partnership for Peace programme", "Partnership for Peace Programme", "PARTNERSHIP FOR PEACE PROGRAMME")),
    ],
)
def test_name_forms(name: str, forms: tuple[str, ...]) -> None:
    assert name_forms(name) == forms


def spans(nlp: spacy.language.Language, text: str) -> list[tuple[str, str, str]]:
    return [(e.text, e.label_, e.ent_id_) for e in nlp(text).ents]


def test_entity_ruler_name_and_acronym(ruler_nlp: spacy.language.Language) -> None:
    assert spans(ruler_nlp, "the European Defence Agency (EDA)") == [
        ("European Defence Agency", "ORG", "European Defence Agency"),
        ("EDA", "ORG", "European Defence Agency"),
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("the EUROPEAN DEFENCE AGENCY", [("EUROPEAN DEFENCE AGENCY", "ORG", "European Defence Agency")]),
        ("an eda report", []),  # acronyms are case-sensitive
        ("the european defence agency", []),  # names are not matched in lower case
        ("supported by international staff and experts", []),
        ("the International Staff and the International Military Staff", [
            ("International Staff", "ORG", "NATO International Staff"),
            ("International Military Staff", "ORG", "International Military Staff"),
        ]),
        (
            "the EU’s Rule of Law Mission in Kosovo (EULEX)",
            [
                ("EU’s Rule of Law Mission in Kosovo", "OPERATION", "EU Rule of Law Mission in Kosovo"),
                ("EULEX", "OPERATION", "EU Rule of Law Mission in Kosovo"),
            ],
        ),
        ("NATO Training Mission – Iraq", [("NATO Training Mission – Iraq", "OPERATION", "NATO Training Mission-Iraq")]),
        ("NATO Training Mission-Iraq", [("NATO Training Mission-Iraq", "OPERATION", "NATO Training Mission-Iraq")]),
        ("NTM–I", [("NTM–I", "OPERATION", "NATO Training Mission-Iraq")]),
        (
            "EUNAVFOR MED Operation Sophia",
            [("EUNAVFOR MED Operation Sophia", "OPERATION", "EUNAVFOR MED Operation Sophia")],
        ),
        ("Enhanced Forward Presence", [("Enhanced Forward Presence", "OPERATION", "enhanced Forward Presence")]),
        ("NATO’s SNMG1", [("NATO", "ORG", "NATO"), ("SNMG1", "ORG", "Standing NATO Maritime Group 1")]),
        ("EUPOL COPPS", [("EUPOL COPPS", "OPERATION", "EU Police Mission for the Palestinian Territories")]),
        ("EU Military Staff", [("EU Military Staff", "ORG", "EU Military Staff")]),
    ],
)
def test_entity_ruler(ruler_nlp: spacy.language.Language, text: str, expected: list[tuple[str, str, str]]) -> None:
    assert spans(ruler_nlp, text) == expected


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
    from extractors.tagging import read_places

    bad = tmp_path / "places.csv"
    bad.write_text("name,label\nBrussels,CITY\n", encoding="utf-8")
    with pytest.raises(ValueError, match="GPE or LOC"):
        read_places(bad)


def test_blank_pipeline_with_the_component_runs():
    nlp = spacy.blank("en")
    nlp.add_pipe("factsheet_entities")
    assert nlp("Nothing to see in Brussels.").ents[0].text == "Brussels"


def test_saved_pipeline_loads_in_a_fresh_process_and_tags_the_same(nlp, tmp_path):
    """The component is registered by an entry point (``spacy_factories``) and saves its word
    lists: ``spacy.load`` of a saved pipeline needs no import of ours and tags the same."""
    import json
    import subprocess
    import sys

    text = ("The President of the European Commission Jean-Claude Juncker met NATO Secretary General "
            "Jens Stoltenberg in Warsaw in July 2016; EU Operation Sophia had eight aircraft.")
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "factsheet_entities" / "roles.txt").exists()
    code = ("import json, sys, spacy; nlp = spacy.load(sys.argv[1]); "
            "print(json.dumps([(e.text, e.label_) for e in nlp(sys.argv[2]).ents]))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "pipeline"), text], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert json.loads(out.stdout) == [[e.text, e.label_] for e in nlp(text).ents]
    assert ["Jean-Claude Juncker", "PERSON"] in json.loads(out.stdout)


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


def test_roles_in_the_samples_are_not_organisations(ents_2019):
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
    nlp = load_nlp("another_model_not_installed")
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


# --- names recognised by structure (classes, not names: sentences written for each rule) -----------


def _doc_ents(nlp, *texts: str, edition: str = "2024-03") -> set[tuple[str, str, str]]:
    blocks = [Block(i, 1, "paragraph", t, BBox(0, 0, 1, 1)) for i, t in enumerate(texts)]
    return {(e.label, e.text, e.canonical) for e in tag_blocks(blocks, nlp, edition)}


@pytest.mark.parametrize(
    "text, name",
    [
        ("The Northern Logistics Coordination Centre for Maritime Support of Allied Forces opened in May.", "Northern Logistics Coordination Centre for Maritime Support of Allied Forces"),
        ("Combined Task Force 151 escorts merchant ships.", "Combined Task Force 151"),
        ("Ships of Task Force 62 joined the exercise area later.", "Task Force 62"),
        ("The Baltic Air Surveillance Network shares radar data.", "Baltic Air Surveillance Network"),
        ("It trained the Somali National Army and the Afghan National Police.", "Somali National Army"),
        ("The Prime Minister's Office coordinates the reform.", "Prime Minister's Office"),
        ("The President's Delivery Unit reports every month.", "President's Delivery Unit"),
        ("Clashes with the armed group M23 continued near the border.", "M23"),
        ("The terrorist organisation Islamic Resistance Front claimed the attack.", "Islamic Resistance Front"),
        ("Al-Hamra Brigades, an armed group, controls the road.", "Al-Hamra Brigades"),
    ],
)
def test_organisations_named_by_structure(nlp, text, name):
    assert name in labelled(nlp, text, "ORG")


def test_a_name_ends_where_another_begins(nlp):
    got = _doc_ents(nlp, "The President of the European Commission Jean-Claude Juncker spoke.")
    assert ("ORG", "European Commission", "European Commission") in got
    assert ("PERSON", "Jean-Claude Juncker", "Jean-Claude Juncker") in got
    assert not any(t.endswith("Juncker") for lab, t, _ in got if lab == "ORG")


@pytest.mark.parametrize(
    "text",
    [
        "It signed a Distinctive Partnership with its neighbour.",
        "A specific Trust Fund is then established.",
        "Capability Targets are set every four years.",
        "NATO's Relations With The European Union And Its Member States",  # a heading in Title Case
    ],
)
def test_descriptions_and_title_case_headings_are_not_names(nlp, text):
    orgs = labelled(nlp, text, "ORG")
    assert not [o for o in orgs if o not in ("NATO", "European Union", "EU")], orgs


def test_an_organisation_used_as_a_modifier_is_a_mention(nlp):
    got = _doc_ents(nlp, "The EU-led mission works with UN-mandated forces and NATO-certified units.")
    assert {("ORG", "EU", "European Union"), ("ORG", "UN", "United Nations"), ("ORG", "NATO", "NATO")} <= got


def test_a_bracketed_acronym_after_a_name_is_its_acronym_whatever_its_letters(nlp):
    got = _doc_ents(nlp, "The Multidimensional Integrated Stabilization Mission in the Central Sahel (MISMACS) began in 2020.",
                    "MISMACS left in 2023.")
    assert ("OPERATION", "MISMACS", "Multidimensional Integrated Stabilization Mission in the Central Sahel") in got


def test_operations_joined_by_and_and_named_without_the_word_operation(nlp):
    got = _doc_ents(nlp, "Operation Harbour Shield and Northern Gate ended in 2016.", "Since then, Northern Gate has been replaced.")
    assert ("OPERATION", "Northern Gate", "Operation Northern Gate") in got
    assert sum(1 for lab, t, _ in got if lab == "OPERATION") >= 2
    assert not [t for lab, t, _ in got if lab in ("GPE", "LOC", "PERSON") and "Northern Gate" in t]


def test_camps_and_bases_are_places_not_operations(nlp):
    got = _doc_ents(nlp, "Troops trained at Camp Bondsteel and at the Herat Regional Training Base.")
    assert {("LOC", "Camp Bondsteel", "Camp Bondsteel"), ("LOC", "Herat Regional Training Base", "Herat Regional Training Base")} <= got
    assert not [t for lab, t, _ in got if lab == "OPERATION"]


def test_ships_are_never_people_or_places(nlp):
    got = _doc_ents(nlp, "HNLMS Van Speijk and the frigate Karel Doorman joined the Wielingen-class frigate Louise-Marie off Sicily.")
    assert not [t for lab, t, _ in got if lab in ("PERSON", "GPE", "LOC", "ORG") and t in ("Van Speijk", "Karel Doorman", "Louise-Marie")]
    assert ("GPE", "Sicily", "Sicily") in got or ("LOC", "Sicily", "Sicily") in got


@pytest.mark.parametrize(
    "text, amount",
    [
        ("Greece bought four Type 214 submarines.", ("4 submarines", "four Type 214 submarines")),
        ("The Alliance ordered 20 F-35 aircraft.", ("20 aircraft", "20 F-35 aircraft")),
    ],
)
def test_a_designation_is_not_an_amount_but_its_count_is(nlp, text, amount):
    got = _doc_ents(nlp, text)
    assert ("AMOUNT", amount[1], amount[0]) in got
    assert len([1 for lab, _, _ in got if lab == "AMOUNT"]) == 1


def test_numbers_in_designations_count_nothing(nlp):
    got = _doc_ents(nlp, "A Learjet 45 flew over Montenegro under Article 5 and Resolution 1973.")
    assert not [t for lab, t, _ in got if lab == "AMOUNT"]


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("The attacks of 11 September 2001 changed the Alliance.", "2001-09-11"),
        ("On February 7, 2011, the Council met.", "2011-02-07"),
        ("Relations deepened with the 1997 Charter on a Distinctive Partnership.", "1997-01-01/1997-12-31"),
    ],
)
def test_dates_of_a_day_in_any_style_and_years_before_a_name(nlp, text, canonical):
    assert canonical in {c for lab, _, c in _doc_ents(nlp, text) if lab == "DATE"}


def test_a_photo_id_or_an_organisation_word_is_no_person(nlp):
    got = _doc_ents(nlp, "b060623al - Cape Verde Islands - Amphibious landing exercise.", "The Command Structure was adapted.")
    assert not [t for lab, t, _ in got if lab == "PERSON"]


# --- rules from the held-back corpus's errors (sentences written for each class, UN and EU style) --


def test_a_hyphenated_size_is_not_the_counted_noun(nlp):
    got = _doc_ents(nlp, "The mission deployed three company-sized units and two battalion-size battlegroups.")
    assert {("AMOUNT", "three company-sized units", "3 units"), ("AMOUNT", "two battalion-size battlegroups", "2 battlegroups")} <= got


@pytest.mark.parametrize(
    "text, post",
    [
        ("The Force Commander (FC) visited Gao.", "FC"),
        ("The Special Representative of the Secretary-General (SRSG) briefed the Council.", "SRSG"),
    ],
)
def test_a_post_defined_by_an_acronym_is_no_organisation(nlp, text, post):
    got = _doc_ents(nlp, text)
    assert not [t for lab, t, _ in got if lab == "ORG" and (t == post or "Commander" in t or "Representative" in t)], got


def test_heads_of_state_and_government_are_a_role_not_an_organisation(nlp):
    got = _doc_ents(nlp, "Heads of State and Government met in Vilnius in July 2023.")
    assert not [t for lab, t, _ in got if lab == "ORG"], got
    assert ("GPE", "Vilnius", "Vilnius") in got


def test_a_month_of_that_year_takes_the_year_named_before(nlp):
    got = _doc_ents(nlp, "The mission was set up in 2013. In June of that year, its first troops arrived.")
    assert ("DATE", "June of that year", "2013-06-01/2013-06-30") in got


def test_places_listed_together_are_all_places(nlp):
    got = _doc_ents(nlp, "The mission has offices in Bamako, Gao, Timbuktu, Kidal and Menaka.",
                    "Team sites in Juba, Malakal, Bor and Wau were reinforced.")
    places = {t for lab, t, _ in got if lab in ("GPE", "LOC")}
    assert {"Bamako", "Gao", "Timbuktu", "Kidal", "Menaka", "Juba", "Malakal", "Bor", "Wau"} <= places, got
    assert not [t for lab, t, _ in got if lab == "PERSON"], got


def test_people_listed_without_a_place_stay_people(nlp):
    got = _doc_ents(nlp, "The Secretary General met Jens Stoltenberg, Josep Borrell and Charles Michel in Brussels.")
    assert {"Jens Stoltenberg", "Josep Borrell", "Charles Michel"} <= {t for lab, t, _ in got if lab == "PERSON"}, got


def test_a_place_name_with_a_hyphenated_particle_is_one_place(nlp):
    got = _doc_ents(nlp, "Ships called at Djibouti, Bandar-e Abbas and Salalah.")
    places = {t for lab, t, _ in got if lab in ("GPE", "LOC")}
    assert "Bandar-e Abbas" in places and "Djibouti" in places, got


def test_a_country_written_as_initials_has_one_canonical_name(nlp):
    got = _doc_ents(nlp, "Aircraft from the U.S. and the UK landed, then more from the USA.")
    us = {c for lab, t, c in got if lab == "GPE" and t in ("U.S.", "USA")}
    assert us == {"United States"}, got


def test_a_definition_with_its_place_does_not_swallow_the_place(nlp):
    got = _doc_ents(nlp, "The Stabilisation Support Office (SSO) in Bamako coordinates donors. The SSO reports yearly.")
    assert ("ORG", "Stabilisation Support Office", "Stabilisation Support Office") in got
    assert not [t for lab, t, _ in got if lab == "ORG" and "Bamako" in t], got
    assert ("ORG", "SSO", "Stabilisation Support Office") in got


def test_a_name_the_model_ran_into_its_bracket_is_cut_at_the_bracket(nlp):
    got = _doc_ents(nlp, "They trained the Malian Armed Forces (FAMa) and the Afghan National Security Forces (ANSF).")
    assert ("ORG", "Afghan National Security Forces", "Afghan National Security Forces") in got
    assert ("ORG", "ANSF", "Afghan National Security Forces") in got
    assert not [t for lab, t, _ in got if "(" in t], got


def test_a_figure_in_digits_after_the_is_an_amount_a_number_word_refers_back(nlp):
    got = _doc_ents(nlp, "The 48 nations which make up the force met. The two organisations agreed.")
    amounts = {(t, c) for lab, t, c in got if lab == "AMOUNT"}
    assert amounts == {("48 nations", "48 nations")}, got
