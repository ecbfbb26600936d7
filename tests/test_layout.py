"""Layout extraction on the sample factsheets and the shared corpus: reading order, block kinds,
headers, captions; synthetic pages for the mechanisms (a column that starts with a photo, bullets
drawn as shapes, a bold lead); OCR words.

Hyphenation and text clean-up: Unicode clean-up and line-end hyphenation.
"""

from __future__ import annotations

import difflib
import functools
import json
from pathlib import Path

import pytest

from extractors.layout import LayoutSettings, Vocabulary, join_lines, keeps_hyphen
from extractors.pdf import SOFT_HYPHEN, clean_text, clean_word
from extractors.pipeline import extract_document

from . import eval_extract
from .conftest import NATO_EU_2019, SAMPLE_PDFS, gold_blocks

BODY = ("title", "heading", "paragraph", "list_item")
CAPTION = "Navy officers from NATO Operation Sea Guardian and the EU Operation Sophia work together regularly in the Mediterranean Sea."


def _blocks(extracted, pdf):
    return extracted[pdf.name].blocks


DEV_SET = eval_extract.dev_set()


def test_dev_set_has_three_producers():
    names = [pdf.name for pdf, _ in DEV_SET]
    assert len(names) == 8
    assert sum("chromium" in n for n in names) == 2 and sum("libreoffice" in n for n in names) == 2


@pytest.mark.parametrize(("pdf", "gold"), DEV_SET, ids=lambda v: getattr(v, "name", ""))
def test_blocks_match_gold_exactly(pdf, gold):
    """Every producer's PDF gives exactly the golden blocks: page, kind and text, in order."""
    ours = [(b.page, b.kind, b.text) for b in extract_document(pdf).blocks]
    expected = [(g["page"], g["kind"], g["text"]) for g in json.loads(gold.read_text(encoding="utf-8"))]
    assert ours == expected


@pytest.mark.parametrize(("pdf", "gold"), DEV_SET, ids=lambda v: getattr(v, "name", ""))
def test_eval_targets(pdf, gold):
    score = eval_extract.score(pdf, gold)
    assert score.similarity >= 0.99
    assert (score.margin_leak, score.caption_leak, score.bad_words) == (0, 0, [])
    assert score.captions_found == score.captions_total >= 1
    assert score.meta_ok, score.meta_note


@pytest.mark.parametrize("pdf", SAMPLE_PDFS, ids=lambda p: p.stem)
def test_body_text_similarity_to_gold(extracted, pdf):
    ours = " ".join(b.text for b in _blocks(extracted, pdf) if b.kind in BODY).split()
    gold = " ".join(g["text"] for g in gold_blocks(pdf) if g["kind"] in BODY).split()
    assert difflib.SequenceMatcher(None, gold, ours, autojunk=False).ratio() >= 0.99


def test_caption_is_its_own_block_and_not_in_any_paragraph(extracted):
    blocks = _blocks(extracted, NATO_EU_2019)
    captions = [b for b in blocks if b.kind == "caption"]
    assert [c.text for c in captions] == [CAPTION]
    assert captions[0].page == 2
    for b in blocks:
        if b.kind != "caption":
            assert "Navy officers" not in b.text


def test_running_header_and_footer_are_kept_out_of_body(extracted):
    blocks = _blocks(extracted, NATO_EU_2019)
    for page in (1, 2):
        headers = [b.text for b in blocks if b.page == page and b.kind == "header"]
        assert headers == ["North Atlantic Treaty Organization", "www.nato.int/factsheets", "Factsheet", "February 2019"]
        assert [b.text for b in blocks if b.page == page and b.kind == "footer"] == [str(page)]
    body = " ".join(b.text for b in blocks if b.kind in BODY + ("caption",))
    assert "www.nato.int" not in body
    assert "North Atlantic Treaty Organization" not in body


def test_title_and_headings(extracted):
    blocks = _blocks(extracted, NATO_EU_2019)
    assert [b.text for b in blocks if b.kind == "title"] == ["NATO – EU Relations"]
    assert [b.text for b in blocks if b.kind == "heading"] == [
        "A new framework for cooperation",
        "Results and way forward",
        "Working together in the field",
        "Other areas of cooperation",
    ]


def test_sections_follow_headings(extracted):
    blocks = _blocks(extracted, NATO_EU_2019)
    kfor = next(b for b in blocks if "KFOR" in b.text)
    assert kfor.section == "Working together in the field"
    intro = next(b for b in blocks if b.text.startswith("NATO and the European Union (EU) are essential"))
    assert intro.section is None


