"""Comparing editions: every edit listed in samples/README.md is found, nothing else is."""

from __future__ import annotations

import pandas as pd

from outputs.compare import align_blocks, compare_editions, similarity, word_diff


def _entity_changes(changes: pd.DataFrame) -> set[tuple[str, str, str]]:
    ent = changes[changes.level == "entity"]
    return {(r.change, r.label, r.canonical) for r in ent.itertuples(index=False)}


def test_changes_are_between_consecutive_editions_of_one_series(store):
    changes = store["changes"]
    assert set(changes.series) == {"nato-eu-relations"}
    assert set(zip(changes.from_edition, changes.to_edition)) == {("2019-02", "2020-06")}


def test_facts_with_new_values_are_changed_not_added_and_removed(store):
    ch = store["changes"]
    facts = ch[(ch.level == "entity") & (ch.change == "changed")]
    got = {(r.label, r.canonical, r.before, r.after) for r in facts.itertuples(index=False)}
    assert got == {
        ("AMOUNT", "measures", "70 measures (more than seventy measures)", "74 measures (74 measures)"),
        ("AMOUNT", "aircraft", "8 aircraft (eight aircraft)", "9 aircraft (nine aircraft)"),
        ("AMOUNT", "Allies", "5 Allies (five Allies)", "6 Allies (six Allies)"),
        ("DATE", "scheduled for delivery", "2020-01-01/2024-12-31 (between 2020 and 2024)", "2020-01-01/2025-12-31 (between 2020 and 2025)"),
        ("DATE", "other’s exercises in", "2018-09-01/2018-12-31 (late 2018)", "2019-09-01/2019-12-31 (late 2019)"),
    }


def test_entities_added_and_removed_are_exactly_the_edits(store):
    got = _entity_changes(store["changes"])
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


def test_relative_date_with_same_words_is_not_a_change(store):
    # "In the last two years" is in both editions; its range moves with the edition date.
    ch = store["changes"]
    assert not ch["before"].fillna("").str.contains("last two years").any()
    assert not ch["after"].fillna("").str.contains("last two years").any()


def test_block_changes(store):
    ch = store["changes"]
    blocks = ch[ch.level == "block"]
    assert sorted(blocks.change) == ["added", "changed", "changed", "changed", "changed", "removed"]
    added = blocks[blocks.change == "added"].iloc[0]
    assert added.after.startswith("In December 2019, the NATO Secretary General welcomed")
    assert added.canonical == "A new framework for cooperation"
    removed = blocks[blocks.change == "removed"].iloc[0]
    assert removed.before.startswith("In Afghanistan, the NATO-led Resolute Support Mission")
    measures = blocks[blocks.before.fillna("").str.startswith("Currently")].iloc[0]
    assert "[-more than seventy-]" in measures.before and "{+74+}" in measures.after
    assert 0.8 < measures.similarity < 1.0


def test_two_runs_give_identical_changes(store):
    again = compare_editions(store["documents"], store["blocks"], store["entities"])
    pd.testing.assert_frame_equal(again, store["changes"])
    assert store["changes"]["change_id"].is_unique


def test_moved_block_is_not_removed_and_added():
    a = [(0, "paragraph", "first paragraph here"), (1, "paragraph", "second paragraph text"), (2, "heading", "Title")]
    b = [(0, "heading", "Title"), (1, "paragraph", "second paragraph text"), (2, "paragraph", "first paragraph here")]
    pairs, only_a, only_b = align_blocks(a, b)
    assert (only_a, only_b) == ([], [])
    assert sorted((i, j) for i, j, _ in pairs) == [(0, 2), (1, 1), (2, 0)]


def test_word_diff_and_similarity():
    assert word_diff("eight aircraft by 2024", "nine aircraft by 2025") == ("[-eight-] aircraft by [-2024-]", "{+nine+} aircraft by {+2025+}")
    assert similarity("a b c d", "a b c d") == 1.0
    assert similarity("a b c d", "w x y z") == 0.0
