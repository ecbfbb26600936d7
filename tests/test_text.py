"""Unicode clean-up and line-end hyphenation."""

from __future__ import annotations

import pytest

from extractors.text import SOFT_HYPHEN, Vocabulary, clean_text, clean_word, join_lines, keeps_hyphen


def test_clean_text_expands_ligatures_and_plain_spaces_but_keeps_curly_quotes():
    assert clean_text("ﬁnancial ﬂeet\u00a0NATO’s “joint”") == "financial fleet NATO’s “joint”"
    assert clean_text("organi\u00adsations") == "organisations"


@pytest.mark.parametrize(
    ("left", "right", "keep"),
    [
        ("organi", "sations", False),
        ("coop", "eration", False),
        ("require", "ments", False),
        ("Jean", "Claude", True),
        ("tanker", "transport", True),
        ("rules", "based", True),
        ("Euro", "Atlantic", True),
        ("2019", "2022", True),
        # a name the dictionary does not know, then a word that makes compounds
        ("Wielingen", "class", True),
        ("Brussels", "based", True),
        # the rest of a name cut by hyphenation is not a compound
        ("Stolten", "berg", False),
        # acronyms are not hyphenated inside
        ("NATO", "led", True),
        ("EU", "funded", True),
        # British hyphenated prefixes, though the dictionary has the solid form
        ("non", "combat", True),
        ("non", "discrimination", True),
        ("self", "defence", True),
        # ... but not before the rest of a word
        ("non", "etheless", False),
        ("self", "ish", False),
    ],
)
def test_keeps_hyphen(left, right, keep):
    assert keeps_hyphen(left, right) is keep


def test_document_words_decide_first():
    # "cyber-security" written with a hyphen elsewhere in the document keeps its hyphen,
    vocab = Vocabulary(["cyber-security is a priority"])
    assert keeps_hyphen("cyber", "security", vocab) is True
    # and a word the document uses whole is joined.
    vocab = Vocabulary(["the cybersecurity agency"])
    assert keeps_hyphen("cyber", "security", vocab) is False


def test_join_lines():
    assert join_lines(["the two organi-", "sations and Jean-", "Claude Juncker"]) == "the two organisations and Jean-Claude Juncker"
    assert join_lines(["a  b ", "", " c"]) == "a b c"


def test_hyphenated_compound_across_a_line_end_stays_whole():
    assert join_lines(["the Belgian Wielingen-", "class frigates"]) == "the Belgian Wielingen-class frigates"
    assert join_lines(["all NATO-", "led operations"]) == "all NATO-led operations"
    assert join_lines(["a new non-", "combat mission"]) == "a new non-combat mission"
    # a compound whose parts carry soft hyphens: the soft hyphens go, the real hyphen stays
    assert join_lines(["the Wie\u00adlin\u00adgen-", "class frigates"]) == "the Wielingen-class frigates"
    assert clean_text("Wie\u00adlin\u00adgen-class") == "Wielingen-class"


def test_soft_hyphen_at_a_line_end_joins_the_word_whatever_the_parts():
    # The soft hyphen says the typesetter broke one word: no dictionary or name rule applies.
    assert clean_word("Wielin\u00ad") == "Wielin" + SOFT_HYPHEN
    assert clean_word("deve\u00ad\u2010") == "deve" + SOFT_HYPHEN  # soft hyphen and the hyphen drawn for it
    assert clean_word("capa\u00adbili\u00adties") == "capabilities"
    assert clean_word("NATO-led") == "NATO-led"
    lines = ["the Wielin" + SOFT_HYPHEN, "gen-class frigates and their deve" + SOFT_HYPHEN, "lopment"]
    assert join_lines(lines) == "the Wielingen-class frigates and their development"
    # a soft hyphen left inside a line is invisible: it never reaches the text
    assert join_lines(["a capa" + SOFT_HYPHEN + " b"]) == "a capa b"
    assert SOFT_HYPHEN not in join_lines(["x" + SOFT_HYPHEN])


def test_a_line_ending_in_a_soft_hyphen_does_not_teach_the_vocabulary_a_fragment():
    vocab = Vocabulary(["their deve" + SOFT_HYPHEN, "lopment plans"])
    assert "deve" not in vocab.words
    assert {"their", "lopment", "plans"} <= vocab.words
