"""Comparing editions: every edit listed in samples/README.md is found, nothing else is.

The samples give two pairs of consecutive editions of "NATO – EU Relations": February 2019 →
June 2020 (seven edits) and June 2020 → November 2021 (a paragraph moved to another section,
two amounts changed). Small hand-made tables check the matching rules one by one.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from outputs.compare import (
    align_blocks,
    compare_editions,
    compare_two,
    diff_segments,
    normalise_name,
    similarity,
    stable_pairs,
    word_diff,
)
from schemas.tables import frame, validate

from .conftest import SAMPLES

NATO_EU_2021 = SAMPLES / "2111-factsheet-nato-eu-en.pdf"
MOVED = "The NATO Secretary General and the EU High Representative regularly report to NATO Allies and EU Member States on this cooperation, which has seen substantial progress."


@pytest.fixture(scope="module")
def editions(store):
    """The sample store with the November 2021 edition too (whether or not ``store`` has it)."""
    from extractors.pipeline import process_pdf
    from outputs.merge import merge_results

    return merge_results(store, [process_pdf(NATO_EU_2021)])


def _pair(changes: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    return changes[(changes.from_edition == a) & (changes.to_edition == b)]


@pytest.fixture(scope="module")
def ch_2020(editions):
    return _pair(editions["changes"], "2019-02", "2020-06")


@pytest.fixture(scope="module")
def ch_2021(editions):
    return _pair(editions["changes"], "2020-06", "2021-11")


def _doc_id(tables, source: str) -> str:
    docs = tables["documents"]
    return docs.loc[docs.source == source, "doc_id"].item()


def _value(row) -> str:
    """A fact row's value: the normalised value of its ``before`` (removed) or ``after`` (added)."""
    return (row.before if row.change == "removed" else row.after).split(" (")[0]


def _entity_changes(changes: pd.DataFrame) -> set[tuple[str, str, str]]:
    """(change, label, canonical name) of entities; for facts (amounts, dates) their value."""
    ent = changes[changes.level == "entity"]
    return {(r.change, r.label, _value(r) if r.label in ("AMOUNT", "DATE") else r.canonical) for r in ent.itertuples(index=False)}


def _facts(changes: pd.DataFrame) -> set[tuple[str, str, str, str]]:
    """(label, unit or date role, before, after) of changed facts."""
    facts = changes[(changes.level == "entity") & (changes.change == "changed")]
    return {(r.label, _unit(r), r.before, r.after) for r in facts.itertuples(index=False)}


def _unit(row) -> str:
    """An amount's unit (in ``before``: "8 aircraft (eight aircraft)"), or a date's subject."""
    return row.before.split(" (")[0].split(" ", 1)[1] if row.label == "AMOUNT" else row.canonical


FACTS_2020 = {
    ("AMOUNT", "measures", "70 measures (more than seventy measures)", "74 measures (74 measures)"),
    ("AMOUNT", "aircraft", "8 aircraft (eight aircraft)", "9 aircraft (nine aircraft)"),
    ("AMOUNT", "Allies", "5 Allies (five Allies)", "6 Allies (six Allies)"),
    ("DATE", "fleet consists of aircraft which are scheduled for delivery …", "2020-01-01/2024-12-31 (between 2020 and 2024)", "2020-01-01/2025-12-31 (between 2020 and 2025)"),
    ("DATE", "In …, they conducted parallel crisis management exercises with related scenarios", "2018-09-01/2018-12-31 (late 2018)", "2019-09-01/2019-12-31 (late 2019)"),
}
FACTS_2021 = {
    ("AMOUNT", "aircraft", "9 aircraft (nine aircraft)", "10 aircraft (ten aircraft)"),
    ("AMOUNT", "EUR", "2000000 EUR (2 million EUR)", "2500000 EUR (2.5 million EUR)"),
}


# --- the samples: February 2019 → June 2020 ------------------------------------------------


def test_changes_are_between_consecutive_editions_of_one_series(editions):
    changes = editions["changes"]
    validate("changes", changes)
    assert set(changes.series) == {"nato-eu"}
    assert set(zip(changes.from_edition, changes.to_edition)) == {("2019-02", "2020-06"), ("2020-06", "2021-11")}


