import csv
from pathlib import Path

import pytest
import spacy

from extractors.gazetteer import DEFAULT_PATH, Gazetteer, GazetteerEntry, load_gazetteer, name_forms


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return load_gazetteer()


@pytest.fixture(scope="module")
def nlp(gaz: Gazetteer) -> spacy.language.Language:
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
        ("SNMG2", "Standing NATO Maritime Group 2", "OPERATION"),
        ("SNMCMG 1", "Standing NATO Mine Countermeasures Group 1", "OPERATION"),
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


def test_entity_ruler_name_and_acronym(nlp: spacy.language.Language) -> None:
    assert spans(nlp, "the European Defence Agency (EDA)") == [
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
        ("NATO’s SNMG1", [("NATO", "ORG", "NATO"), ("SNMG1", "OPERATION", "Standing NATO Maritime Group 1")]),
        ("EUPOL COPPS", [("EUPOL COPPS", "OPERATION", "EU Police Mission for the Palestinian Territories")]),
        ("EU Military Staff", [("EU Military Staff", "ORG", "EU Military Staff")]),
    ],
)
def test_entity_ruler(nlp: spacy.language.Language, text: str, expected: list[tuple[str, str, str]]) -> None:
    assert spans(nlp, text) == expected