def test_list_items_one_block_each_without_bullet(extracted):
    items = [b.text for b in _blocks(extracted, NATO_EU_2019) if b.kind == "list_item"]
    assert len(items) == 8
    assert items[0] == "Measures to bolster resilience to hybrid threats, ranging from disinformation campaigns to crises."
    assert items[2] == (
        "Cooperation on military mobility in order to ensure that NATO forces can cross borders faster and more "
        "easily, when needed."
    )
    assert not any(t[0] in "•\ufffd" for t in items)


def test_paragraph_continued_in_next_column_is_one_block(extracted):
    blocks = _blocks(extracted, NATO_EU_2019)
    para = [b for b in blocks if "took their relationship to a higher level" in b.text]
    assert len(para) == 1
    assert "Jean-Claude Juncker pledged to boost cooperation" in para[0].text
    assert para[0].text.endswith("signed in the margins of the NATO Summit in July 2018.")


def test_line_end_hyphens_removed_only_where_they_split_a_word(extracted):
    text = " ".join(b.text for b in _blocks(extracted, NATO_EU_2019))
    assert "Jean-Claude Juncker" in text
    assert "JeanClaude" not in text
    assert "tanker–transport" in text
    for word in ("organisations", "cooperation", "requirements", "coordinated"):
        assert word in text
    # no fragment of a split word is left behind
    assert not any(w.endswith("-") for w in text.split())


def test_boxes_are_on_the_page(extracted):
    for b in _blocks(extracted, NATO_EU_2019):
        assert 0 <= b.bbox.x0 < b.bbox.x1 <= 595.3
        assert 0 <= b.bbox.top < b.bbox.bottom <= 841.9


# ------------------------------------------------------------------------------ shared corpus

_CORPUS = eval_extract.corpus_set()
_NO_CORPUS = pytest.mark.skip(
    reason=f"the development corpus is not at {eval_extract.CORPUS} (it lives beside the checkout, ../shared/corpus)"
)
CORPUS_CASES = [pytest.param(pdf, gold, exp, id=pdf.name) for pdf, gold, exp in _CORPUS] or [
    pytest.param(None, None, None, marks=_NO_CORPUS, id="no-corpus")
]
PHOTOCOL_CASES = [pytest.param(pdf, gold, id=pdf.name) for pdf, gold, _ in _CORPUS if ".photocol." in pdf.name] or [
    pytest.param(None, None, marks=_NO_CORPUS, id="no-corpus")
]


@functools.cache
def _corpus_doc(pdf: Path):
    return extract_document(pdf)