def test_facts_with_new_values_are_changed_not_added_and_removed(ch_2020):
    assert _facts(ch_2020) == FACTS_2020


def test_entities_added_and_removed_are_exactly_the_edits(ch_2020):
    got = _entity_changes(ch_2020)
    added = {(lab, can) for chg, lab, can in got if chg == "added"}
    removed = {(lab, can) for chg, lab, can in got if chg == "removed"}
    # edit 5: a paragraph with two new people, a date, a place and NATO Headquarters
    # edit 6: a sentence with two new organisations
    assert added == {
        ("PERSON", "Ursula von der Leyen"),
        ("PERSON", "Charles Michel"),
        ("DATE", "2019-12-01/2019-12-31"),
        ("GPE", "Brussels"),
        ("ORG", "NATO Headquarters"),
        ("ORG", "CERT-EU"),
        ("ORG", "NATO Computer Incident Response Capability"),
    }
    # edit 7: the Afghanistan paragraph
    assert removed == {
        ("GPE", "Afghanistan"),
        ("OPERATION", "Resolute Support Mission"),
        ("OPERATION", "International Security Assistance Force"),
        ("OPERATION", "EU Police Mission in Afghanistan"),
    }


def test_relative_date_with_same_words_is_not_a_change(editions):
    # "In the last two years" is in every edition; its range moves with the edition date.
    ch = editions["changes"]
    assert not ch["before"].fillna("").str.contains("last two years").any()
    assert not ch["after"].fillna("").str.contains("last two years").any()


def test_block_changes(ch_2020):
    blocks = ch_2020[ch_2020.level == "block"]
    assert sorted(blocks.change) == ["added", "changed", "changed", "changed", "changed", "removed"]
    added = blocks[blocks.change == "added"].iloc[0]
    assert added.after.startswith("In December 2019, the NATO Secretary General welcomed")
    assert added.canonical == "A new framework for cooperation"
    removed = blocks[blocks.change == "removed"].iloc[0]
    assert removed.before.startswith("In Afghanistan, the NATO-led Resolute Support Mission")
    assert removed.canonical == "Working together in the field"
    measures = blocks[blocks.before.fillna("").str.startswith("Currently")].iloc[0]
    assert "[-more than seventy-]" in measures.before and "{+74+}" in measures.after
    assert 0.8 < measures.similarity < 1.0
    cyber = blocks[blocks.before.fillna("").str.startswith("On cyber defence")].iloc[0]
    assert "{+A Technical Arrangement between the NATO Computer Incident Response Capability" in cyber.after


def test_nothing_else_is_reported_2019_to_2020(ch_2020):
    """Five facts, seven entities added, four removed, six blocks: the seven edits, no more."""
    assert ch_2020.groupby(["level", "change"]).size().to_dict() == {
        ("entity", "changed"): 5,
        ("entity", "added"): 7,
        ("entity", "removed"): 4,
        ("block", "changed"): 4,
        ("block", "added"): 1,
        ("block", "removed"): 1,
    }


# --- the samples: June 2020 → November 2021 (a moved paragraph) -----------------------------


def test_moved_paragraph_is_moved_not_removed_and_added(ch_2021):
    blocks = ch_2021[ch_2021.level == "block"]
    moved = blocks[blocks.change == "moved"]
    assert [(r.label, r.canonical, r.before, r.after) for r in moved.itertuples(index=False)] == [
        ("paragraph", MOVED, "A new framework for cooperation", "Other areas of cooperation"),
    ]
    assert not blocks.change.isin(["added", "removed"]).any()


def test_amounts_changed_2020_to_2021(ch_2021):
    assert _facts(ch_2021) == FACTS_2021
    changed = ch_2021[(ch_2021.level == "block") & (ch_2021.change == "changed")]
    assert sorted(changed.canonical) == ["Results and way forward"] * 2
    assert any("[-nine-]" in b and "{+ten+}" in a for b, a in zip(changed.before, changed.after))
    assert any("[-2-]" in b and "{+2.5+}" in a for b, a in zip(changed.before, changed.after))


def test_nothing_else_is_reported_2020_to_2021(ch_2021):
    assert ch_2021.groupby(["level", "change"]).size().to_dict() == {
        ("entity", "changed"): 2,
        ("block", "changed"): 2,
        ("block", "moved"): 1,
    }


