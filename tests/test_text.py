"""Unicode clean-up and line-end hyphenation."""

from __future__ import annotations

import pytest

from extractors.text import Vocabulary, clean_text, join_lines, keeps_hyphen


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