def _gold(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_corpus_is_complete_when_present():
    if not _CORPUS:
        pytest.skip(f"the development corpus is not at {eval_extract.CORPUS}")
    layouts = {pdf.name.split(".")[-2] for pdf, _, _ in _CORPUS}
    assert len(_CORPUS) == 34
    assert layouts == {"rl2col", "css2col", "photocol", "css3col", "sidebar", "lo2col"}


@pytest.mark.parametrize(("pdf", "gold", "expected"), CORPUS_CASES)
def test_corpus_reading_order_and_leaks(pdf, gold, expected):
    """Every corpus PDF: words and blocks in the gold's order, nothing of the running header or
    footer and no caption in the body, every caption a caption block, title and edition right."""
    s = eval_extract.score(pdf, gold, expected, eval_extract.TARGETS["corpus"], doc=_corpus_doc(pdf))
    assert s.similarity >= 0.98
    assert s.block_order >= 0.98
    assert (s.margin_leak, s.caption_leak, s.bad_words) == (0, 0, [])
    assert s.captions_found == s.captions_total >= 1
    assert s.meta_ok, s.meta_note


@pytest.mark.parametrize(("pdf", "gold", "expected"), CORPUS_CASES)
def test_corpus_blocks_match_gold_exactly(pdf, gold, expected):
    """Kind and text of every block, headers and footers included, in the gold's order."""
    ours = [(b.kind, b.text) for b in _corpus_doc(pdf).blocks]
    assert ours == [(g["kind"], g["text"]) for g in _gold(gold)]


@pytest.mark.parametrize(("pdf", "gold"), PHOTOCOL_CASES)
def test_photocol_caption_is_a_caption_block_where_the_gold_puts_it(pdf, gold):
    """The right column starts with a photo and its caption; the caption is a caption block in
    the right column, under the photo, between the same blocks as in the gold (after a
    paragraph that runs from the left column to below the photo, not inside it)."""
    blocks = [b for b in _corpus_doc(pdf).blocks if b.kind not in ("header", "footer")]
    want = [g for g in _gold(gold) if g["kind"] not in ("header", "footer")]
    gold_captions = [i for i, g in enumerate(want) if g["kind"] == "caption"]
    assert gold_captions
    mid = max(b.bbox.x1 for b in blocks) / 2 + min(b.bbox.x0 for b in blocks) / 2
    for i in gold_captions:
        ours = [j for j, b in enumerate(blocks) if b.text == want[i]["text"]]
        assert len(ours) == 1, want[i]["text"]
        j = ours[0]
        assert blocks[j].kind == "caption"
        assert blocks[j].bbox.x0 > mid  # in the right column
        assert blocks[j - 1].text == want[i - 1]["text"]
        assert (blocks[j + 1].text if j + 1 < len(blocks) else None) == (want[i + 1]["text"] if i + 1 < len(want) else None)
        for b in blocks:
            if b.kind != "caption":
                assert want[i]["text"] not in b.text


# --------------------------------------------------------------------------- synthetic pages


def _row_words(x0: float, x1: float, top: float, label: str, size: float = 9.5, font: str = "Body") -> list:
    """Words ``label`` filling ``x0``..``x1`` on one line (glyphs half the size wide)."""
    from extractors.layout import Word

    width, space = len(label) * size / 2, size / 4
    words, x = [], x0
    while x + width <= x1 + 0.01:
        words.append(Word(label, x, x + width, top, top + size, size, font))
        x += width + space
    return words


def _order(blocks) -> list[str]:
    """Labels in the order the body text gives them, each once."""
    seen: list[str] = []
    for b in blocks:
        if b.kind in BODY:
            for t in b.text.split():
                if t not in seen:
                    seen.append(t)
    return seen


def test_column_that_starts_with_a_photo_keeps_the_text_beside_it_in_that_column():
    """The left column begins with a photo and its caption; the right column's first lines
    stand beside the photo. They are the right column's top, read after the left column."""
    from extractors.layout import PageWords, build_blocks
    from schemas.records import BBox

    words = _row_words(52, 400, 76, "title", size=21, font="Bold")
    for k in range(3):  # full-width lead
        words += _row_words(52, 545, 106 + k * 14, "lead")
    photo = BBox(52, 160, 290, 245)
    words += _row_words(52, 200, 250, "cap", size=8, font="Italic")
    top = 265
    for k in range(10):
        words += _row_words(52, 290, top + k * 12.2, f"left{k:02d}")
    # Beside the photo from its top: the indented rest of a list item, a paragraph gap, then
    # the column's text on beside the left column. Nothing else is beside the photo.
    words += _row_words(319, 545, 163.6, "right00") + _row_words(319, 460, 175.8, "right01")
    for k in range(2, 18):
        words += _row_words(308, 545, 191.2 + (k - 2) * 12.2, f"right{k:02d}")
    blocks = build_blocks([PageWords(1, 595.3, 841.9, words, [photo])])
    order = _order(blocks)
    assert order.index("left09") < order.index("right00")
    assert order == ["title", "lead"] + [f"left{k:02d}" for k in range(10)] + [f"right{k:02d}" for k in range(18)]
    assert [b.text for b in blocks if b.kind == "caption"] == [" ".join(w.text for w in words if w.text == "cap")]


def _two_columns_with_item_at_the_break(right_first_x0: float) -> list:
    """A left column that ends inside a list item with no punctuation, and a right column whose
    first two lines start at ``right_first_x0`` ("Rest"), then paragraphs at the edge (308)."""
    from extractors.layout import PageWords, Word, build_blocks

    words = []
    for k in range(8):
        words += _row_words(52, 290, 100 + k * 12.2, f"para{k}")
    top = 100 + 8 * 12.2 + 8
    words.append(Word("•", 54, 58, top, top + 9.5, 9.5, "Body"))
    words += _row_words(63, 290, top, "Item")
    words += _row_words(63, 290, top + 12.2, "item1") + _row_words(63, 290, top + 24.4, "item2")
    words += _row_words(right_first_x0, 545, 100, "Rest")
    words += _row_words(right_first_x0, 480, 112.2, "rest1")
    for k in range(8):
        words += _row_words(308, 545, 132 + k * 12.2, f"next{k}")
    return build_blocks([PageWords(1, 595.3, 841.9, words)])


def test_list_item_cut_by_a_column_break_runs_on_only_into_an_indented_rest():
    """The rest of a list item in the next column hangs indented like the item's wrapped lines
    and is joined to it even when it starts with a capital; a paragraph that starts at the
    column's edge after an item without punctuation is a new block."""
    joined = [b for b in _two_columns_with_item_at_the_break(319) if b.kind == "list_item"]
    assert len(joined) == 1 and joined[0].text.startswith("Item") and joined[0].text.endswith("rest1")
    apart = _two_columns_with_item_at_the_break(308)
    items = [b for b in apart if b.kind == "list_item"]
    assert len(items) == 1 and items[0].text.endswith("item2")
    assert any(b.kind == "paragraph" and b.text.startswith("Rest") for b in apart)


def test_bullets_drawn_as_shapes_start_list_items():
    from extractors.pdf import Word, _shape_bullets
    from schemas.records import BBox

    line1 = [Word("Cyber", 58, 80, 100, 109, 8.6, "Body"), Word("defence", 83, 110, 100, 109, 8.6, "Body")]
    line2 = [Word("Crisis", 58, 80, 120, 129, 8.6, "Body")]
    mid_line = [Word("A", 58, 62, 140, 149, 8.6, "Body"), Word("B", 72, 76, 140, 149, 8.6, "Body")]
    shapes = [
        BBox(47.2, 103.0, 50.2, 106.0),  # a 3 pt disc before line 1
        BBox(47.2, 123.0, 50.2, 126.0),  # ... and before line 2
        BBox(63.5, 143.0, 66.5, 146.0),  # a dot between two words: not a bullet
        BBox(40.0, 100.0, 52.0, 112.0),  # a 12 pt box: too big for a bullet of 8.6 pt text
    ]
    bullets = _shape_bullets(shapes, line1 + line2 + mid_line)
    assert [(b.text, b.x0, b.top, b.size) for b in bullets] == [("•", 47.2, 100, 8.6), ("•", 47.2, 120, 8.6)]


def test_body_size_is_read_from_regular_text_not_a_longer_bold_lead():
    from extractors.layout import PageWords, body_font_size

    # a short page: the bold lead (12 lines) has more characters than the body (8 half-width lines)
    lead = [w for k in range(12) for w in _row_words(60, 535, 100 + k * 15, "lead", size=11.8, font="Bold")]
    body = [w for k in range(8) for w in _row_words(60, 285, 300 + k * 13, "body", size=10.5)]
    assert sum(len(w.text) for w in lead) > 2 * sum(len(w.text) for w in body)
    assert body_font_size([PageWords(1, 595, 842, lead + body)]) == 10.5
    # a document set all in bold still has a body size
    assert body_font_size([PageWords(1, 595, 842, _row_words(60, 535, 100, "x", size=9, font="Bold"))]) == 9.0


def test_layout_settings_resolve_and_reject_bad_values():
    assert LayoutSettings.resolve(None) == LayoutSettings()
    assert LayoutSettings.resolve({"margin_band": 0.2}).margin_band == 0.2
    with pytest.raises(ValueError, match="unknown layout settings"):
        LayoutSettings.resolve({"margn_band": 0.2})
    with pytest.raises(ValueError, match="margin_band"):
        LayoutSettings(margin_band=0.7)


def _chars(text: str, x: float, top: float = 100.0, size: float = 9.0, width: float = 5.0) -> list[tuple]:
    """One glyph per character, ``width`` apart, as ``_group_words`` takes them."""
    return [(top, x + i * width, x + (i + 1) * width, top + size, c, size, "Body") for i, c in enumerate(text)]


def test_chromium_soft_hyphen_at_a_line_end_is_marked_and_joined():
    """Chromium draws a used soft hyphen as a zero-advance space over the hyphen glyph: the word
    keeps a soft-hyphen mark, and the break is undone without guessing (no dictionary knows
    "Wielin" + "gen")."""
    from extractors.layout import join_lines
    from extractors.pdf import SOFT_HYPHEN, _group_words

    word = _chars("Wielin", 50.0)
    space = (100.0, 80.0, 82.7, 109.0, " ", 9.0, "Body")  # drawn at the hyphen's x, no advance
    hyphen = (100.0, 80.01, 83.1, 109.0, "\u2010", 9.0, "Body")
    words = _group_words(word + [space, hyphen])
    assert [w.text for w in words] == ["Wielin" + SOFT_HYPHEN]
    assert join_lines([words[0].text, "gen-class frigates"]) == "Wielingen-class frigates"
    # A hyphen drawn on its own (no space over it) is a visible hyphen, left to the rules.
    words = _group_words(_chars("Wielingen-", 50.0))
    assert [w.text for w in words] == ["Wielingen-"]
    assert join_lines([words[0].text, "class frigates"]) == "Wielingen-class frigates"


# --------------------------------------------------------------------------------------- OCR

_TSV_HEAD = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"


def _tsv(paragraphs: list[list[tuple[int, int, list[tuple[str, int, int]]]]]) -> str:
    """Tesseract TSV (pixels) from paragraphs of lines ``(top, height, [(text, left, width)])``."""
    out = [_TSV_HEAD]
    for par, lines in enumerate(paragraphs, start=1):
        for ln, (top, height, words) in enumerate(lines, start=1):
            left = words[0][1]
            right = words[-1][1] + words[-1][2]
            out.append(f"4\t1\t1\t{par}\t{ln}\t0\t{left}\t{top}\t{right - left}\t{height}\t-1\t")
            for n, (text, x, width) in enumerate(words, start=1):
                out.append(f"5\t1\t1\t{par}\t{ln}\t{n}\t{x}\t{top + 2}\t{width}\t{height - 4}\t95.0\t{text}")
    return "\n".join(out) + "\n"


def _line(top: int, height: int, text: str, left: int = 300, space: int = 10, char: int = 20) -> tuple[int, int, list[tuple[str, int, int]]]:
    words, x = [], left
    for t in text.split():
        words.append((t, x, char * len(t)))
        x += char * len(t) + space
    return (top, height, words)


def _ocr_blocks(tsv: str) -> list:
    from extractors.layout import PageWords, build_blocks
    from extractors.pdf import _words

    return build_blocks([PageWords(1, 595.0, 842.0, _words(tsv, 300 / 72))])


def test_ocr_paragraph_is_one_block_and_its_line_end_hyphen_is_undone():
    """Lines of one paragraph whose OCR boxes differ in height (no descender on a line) keep
    one size, so the paragraph is one block and "organi-" + "sations" is joined as in a text layer."""
    par = [
        _line(1000, 42, "The two organi-"),
        _line(1050, 34, "sations agreed to work"),  # a lower box: no descender in the line
        _line(1100, 42, "together on mobility, and Jean-"),
        _line(1150, 42, "Claude Juncker pledged support."),
    ]
    blocks = [b for b in _ocr_blocks(_tsv([par])) if b.kind not in ("header", "footer")]
    assert [(b.kind, b.text) for b in blocks] == [
        ("paragraph", "The two organisations agreed to work together on mobility, and Jean-Claude Juncker pledged support.")
    ]


def test_ocr_misread_bullets_are_bullets_not_text():
    body = [_line(900, 42, "NATO and the EU work together in these areas, among others:")]
    items = [
        [_line(1000, 42, "¢ Countering hybrid threats;", left=300)],
        [(1060, 42, [("e", 300, 16), ("Military", 360, 160), ("mobility;", 534, 180)])],  # wide gap after "e"
        [(1120, 42, [("«", 300, 16), ("Cyber", 360, 100), ("defence;", 474, 160)])],
        [_line(1180, 42, "¢Maritime security.", left=300)],  # glued to the item's first word
    ]
    blocks = [b for b in _ocr_blocks(_tsv([body, *items])) if b.kind not in ("header", "footer")]
    assert [(b.kind, b.text) for b in blocks] == [
        ("paragraph", "NATO and the EU work together in these areas, among others:"),
        ("list_item", "Countering hybrid threats;"),
        ("list_item", "Military mobility;"),
        ("list_item", "Cyber defence;"),
        ("list_item", "Maritime security."),
    ]


def test_ocr_lookalike_at_line_start_with_a_word_space_stays_text():
    from extractors.pdf import _words

    # "«" followed by an ordinary word space (10 px, 0.3 of the size) opens a quotation;
    # a word that merely starts with "e" stays a word.
    tsv = _tsv([[(1000, 42, [("«", 300, 16), ("Deterrence", 326, 200), ("matters", 536, 140)])],
                [(1100, 42, [("eNATO", 300, 100), ("text", 414, 80)])]])
    assert [w.text for w in _words(tsv, 300 / 72)] == ["«", "Deterrence", "matters", "eNATO", "text"]


# --- hyphenation and clean-up ------------------------------------------------------------


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