def test_compare_two_any_two_editions(editions):
    t = editions
    first, last = _doc_id(t, "1902-factsheet-nato-eu-en.pdf"), _doc_id(t, "2111-factsheet-nato-eu-en.pdf")
    ch = compare_two(t["documents"], t["blocks"], t["entities"], t["facts"], first, last)
    validate("changes", ch)
    assert set(zip(ch.from_edition, ch.to_edition)) == {("2019-02", "2021-11")}
    aircraft = ("AMOUNT", "aircraft", "8 aircraft (eight aircraft)", "10 aircraft (ten aircraft)")
    assert _facts(ch) == (FACTS_2020 - {f for f in FACTS_2020 if f[1] == "aircraft"}) | {aircraft} | {
        ("AMOUNT", "EUR", "2000000 EUR (2 million EUR)", "2500000 EUR (2.5 million EUR)")
    }
    moved = ch[ch.change == "moved"]
    assert list(moved.canonical) == [MOVED]
    # Backwards: what was added is removed, the moved paragraph moves back.
    back = compare_two(t["documents"], t["blocks"], t["entities"], t["facts"], last, first)
    added = {(lab, can) for chg, lab, can in _entity_changes(ch) if chg == "added"}
    assert {(lab, can) for chg, lab, can in _entity_changes(back) if chg == "removed"} == added
    assert [(r.before, r.after) for r in back[back.change == "moved"].itertuples(index=False)] == [
        ("Other areas of cooperation", "A new framework for cooperation")
    ]


def test_compare_two_refuses_unknown_or_mixed_documents(editions):
    t = editions
    nato = _doc_id(t, "1902-factsheet-nato-eu-en.pdf")
    sea = _doc_id(t, "1902-factsheet-operation-sea-guardian-en.pdf")
    with pytest.raises(ValueError, match="not in the documents table"):
        compare_two(t["documents"], t["blocks"], t["entities"], t["facts"], nato, "0" * 64)
    with pytest.raises(ValueError, match="different series"):
        compare_two(t["documents"], t["blocks"], t["entities"], t["facts"], nato, sea)
    with pytest.raises(ValueError, match="same document"):
        compare_two(t["documents"], t["blocks"], t["entities"], t["facts"], nato, nato)


def test_two_runs_give_identical_changes(editions):
    again = compare_editions(editions["documents"], editions["blocks"], editions["entities"], editions["facts"])
    pd.testing.assert_frame_equal(again, editions["changes"])
    assert editions["changes"]["change_id"].is_unique
    # Input order does not matter either.
    shuffled = {n: editions[n].sample(frac=1.0, random_state=7) for n in ("documents", "blocks", "entities", "facts")}
    pd.testing.assert_frame_equal(compare_editions(shuffled["documents"], shuffled["blocks"], shuffled["entities"], shuffled["facts"]), editions["changes"])


# --- the rules, on small hand-made editions -------------------------------------------------


def _tables(*editions: list[tuple]) -> dict[str, pd.DataFrame]:
    """Tables for editions given as lists of ``(kind, section, text, [(label, mention,
    canonical, unit), ...])`` blocks; edition n is ``2000+n``-01."""
    from datetime import date

    from extractors.pipeline import fact_id

    docs, blocks, ents, facts = [], [], [], []
    for n, edition in enumerate(editions):
        doc_id = hashlib.sha256(str(n).encode()).hexdigest()
        docs.append({"doc_id": doc_id, "source": f"{n}.pdf", "series": "s", "title": "S", "edition": f"{2000 + n}-01",
                     "language": "en", "pages": 1, "ingested_at": pd.Timestamp("2024-01-01", tz="UTC"), "pipeline_version": "t"})
        for block_id, (kind, section, text, mentions) in enumerate(edition):
            blocks.append({"doc_id": doc_id, "block_id": block_id, "page": 1, "kind": kind, "section": section, "text": text,
                           "x0": 0.0, "top": 0.0, "x1": 1.0, "bottom": 1.0})
            for label, mention, canonical, unit in mentions:
                start = text.index(mention)
                ents.append({"doc_id": doc_id, "block_id": block_id, "page": 1, "entity_id": "0" * 16, "label": label,
                             "text": mention, "start_char": start, "end_char": start + len(mention), "canonical": canonical,
                             "unit": unit, "value": None})
                if label in ("AMOUNT", "DATE"):
                    # the fact: its sentence as subject, the value shown as "…"
                    sentence = next(x for x in text.split(". ") if mention in x)
                    first, _, last = canonical.partition("/")
                    days = (date.fromisoformat(first[:10]), date.fromisoformat((last or first)[:10])) if label == "DATE" else (None, None)
                    facts.append({"fact_id": fact_id(doc_id, block_id, start), "series": "s", "edition": f"{2000 + n}-01", "doc_id": doc_id,
                                  "block_id": block_id, "page": 1, "entity_id": fact_id(doc_id, block_id, start), "label": label,
                                  "start_char": start, "end_char": start + len(mention), "subject": sentence.replace(mention, "…"),
                                  "measure": unit or "date", "value": float(canonical.split()[0]) if label == "AMOUNT" else None,
                                  "date_start": days[0], "date_end": days[1], "qualifier": None, "mention": mention, "text": sentence})
    return {"documents": frame("documents", docs), "blocks": frame("blocks", blocks), "entities": frame("entities", ents),
            "facts": frame("facts", facts)}


def _compare(*editions: list[tuple]) -> pd.DataFrame:
    t = _tables(*editions)
    return validate("changes", compare_editions(t["documents"], t["blocks"], t["entities"], t["facts"]))


def _kinds(changes: pd.DataFrame) -> list[tuple[str, str]]:
    return sorted(zip(changes.level, changes.change))


FILLER = [
    ("heading", "One", "One", []),
    ("paragraph", "One", "Alpha bravo charlie delta echo foxtrot golf hotel india juliet.", []),
    ("heading", "Two", "Two", []),
    ("paragraph", "Two", "Kilo lima mike november oscar papa quebec romeo sierra tango.", []),
]


def test_identical_editions_give_no_changes():
    assert _compare(FILLER, FILLER).empty


def test_fact_in_a_moved_and_rewritten_block_is_found_by_its_unit_and_words():
    old = FILLER + [("paragraph", "Two", "The fleet consists of eight aircraft which are scheduled for delivery soon.",
                     [("AMOUNT", "eight aircraft", "8 aircraft", "aircraft")])]
    new = FILLER[:2] + [("paragraph", "One", "Plans changed. The fleet consists of ten aircraft which are scheduled for delivery, "
                         "the Allies said in a statement on Tuesday after long talks in the capital.",
                         [("AMOUNT", "ten aircraft", "10 aircraft", "aircraft")])] + FILLER[2:]
    ch = _compare(old, new)
    assert _facts(ch) == {("AMOUNT", "aircraft", "8 aircraft (eight aircraft)", "10 aircraft (ten aircraft)")}
    assert _kinds(ch) == [("block", "added"), ("block", "removed"), ("entity", "changed")]


def test_amount_with_another_unit_or_other_words_is_not_the_same_fact():
    old = FILLER + [("paragraph", "Two", "The fleet consists of eight aircraft.", [("AMOUNT", "eight aircraft", "8 aircraft", "aircraft")])]
    new = FILLER + [("paragraph", "Two", "The fleet consists of eight ships.", [("AMOUNT", "eight ships", "8 ships", "ships")])]
    assert _entity_changes(_compare(old, new)) == {("removed", "AMOUNT", "8 aircraft"), ("added", "AMOUNT", "8 ships")}
    # A date elsewhere, with other words around it, is another fact, not a changed one.
    old = FILLER + [("paragraph", "Two", "Talks began in 2018 in Brussels.", [("DATE", "2018", "2018-01-01/2018-12-31", None)])]
    new = FILLER + [("paragraph", "One", "A summit is planned for 2021 by the members.", [("DATE", "2021", "2021-01-01/2021-12-31", None)])]
    assert _entity_changes(_compare(old, new)) == {("removed", "DATE", "2018-01-01/2018-12-31"), ("added", "DATE", "2021-01-01/2021-12-31")}


def test_same_value_elsewhere_does_not_hide_a_changed_date():
    # "2018" is still in the new edition (another sentence), but the talks moved to 2019.
    old = FILLER + [("paragraph", "Two", "Formal talks began in 2018 in Brussels.", [("DATE", "2018", "2018-01-01/2018-12-31", None)])]
    new = FILLER + [("paragraph", "Two", "Formal talks began in 2019 in Brussels. The 2018 summit agreed on them.",
                     [("DATE", "2019", "2019-01-01/2019-12-31", None), ("DATE", "2018", "2018-01-01/2018-12-31", None)])]
    facts = _facts(_compare(old, new))
    assert facts == {("DATE", "Formal talks began in … in Brussels", "2018-01-01/2018-12-31 (2018)", "2019-01-01/2019-12-31 (2019)")}


def test_entity_names_compare_loosely():
    assert normalise_name("NATO – EU") == normalise_name("NATO-EU") == normalise_name("nato‑eu")
    old = FILLER + [("paragraph", "Two", "NATO – EU cooperation and the EDA.", [("ORG", "NATO – EU", "NATO – EU", None), ("ORG", "EDA", "EDA", None)])]
    new = FILLER + [("paragraph", "Two", "NATO-EU cooperation and the European Defence Agency (EDA).",
                     [("ORG", "NATO-EU", "NATO-EU", None), ("ORG", "EDA", "European Defence Agency", None)])]
    assert _entity_changes(_compare(old, new)) == set()


def test_moved_within_a_section_and_renamed_heading():
    a = ("paragraph", "Two", "First paragraph of section two, long enough to matter here.", [])
    b = ("paragraph", "Two", "Second paragraph of section two, also long enough to count.", [])
    old = FILLER + [a, b]
    new = FILLER + [b, a]
    ch = _compare(old, new)
    assert list(zip(ch.change, ch.before, ch.after)) == [("moved", "Two", "Two")]
    # A renamed heading changes the section of what follows it, which did not move.
    renamed = FILLER[:2] + [("heading", "Two!", "Two!", []), ("paragraph", "Two!", FILLER[3][2], [])]
    ch = _compare(FILLER, renamed)
    assert list(zip(ch.level, ch.change, ch.label)) == [("block", "changed", "heading")]
    # A heading inserted: the paragraph after it is in a new section but did not move.
    inserted = FILLER[:2] + [("heading", "New", "New", [])] + [("paragraph", "New", FILLER[1][2] + "x", [])]
    ch = _compare(FILLER[:2] + [FILLER[1][:2] + (FILLER[1][2] + "x", [])], inserted)
    assert list(zip(ch.level, ch.change)) == [("block", "added")]


def test_captions_do_not_move_and_repeated_blocks_keep_unique_ids():
    cap = ("caption", "One", "A photo caption.", [])
    item = ("list_item", "Two", "Same bullet.", [])
    old = FILLER[:1] + [cap] + FILLER[1:] + [item, item]
    new = FILLER + [cap]
    ch = _compare(old, new)
    assert list(zip(ch.change, ch.before)) == [("removed", "Same bullet."), ("removed", "Same bullet.")]
    assert ch.change_id.is_unique


def test_moved_block_is_not_removed_and_added():
    a = [(0, "paragraph", "first paragraph here"), (1, "paragraph", "second paragraph text"), (2, "heading", "Title")]
    b = [(0, "heading", "Title"), (1, "paragraph", "second paragraph text"), (2, "paragraph", "first paragraph here")]
    pairs, only_a, only_b = align_blocks(a, b)
    assert (only_a, only_b) == ([], [])
    assert sorted((i, j) for i, j, _ in pairs) == [(0, 2), (1, 1), (2, 0)]


def test_stable_pairs_keeps_the_heaviest_common_order():
    # (0,1) (1,2) (2,0): keeping the first two (weight 2) beats keeping the third (weight 1) ...
    assert stable_pairs([(0, 1), (1, 2), (2, 0)], [1, 1, 1]) == {0, 1}
    # ... unless it weighs more, like a heading.
    assert stable_pairs([(0, 1), (1, 2), (2, 0)], [1, 1, 1000]) == {2}
    assert stable_pairs([], []) == set()


def test_word_diff_and_similarity():
    assert word_diff("eight aircraft by 2024", "nine aircraft by 2025") == ("[-eight-] aircraft by [-2024-]", "{+nine+} aircraft by {+2025+}")
    assert similarity("a b c d", "a b c d") == 1.0
    assert similarity("a b c d", "w x y z") == 0.0


@pytest.mark.parametrize(
    ("a", "b", "removed", "added"),
    [
        # Text that looks like the markers is text, not a change (D15).
        ("below [-5 °C] at night", "below [-6 °C] at night", ["[-5"], ["[-6"]),
        ("the {+x+} flag was set", "the {+y+} flag was set", ["{+x+}"], ["{+y+}"]),
        ("a path C:\\new -] end", "a path C:\\old -] end", ["C:\\new"], ["C:\\old"]),
        ("dash- [", "dash- ]", ["["], ["]"]),
        ("items: a-, b+", "items: c-, d+", ["a-,", "b+"], ["c-,", "d+"]),
    ],
)
def test_word_diff_escapes_marker_like_text(a: str, b: str, removed: list[str], added: list[str]):
    before, after = word_diff(a, b)
    assert "".join(t for _, t in diff_segments(before)) == a
    assert "".join(t for _, t in diff_segments(after)) == b
    assert [w for k, t in diff_segments(before) if k == "del" for w in t.split()] == removed
    assert [w for k, t in diff_segments(after) if k == "ins" for w in t.split()] == added
    assert all(k != "ins" for k, _ in diff_segments(before))


def test_diff_segments_reads_plain_markers():
    assert diff_segments("a [-b c-] d {+e+}") == [("", "a "), ("del", "b c"), ("", " d "), ("ins", "e")]
    assert diff_segments(None) == [] and diff_segments("") == []
    assert diff_segments("a [-b") == [("", "a "), ("del", "b")]  # unclosed: its words are kept


@given(st.lists(st.text(alphabet="ab[]{}+-\\ ", min_size=1, max_size=6), min_size=1, max_size=5),
       st.lists(st.text(alphabet="ab[]{}+-\\ ", min_size=1, max_size=6), min_size=1, max_size=5))
def test_word_diff_round_trips(a_words: list[str], b_words: list[str]):
    a, b = " ".join(" ".join(a_words).split()), " ".join(" ".join(b_words).split())
    before, after = word_diff(a, b)
    assert "".join(t for _, t in diff_segments(before)) == a
    assert "".join(t for _, t in diff_segments(after)) == b


def test_adding_an_edition_in_the_middle_compares_only_its_pairs(store):
    """Merging the 2020 edition into a store of 2019 and 2021 gives the same changes as
    comparing all three from scratch."""
    from extractors.pipeline import process_pdf
    from outputs.merge import merge_results

    from .conftest import NATO_EU_2020, SAMPLES, SEA_GUARDIAN

    nov = SAMPLES / "2111-factsheet-nato-eu-en.pdf"
    first = merge_results({}, [process_pdf(p) for p in (SAMPLES / "1902-factsheet-nato-eu-en.pdf", nov, SEA_GUARDIAN)])
    assert set(zip(first["changes"].from_edition, first["changes"].to_edition)) == {("2019-02", "2021-11")}
    merged = merge_results(first, [process_pdf(NATO_EU_2020)])
    scratch = compare_editions(merged["documents"], merged["blocks"], merged["entities"], merged["facts"])
    pd.testing.assert_frame_equal(merged["changes"].reset_index(drop=True), scratch.reset_index(drop=True))


def test_adding_the_newest_edition_keeps_the_earlier_pairs(store):
    from extractors.pipeline import process_pdf
    from outputs.merge import merge_results

    from .conftest import SAMPLES

    nov = SAMPLES / "2111-factsheet-nato-eu-en.pdf"
    merged = merge_results(store, [process_pdf(nov)])
    pairs = set(zip(merged["changes"].from_edition, merged["changes"].to_edition))
    assert pairs == {("2019-02", "2020-06"), ("2020-06", "2021-11")}
    earlier = merged["changes"][merged["changes"].from_edition == "2019-02"].reset_index(drop=True)
    pd.testing.assert_frame_equal(earlier, store["changes"].reset_index(drop=True))
    scratch = compare_editions(merged["documents"], merged["blocks"], merged["entities"], merged["facts"])
    pd.testing.assert_frame_equal(merged["changes"].reset_index(drop=True), scratch.reset_index(drop=True))


REISSUE = SAMPLES.parent / "tests" / "data" / "reissue"
NOTE = "of this factsheet, derived for the throughput benchmark; not an official NATO publication."


def test_two_documents_of_one_edition_each_keep_their_own_changes(store):
    """Two more documents of the June 2020 edition (the sample plus one paragraph, copies 1 and
    5), added one run at a time: the series reads 2019-02 → copy 1 → copy 5 → 2020-06, three
    pairs that two edition labels cannot tell apart. Each row carries its two documents' ids,
    the report gives each pair only its own rows, and the incremental table equals the one
    compared from scratch."""
    from extractors.pipeline import process_pdf
    from outputs.merge import merge_results
    from outputs.report import _editions, _pairs

    one, five = sorted(REISSUE.glob("*.pdf"))
    merged = merge_results(merge_results(store, [process_pdf(one)]), [process_pdf(five)])
    ch = merged["changes"]
    feb, jun = (_doc_id(merged, s) for s in ("1902-factsheet-nato-eu-en.pdf", "2006-factsheet-nato-eu-en.pdf"))
    a, b = _doc_id(merged, one.name), _doc_id(merged, five.name)
    assert ch.groupby(["from_doc_id", "to_doc_id"]).size().to_dict() == {(feb, a): 23, (a, b): 1, (b, jun): 1}
    assert ch[(ch.from_doc_id == a) & (ch.to_doc_id == b)][["from_edition", "to_edition", "change", "level", "before", "after"]].values.tolist() == [
        ["2020-06", "2020-06", "changed", "block", f"Benchmark copy [-1-] {NOTE}", f"Benchmark copy {{+5+}} {NOTE}"]
    ]
    assert ch[(ch.from_doc_id == b) & (ch.to_doc_id == jun)][["change", "before"]].values.tolist() == [["removed", f"Benchmark copy 5 {NOTE}"]]

    eds = _editions(merged["documents"])["nato-eu"]
    pairs = {(p.before.source, p.after.source): p.changes for p in _pairs("nato-eu", eds, ch)}
    assert {k: len(v) for k, v in pairs.items()} == {
        ("1902-factsheet-nato-eu-en.pdf", one.name): 23, (one.name, five.name): 1, (five.name, "2006-factsheet-nato-eu-en.pdf"): 1}
    assert [r.change for r in pairs[(five.name, "2006-factsheet-nato-eu-en.pdf")]] == ["removed"]

    from outputs.report import render_report

    from .test_report import Page

    sections = Page.parse(render_report(merged)).find_all("section", "pair")
    ids = [s.attrs.get("id") for s in sections if s.attrs.get("id")]
    assert len(ids) == len(set(ids)) == 3
    [reissue] = [s for s in sections if s.attrs.get("id") == f"nato-eu--2020-06--2020-06--{b[:12]}"]
    assert reissue.find_all("span", "files")[0].text == f"{one.name} → {five.name}"
    assert [sorted(d.classes) for d in reissue.find_all("div", "block")] == [["block", "changed"]]

    scratch = compare_editions(merged["documents"], merged["blocks"], merged["entities"], merged["facts"])
    pd.testing.assert_frame_equal(ch.reset_index(drop=True), scratch.reset_index(drop=True))


def test_changes_of_a_store_without_document_ids_are_compared_again(store):
    """A store written before changes carried document ids has them null: the next run that
    adds a document compares every pair again, so no row is left without its ids."""
    from extractors.pipeline import process_pdf
    from outputs.merge import merge_results

    old = {**store, "changes": store["changes"].assign(from_doc_id=None, to_doc_id=None)}
    merged = merge_results(old, [process_pdf(NATO_EU_2021)])
    assert merged["changes"]["from_doc_id"].notna().all() and merged["changes"]["to_doc_id"].notna().all()
    scratch = compare_editions(merged["documents"], merged["blocks"], merged["entities"], merged["facts"])
    pd.testing.assert_frame_equal(merged["changes"].reset_index(drop=True), scratch.reset_index(drop=True))
