"""Render the sample factsheet PDFs, their golden blocks and samples/README.md.

Run from the repository root::

    .venv/bin/python samples/make_samples.py

Writes (byte-identical on every run, the PDFs are rendered with reportlab's invariant mode):

- ``samples/<stem>.pdf`` for each factsheet in :data:`FACTSHEETS`;
- ``tests/data/gold/blocks/<stem>.json``: the blocks of each PDF in reading order, emitted
  from the same content the layout draws (never by re-reading the PDF);
- ``samples/README.md``, including the tables of edits that derive the June 2020 and
  November 2021 editions.

The February 2019 "NATO – EU Relations" factsheet reproduces the text of the real NATO
factsheet word for word. The June 2020 and November 2021 editions and the "Operation Sea
Guardian" sheet are derived samples: their wording is ours, built only from facts of the
February 2019 text (plus the edits listed in :data:`EDITS_2006` and :data:`EDITS_2111`).

The layout is a small, purpose-built engine: text blocks are broken into lines (justified,
hyphenated with pyphen in narrow columns), the lines of a region are poured into one to three
balanced columns, and regions flow down the pages below a running header.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import pyphen
import reportlab
from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfmetrics import registerFont, stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

rl_config.invariant = 1  # fixed dates and document ids: two runs give identical bytes

ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = ROOT / "samples"
GOLD_DIR = ROOT / "tests" / "data" / "gold" / "blocks"

# --------------------------------------------------------------------------------------------
# Content model
# --------------------------------------------------------------------------------------------

BlockKind = Literal["title", "heading", "paragraph", "list_item", "caption"]

LINE_BREAK = "\n"
"""Forced line break inside a block's text. After a hyphen it joins nothing ("Jean-\\nClaude"
reads "Jean-Claude"); anywhere else it reads as a space."""

NBSP = "\u00a0"
"""The seed has two no-break spaces (after "evacuation." and "refuelling."); the PDF keeps
them, the golden blocks collapse them to plain spaces like all whitespace."""


@dataclass(frozen=True)
class TextBlock:
    """One logical block: its kind, its text and the name of the style it is set in."""

    kind: BlockKind
    text: str
    style: str

    @property
    def logical_text(self) -> str:
        """The text as the golden blocks give it: forced breaks joined, whitespace collapsed."""
        text = self.text.replace("-" + LINE_BREAK, "-").replace(LINE_BREAK, " ")
        return " ".join(text.split())


def title(text: str) -> TextBlock:
    return TextBlock("title", text, "title")


def lead(text: str) -> TextBlock:
    return TextBlock("paragraph", text, "lead")


def heading(text: str) -> TextBlock:
    return TextBlock("heading", text, "heading")


def para(text: str) -> TextBlock:
    return TextBlock("paragraph", text, "body")


def item(text: str) -> TextBlock:
    return TextBlock("list_item", text, "list_item")


@dataclass(frozen=True)
class Photo:
    """A photo (drawn as a grey picture) with its caption, inside one column of a region."""

    caption: str
    height: float
    column: int  # index of the column it sits in
    at_top: bool  # top of that column, else bottom


@dataclass(frozen=True)
class Region:
    """A run of blocks set in ``columns`` balanced columns (1 = full width), justified or,
    if ``ragged``, ragged right."""

    columns: int
    blocks: tuple[TextBlock, ...]
    photo: Photo | None = None
    ragged: bool = False


@dataclass(frozen=True)
class Factsheet:
    stem: str
    title: str
    date_label: str
    regions: tuple[Region, ...]
    derived: bool
    summary: str  # one line for the README

    @property
    def blocks(self) -> list[TextBlock]:
        return [block for region in self.regions for block in region.blocks]


# --------------------------------------------------------------------------------------------
# Content: "NATO – EU Relations", February 2019 (the seed, verbatim)
# --------------------------------------------------------------------------------------------

SITE_NAME = "North Atlantic Treaty Organization"
SITE_URL = "www.nato.int/factsheets"
SERIES_LABEL = "Factsheet"

SEA_GUARDIAN_CAPTION = (
    "Navy officers from NATO Operation Sea Guardian and the EU Operation Sophia "
    "work together regularly in the Mediterranean Sea."
)

NATO_EU_2019 = Factsheet(
    stem="1902-factsheet-nato-eu-en",
    title="NATO – EU Relations",
    date_label="February 2019",
    derived=False,
    summary="The NATO factsheet “NATO – EU Relations”, February 2019: every word of the real "
    "factsheet's text, in order, in a layout modelled on NATO's.",
    regions=(
        Region(
            1,
            (
                title("NATO – EU Relations"),
                lead(
                    "NATO and the European Union (EU) are essential partners who share common "
                    "values, strategic interests and a majority of member nations. In the last "
                    "two years, the two organisations have developed closer cooperation, focused "
                    "on concrete results and improved security for European citizens. This "
                    "cooperation ranges from cyber defence and addressing hybrid threats, through "
                    "maritime security to building up the capacities of partners beyond our "
                    "borders."
                ),
            ),
        ),
        Region(
            2,
            (
                heading("A new framework for cooperation"),
                para(
                    "NATO and the EU regularly discuss issues of common interest. The NATO "
                    "Secretary General engages with his EU counterparts and addresses the European "
                    "Council, EU Ministerial meetings and the European Parliament several times a "
                    "year. Meetings also take place between ministers, ambassadors and military "
                    "leaders, as well as at the staff level."
                ),
                para(
                    "NATO and the EU took their relationship to a higher level in July 2016. In a "
                    "Joint Declaration in Warsaw, NATO Secretary General Jens Stoltenberg, the "
                    "President of the European Council Donald Tusk, and the President of the "
                    "European Commission Jean-" + LINE_BREAK + "Claude Juncker pledged to boost "
                    "cooperation between the two organisations. This commitment was renewed with "
                    "another joint declaration on NATO-EU cooperation, signed in the margins of "
                    "the NATO Summit in July 2018."
                ),
                para(
                    "Currently, NATO and the EU are cooperating on more than seventy measures, "
                    "endorsed by NATO and EU ministers."
                ),
            ),
        ),
        Region(
            1,
            (
                para("These include:"),
                item(
                    "Measures to bolster resilience to hybrid threats, ranging from "
                    "disinformation campaigns to crises."
                ),
                item(
                    "Cooperation between NATO’s Operation Sea Guardian and EUNAVFOR Operation "
                    "Sophia."
                ),
                item(
                    "Cooperation on military mobility in order to ensure that NATO forces can "
                    "cross borders faster and more easily, when needed."
                ),
                item(
                    "Cooperation to ensure that our capability development efforts are coherent "
                    "and mutually reinforcing."
                ),
                item(
                    "Exchange of information on cyber threats and the sharing of best practices "
                    "on cyber security."
                ),
                item("Parallel and coordinated exercises."),
                item(
                    "Efforts to support the local capacities of partner countries in the sectors "
                    "of security and defence."
                ),
                item("Promoting the role of women in peace and security."),
                para(
                    "The NATO Secretary General and the EU High Representative regularly report to "
                    "NATO Allies and EU Member States on this cooperation, which has seen "
                    "substantial progress."
                ),
                para(
                    "At the 2018 Brussels Summit, Allied leaders welcomed the new joint "
                    "declaration and the tangible results of NATO-EU cooperation. They recognised "
                    "that the development of coherent, complementary and interoperable defence "
                    "capabilities is key to the joint efforts to make the Euro-Atlantic area "
                    "safer. Such efforts will strengthen NATO, help enhance common security, "
                    "contribute to transatlantic burden sharing, help deliver needed "
                    "capabilities, and support an overall increase in defence spending."
                ),
                heading("Results and way forward"),
                para(
                    "NATO and the EU are working together to promote good governance in the "
                    "defence and security sector of partner countries. In December 2018, the "
                    "European Commission agreed to contribute 2 million EUR to the NATO Building "
                    "Integrity Trust Fund for 2019-2022."
                ),
                para(
                    "NATO works closely with the European Defence Agency (EDA) and five Allies on "
                    "the procurement of a European multinational fleet of multirole "
                    "tanker–transport (MRTT) aircraft. The fleet consists of eight aircraft which "
                    "are scheduled for delivery between 2020 and 2024. The planes can be "
                    "configured for air-to-air refuelling, the transport of passengers and cargo, "
                    "as well as medical evacuation." + NBSP + "This project will substantially "
                    "increase European capacity in air-to-air refuelling." + NBSP + "It is an "
                    "example of effective cooperation between NATO and the EU in the delivery of "
                    "critical capabilities."
                ),
            ),
        ),
        Region(
            2,
            (
                para(
                    "On cyber defence, NATO and EU cyber incident response teams are regularly "
                    "exchanging policy updates and best practices. They coordinated successfully "
                    "during the WannaCry and NotPetya attacks."
                ),
                para(
                    "On military mobility, NATO staff has contributed to the EU’s work on the "
                    "military infrastructure requirements. Against that background, the "
                    "Secretary General shared with the President of the European Council and the "
                    "President of the European Commission NATO’s generic transport infrastructure "
                    "parameters. Continued close cooperation will help to ensure synergies in "
                    "this area."
                ),
                para(
                    "The two organisations are putting in place concrete measures to increase "
                    "their situational awareness, which will contribute to their response to "
                    "hybrid threats. Both NATO and the EU benefit from and contribute to the new "
                    "European Centre on Hybrid Threats in Finland."
                ),
            ),
            photo=Photo(SEA_GUARDIAN_CAPTION, height=145.0, column=1, at_top=True),
        ),
        Region(
            1,
            (
                para(
                    "NATO and the EU are also increasingly involved in each other’s exercises. In "
                    "late 2018, they conducted parallel crisis management exercises with related "
                    "scenarios. Furthermore, the NATO Secretary General attended CYBRID, an EU "
                    "hybrid exercise in Estonia, while EU representatives took part in NATO’s "
                    "annual exercises such as CMX and Cyber Coalition. Parallel and coordinated "
                    "exercises help NATO and the EU to improve their knowledge of each other’s "
                    "working methods and are improving their ability to coordinate."
                ),
                heading("Working together in the field"),
                para("NATO and the EU have long cooperated on crisis management and operations."),
                para(
                    "In Kosovo, the NATO peacekeeping force KFOR works closely in the field with "
                    "the EU’s Rule of Law Mission in Kosovo (EULEX)."
                ),
                para(
                    "In Afghanistan, the NATO-led Resolute Support Mission and its predecessor, "
                    "the International Security Assistance Force (ISAF), have cooperated with the "
                    "EU’s Rule of Law Mission (EUPOL)."
                ),
                para(
                    "NATO’s training and capacity-building in Iraq, implemented through the NATO "
                    "Mission Iraq, is undertaken in close cooperation with the EU’s stabilisation "
                    "support in the country, ensuring complementarity of effort."
                ),
                para(
                    "NATO and EU naval forces work together in response to the refugee and migrant "
                    "crisis in the Mediterranean. NATO has deployed a maritime force to the Aegean "
                    "Sea to conduct reconnaissance, monitoring and surveillance of illegal "
                    "crossings, supporting Turkish and Greek authorities and the EU. In the "
                    "Central Mediterranean, NATO’s Operation Sea Guardian supports EU Operation "
                    "Sophia with information and logistics."
                ),
                para(
                    "The EU’s Operation EUFOR Althea in Bosnia and Herzegovina has long been "
                    "commanded by the NATO Deputy Supreme Allied Commander Europe and located at "
                    "SHAPE (NATO’s Supreme Headquarters Allied Powers Europe)."
                ),
                heading("Other areas of cooperation"),
                para(
                    "NATO and the EU hold regular political consultations on security issues in "
                    "Europe and its neighbourhood. Since the start of the crisis in Ukraine, both "
                    "organisations have worked to make sure that their actions complement each "
                    "other, especially with regard to Russia. Consultations have also covered the "
                    "Western Balkans, Libya and the Middle East."
                ),
            ),
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# Content: "NATO – EU Relations", June 2020 (DERIVED from the seed by the edits below)
# --------------------------------------------------------------------------------------------

EditKind = Literal[
    "amount changed",
    "date changed",
    "paragraph added",
    "sentence added",
    "paragraph removed",
    "paragraph moved",
    "new organisation",
    "new person",
]


@dataclass(frozen=True)
class Edit:
    """One change from an edition's text to the text of the edition derived from it.

    ``before`` is replaced by ``after`` in the one block that contains it. A paragraph added
    has ``before == ""`` and goes right after the block that starts with ``anchor``; a
    paragraph removed has ``after == ""`` and ``before`` is its whole text. A paragraph moved
    (kind ``"paragraph moved"``) has ``before == after ==`` its whole text and goes, unchanged,
    right after the block that starts with ``anchor``; ``section`` reads "old → new".
    """

    number: int
    section: str
    kinds: tuple[EditKind, ...]
    before: str
    after: str
    anchor: str = ""


EDITS_2006: tuple[Edit, ...] = (
    Edit(
        1,
        "A new framework for cooperation",
        ("amount changed",),
        "Currently, NATO and the EU are cooperating on more than seventy measures",
        "Currently, NATO and the EU are cooperating on 74 measures",
    ),
    Edit(
        2,
        "Results and way forward",
        ("amount changed", "date changed"),
        "The fleet consists of eight aircraft which are scheduled for delivery between "
        "2020 and 2024.",
        "The fleet consists of nine aircraft which are scheduled for delivery between "
        "2020 and 2025.",
    ),
    Edit(
        3,
        "Results and way forward",
        ("amount changed",),
        "NATO works closely with the European Defence Agency (EDA) and five Allies",
        "NATO works closely with the European Defence Agency (EDA) and six Allies",
    ),
    Edit(
        4,
        "Results and way forward",
        ("date changed",),
        "In late 2018, they conducted parallel crisis management exercises",
        "In late 2019, they conducted parallel crisis management exercises",
    ),
    Edit(
        5,
        "A new framework for cooperation",
        ("paragraph added", "new person"),
        "",
        "In December 2019, the NATO Secretary General welcomed the new President of the "
        "European Commission, Ursula von der Leyen, and the new President of the European "
        "Council, Charles Michel, to NATO Headquarters in Brussels.",
        anchor="NATO and the EU took their relationship to a higher level in July 2016.",
    ),
    Edit(
        6,
        "Results and way forward",
        ("sentence added", "new organisation"),
        "are regularly exchanging policy updates and best practices.",
        "are regularly exchanging policy updates and best practices. A Technical Arrangement "
        "between the NATO Computer Incident Response Capability (NCIRC) and the Computer "
        "Emergency Response Team for the EU institutions (CERT-EU) facilitates this exchange.",
    ),
    Edit(
        7,
        "Working together in the field",
        ("paragraph removed",),
        "In Afghanistan, the NATO-led Resolute Support Mission and its predecessor, the "
        "International Security Assistance Force (ISAF), have cooperated with the EU’s Rule of "
        "Law Mission (EUPOL).",
        "",
    ),
)


def _find_block(regions: tuple[Region, ...], edit: Edit, what: str, hit) -> tuple[int, int]:
    hits = [
        (r, b)
        for r, region in enumerate(regions)
        for b, block in enumerate(region.blocks)
        if hit(block)
    ]
    if len(hits) != 1:
        raise ValueError(f"edit {edit.number}: {what} matches {len(hits)} blocks, expected 1")
    return hits[0]


def _with_blocks(regions: tuple[Region, ...], r: int, blocks: Sequence[TextBlock]) -> tuple[Region, ...]:
    return regions[:r] + (replace(regions[r], blocks=tuple(blocks)),) + regions[r + 1 :]


def move_paragraph(regions: tuple[Region, ...], edit: Edit) -> tuple[Region, ...]:
    """Take the block whose text is ``edit.before`` out and put it after ``edit.anchor``."""
    if edit.before != edit.after or not edit.anchor:
        raise ValueError(f"edit {edit.number} moves a paragraph: before == after, and an anchor")
    r, b = _find_block(regions, edit, "the moved paragraph", lambda block: block.text == edit.before)
    moving = regions[r].blocks[b]
    regions = _with_blocks(regions, r, regions[r].blocks[:b] + regions[r].blocks[b + 1 :])
    r, b = _find_block(regions, edit, "the anchor", lambda block: block.text.startswith(edit.anchor))
    blocks = list(regions[r].blocks)
    blocks.insert(b + 1, moving)
    return _with_blocks(regions, r, blocks)


def apply_edit(regions: tuple[Region, ...], edit: Edit) -> tuple[Region, ...]:
    """Return ``regions`` with one edit applied; fails unless the edit matches exactly once."""
    if "paragraph moved" in edit.kinds:
        return move_paragraph(regions, edit)
    hits = [
        (r, b)
        for r, region in enumerate(regions)
        for b, block in enumerate(region.blocks)
        if (edit.anchor and block.text.startswith(edit.anchor))
        or (edit.before and edit.before in block.text)
    ]
    if len(hits) != 1:
        raise ValueError(f"edit {edit.number} matches {len(hits)} blocks, expected 1")
    r, b = hits[0]
    blocks = list(regions[r].blocks)
    if not edit.before:
        blocks.insert(b + 1, para(edit.after))
    elif not edit.after:
        if blocks[b].text != edit.before:
            raise ValueError(f"edit {edit.number} removes part of a block, not a whole one")
        del blocks[b]
    else:
        blocks[b] = replace(blocks[b], text=blocks[b].text.replace(edit.before, edit.after))
    new_region = replace(regions[r], blocks=tuple(blocks))
    return regions[:r] + (new_region,) + regions[r + 1 :]


def derive_edition(
    base: Factsheet, edits: Sequence[Edit], stem: str, date_label: str, summary: str
) -> Factsheet:
    regions = base.regions
    for edit in edits:
        regions = apply_edit(regions, edit)
    return replace(
        base, stem=stem, date_label=date_label, regions=regions, derived=True, summary=summary
    )


NATO_EU_2020 = derive_edition(
    NATO_EU_2019,
    EDITS_2006,
    stem="2006-factsheet-nato-eu-en",
    date_label="June 2020",
    summary="DERIVED, not a real NATO text: a fictitious June 2020 edition of “NATO – EU "
    "Relations”, the February 2019 text with exactly the edits listed below, re-laid out.",
)

# --------------------------------------------------------------------------------------------
# Content: "Operation Sea Guardian", February 2019 (DERIVED: our wording, the seed's facts)
# --------------------------------------------------------------------------------------------

SEA_GUARDIAN_2019 = Factsheet(
    stem="1902-factsheet-operation-sea-guardian-en",
    title="Operation Sea Guardian",
    date_label="February 2019",
    derived=True,
    summary="DERIVED, not a real NATO text: a one-page sheet in another series and layout "
    "(three columns), worded by us from facts stated in the February 2019 “NATO – EU "
    "Relations” text only.",
    regions=(
        Region(
            1,
            (
                title("Operation Sea Guardian"),
                lead(
                    "Operation Sea Guardian is a NATO operation in the Central Mediterranean. It "
                    "supports the European Union’s Operation Sophia with information and "
                    "logistics, as part of the closer cooperation that NATO and the European "
                    "Union (EU) have developed, focused on concrete results and improved security "
                    "for European citizens."
                ),
            ),
        ),
        Region(
            3,
            (
                heading("Working with the EU at sea"),
                para(
                    "NATO and EU naval forces work together in response to the refugee and "
                    "migrant crisis in the Mediterranean. In the Central Mediterranean, NATO’s "
                    "Operation Sea Guardian supports EUNAVFOR Operation Sophia with information "
                    "and logistics. Navy officers from the two operations work together "
                    "regularly in the Mediterranean Sea."
                ),
                para(
                    "Cooperation between Operation Sea Guardian and Operation Sophia is one of "
                    "more than seventy measures on which NATO and the EU are cooperating, "
                    "endorsed by NATO and EU ministers. The NATO Secretary General and the EU "
                    "High Representative regularly report to NATO Allies and EU Member States on "
                    "this cooperation."
                ),
                heading("At a glance"),
                item("A NATO operation in the Central Mediterranean."),
                item("Supports EU Operation Sophia with information and logistics."),
                item("Navy officers of both operations work together regularly."),
                item("Part of NATO–EU cooperation on crisis management and operations."),
                heading("The wider picture"),
                para(
                    "NATO has also deployed a maritime force to the Aegean Sea to conduct "
                    "reconnaissance, monitoring and surveillance of illegal crossings, supporting "
                    "Turkish and Greek authorities and the EU."
                ),
                para(
                    "NATO and the EU have long cooperated on crisis management and operations, "
                    "in Kosovo and in Bosnia and Herzegovina as well as at sea. Parallel and "
                    "coordinated exercises help NATO and the EU to improve their knowledge of "
                    "each other’s working methods."
                ),
                para(
                    "At the 2018 Brussels Summit, Allied leaders welcomed the new joint "
                    "declaration and the tangible results of NATO-EU cooperation."
                ),
            ),
            photo=Photo(SEA_GUARDIAN_CAPTION, height=110.0, column=2, at_top=True),
            ragged=True,
        ),
        Region(
            1,
            (
                heading("NATO and the European Union"),
                para(
                    "NATO and the EU are essential partners who share common values, strategic "
                    "interests and a majority of member nations. In a Joint Declaration in Warsaw "
                    "in July 2016, NATO Secretary General Jens Stoltenberg, the President of the "
                    "European Council Donald Tusk, and the President of the European Commission "
                    "Jean-Claude Juncker pledged to boost cooperation between the two "
                    "organisations. This commitment was renewed with another joint declaration, "
                    "signed in the margins of the NATO Summit in July 2018."
                ),
            ),
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# Content: "NATO – EU Relations", November 2021 (DERIVED from the June 2020 edition)
# --------------------------------------------------------------------------------------------

EDITS_2111: tuple[Edit, ...] = (
    Edit(
        1,
        "A new framework for cooperation → Other areas of cooperation",
        ("paragraph moved",),
        "The NATO Secretary General and the EU High Representative regularly report to NATO "
        "Allies and EU Member States on this cooperation, which has seen substantial progress.",
        "The NATO Secretary General and the EU High Representative regularly report to NATO "
        "Allies and EU Member States on this cooperation, which has seen substantial progress.",
        anchor="NATO and the EU hold regular political consultations",
    ),
    Edit(
        2,
        "Results and way forward",
        ("amount changed",),
        "The fleet consists of nine aircraft",
        "The fleet consists of ten aircraft",
    ),
    Edit(
        3,
        "Results and way forward",
        ("amount changed",),
        "the European Commission agreed to contribute 2 million EUR",
        "the European Commission agreed to contribute 2.5 million EUR",
    ),
)

NATO_EU_2021 = derive_edition(
    NATO_EU_2020,
    EDITS_2111,
    stem="2111-factsheet-nato-eu-en",
    date_label="November 2021",
    summary="DERIVED, not a real NATO text: a fictitious November 2021 edition of “NATO – EU "
    "Relations”, the June 2020 text with exactly the edits listed below (a paragraph moved to "
    "another section, two amounts changed), re-laid out.",
)

FACTSHEETS: tuple[Factsheet, ...] = (NATO_EU_2019, NATO_EU_2020, NATO_EU_2021, SEA_GUARDIAN_2019)
NATO_EU_EDITIONS: tuple[Factsheet, ...] = (NATO_EU_2019, NATO_EU_2020, NATO_EU_2021)

# --------------------------------------------------------------------------------------------
# House style
# --------------------------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = float(A4[0]), float(A4[1])  # 595.27 x 841.89 pt
MARGIN_LEFT = 44.0
MARGIN_RIGHT = 44.0
CONTENT_WIDTH = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
CONTENT_TOP = 86.0  # distance from the top of the page to the first body line
CONTENT_BOTTOM = PAGE_HEIGHT - 58.0  # body lines end above this
GUTTER = 22.0
REGION_GAP = 6.0

NATO_BLUE = HexColor("#004990")
TEXT_COLOUR = HexColor("#231F20")
WHITE = Color(1, 1, 1)


@dataclass(frozen=True)
class Style:
    font: str
    size: float
    leading: float
    space_before: float
    space_after: float
    justify: bool
    hyphenate: bool = False  # only worth it (and only done) in narrow columns
    indent: float = 0.0  # hanging indent of list items
    colour: Color = TEXT_COLOUR


STYLES: dict[str, Style] = {
    "title": Style("Helvetica-Bold", 24, 30, 0, 12, False, colour=NATO_BLUE),
    "lead": Style("Helvetica-Bold", 10, 13, 0, 10, True),
    "heading": Style("Helvetica-Bold", 11, 14, 10, 4, False, colour=NATO_BLUE),
    "body": Style("Helvetica", 9.5, 12, 0, 6, True, hyphenate=True),
    "list_item": Style("Helvetica", 9.5, 12, 0, 3, True, hyphenate=True, indent=12),
    "caption": Style("Helvetica-Oblique", 8, 10, 0, 0, False),
}
HEADER_STYLE = Style("Helvetica", 8, 10, 0, 0, False)
BAND_STYLE = Style("Helvetica-Bold", 8, 10, 0, 0, False, colour=WHITE)
BULLET = "•"
BULLET_FONT = "Vera"  # reportlab's own Bitstream Vera: embedded with a ToUnicode map, so the
# bullet extracts as "•" (Helvetica's WinAnsi code for it does not map back in pdfminer)
registerFont(TTFont(BULLET_FONT, str(Path(reportlab.__file__).parent / "fonts" / "Vera.ttf")))
PHOTO_CAPTION_GAP = 4.0
PHOTO_GAP = 8.0  # between the photo's caption and the text of its column
HYPHENATE_BELOW = 300.0  # columns narrower than this (pt) get pyphen hyphenation
LINE_PENALTY = 10.0  # line-breaking costs, after TeX's \linepenalty, \hyphenpenalty
HYPHEN_PENALTY = 50.0  # and \doublehyphendemerits (here squared like the others)
CONSECUTIVE_HYPHENS_PENALTY = 100.0
MANUAL_BREAK_DEMERITS = (LINE_PENALTY + 300.0) ** 2  # a short line before a manual break
RAGGED_ZONE = 0.25  # ragged styles: a line may leave this part of the measure at low cost

HYPHENATOR = pyphen.Pyphen(lang="en_GB", left=2, right=3)

# --------------------------------------------------------------------------------------------
# Line breaking
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    text: str
    style: Style
    width: float  # measure available to the line (column width minus indent)
    justify: bool
    bullet: bool = False  # draw the bullet in the indent (first line of a list item)
    split_word: str = ""  # the word split by hyphenation at this line's end, if any

    @property
    def natural_width(self) -> float:
        return float(stringWidth(self.text, self.style.font, self.style.size))


@dataclass(frozen=True)
class Piece:
    """A word, or a part of one between two hyphenation points."""

    text: str
    word_end: bool  # a space follows; otherwise a hyphenation point ("-" if broken here)
    word: str  # the whole word it belongs to


_SPLITTABLE = re.compile(r"([A-Za-z]?[a-z]{6,})([.,;:]?)")


def pieces_of(segment: str, hyphenate_words: bool) -> list[Piece]:
    """The segment's words, cut at pyphen's hyphenation points if ``hyphenate_words``.
    The last word of a segment, numbers, acronyms and compounds are never cut."""
    words = segment.split(" ")
    pieces: list[Piece] = []
    for n, word in enumerate(words):
        match = _SPLITTABLE.fullmatch(word)
        if not hyphenate_words or match is None or n == len(words) - 1:
            pieces.append(Piece(word, True, word))
            continue
        core, punctuation = match.groups()
        cuts = [0, *HYPHENATOR.positions(core), len(core)]
        parts = [core[i:j] for i, j in itertools.pairwise(cuts)]
        parts[-1] += punctuation
        pieces.extend(Piece(part, k == len(parts) - 1, word) for k, part in enumerate(parts))
    return pieces


def set_line(pieces: Sequence[Piece]) -> str:
    text = "".join(p.text + (" " if p.word_end else "") for p in pieces[:-1])
    return text + pieces[-1].text + ("" if pieces[-1].word_end else "-")


LineEnd = Literal["flow", "paragraph", "manual"]


def line_cost(text: str, style: Style, measure: float, end: LineEnd) -> tuple[float, bool] | None:
    """TeX-like demerits of a line, and whether it is set justified; None if it cannot be
    set (too wide even with its spaces shrunk by a third).

    A justified line costs more the more its spaces stretch (half a space is cheap) or
    shrink, with the cube of it. A paragraph's last line is free. A line ending in a manual
    break is justified if that is cheap, else set ragged at a fixed cost. Lines of a ragged
    style cost more the more room they leave.
    """
    width = stringWidth(text, style.font, style.size)
    space = stringWidth(" ", style.font, style.size)
    spaces = text.count(" ")
    slack = measure - width
    if slack < -0.01 and not (style.justify and spaces and end != "paragraph"):
        return None
    if end == "paragraph":
        return 0.0, False
    if not style.justify:
        return (LINE_PENALTY + 100 * (slack / (RAGGED_ZONE * measure)) ** 3) ** 2, False
    if spaces == 0:
        return (LINE_PENALTY**2, True) if slack < 0.03 * measure else (1e10, False)
    ratio = slack / (spaces * (space / 2 if slack >= 0 else space / 3))
    if ratio < -1:
        return None
    justified = (LINE_PENALTY + 100 * abs(ratio) ** 3) ** 2
    if end == "manual" and ratio > 1:
        return min(justified, MANUAL_BREAK_DEMERITS), justified <= MANUAL_BREAK_DEMERITS
    return justified, True


def break_segment(
    pieces: Sequence[Piece], style: Style, measure: float, last: LineEnd
) -> list[tuple[str, str, bool]]:
    """Total-fit line breaking (Knuth & Plass, simplified): the breaks that minimise the sum
    of line demerits, plus a penalty per hyphenated line and a larger one for two in a row.
    ``last`` says how the segment's last line ends. Returns each line's text, the word it
    splits at its end (or ""), and whether it is justified."""
    n = len(pieces)
    # best[(end, hyphenated)] = (total demerits, start of the last line, hyphenated before)
    best: dict[tuple[int, bool], tuple[float, int, bool]] = {(0, False): (0.0, 0, False)}
    for end in range(1, n + 1):
        hyphen = not pieces[end - 1].word_end
        for start in range(end - 1, -1, -1):
            text = set_line(pieces[start:end])
            costed = line_cost(text, style, measure, last if end == n else "flow")
            if costed is None and end - start > 1:
                break  # and longer lines would not fit either
            cost = 1e12 if costed is None else costed[0]  # a piece wider than the measure
            if hyphen:
                cost += HYPHEN_PENALTY**2
            for before in (False, True):
                if (start, before) not in best:
                    continue
                total = best[(start, before)][0] + cost
                if hyphen and before:
                    total += CONSECUTIVE_HYPHENS_PENALTY**2
                key = (end, hyphen)
                if key not in best or total < best[key][0]:
                    best[key] = (total, start, before)
    key = min(((n, h) for h in (False, True) if (n, h) in best), key=lambda k: best[k][0])
    lines: list[tuple[str, str, bool]] = []
    while key[0] > 0:
        _, start, before = best[key]
        text = set_line(pieces[start : key[0]])
        costed = line_cost(text, style, measure, last if key[0] == n else "flow")
        last_piece = pieces[key[0] - 1]
        split_word = "" if last_piece.word_end else last_piece.word
        lines.append((text, split_word, costed is not None and costed[1]))
        key = (start, before)
    return lines[::-1]


def break_lines(
    text: str, style: Style, width: float, *, hyphenate_words: bool, bullet: bool = False
) -> list[Line]:
    """Break a block into lines: justified (if the style is) but for the last one.

    A forced break (:data:`LINE_BREAK`) ends a line there, like a typesetter's manual
    break: justified if it is nearly full, else ragged; the breaks before it are chosen to
    make it full.
    """
    measure = width - style.indent
    lines: list[Line] = []
    segments = text.split(LINE_BREAK)
    for s, segment in enumerate(segments):
        last: LineEnd = "paragraph" if s == len(segments) - 1 else "manual"
        pieces = pieces_of(segment, hyphenate_words)
        for line_text, split_word, justify in break_segment(pieces, style, measure, last):
            first = not lines
            lines.append(Line(line_text, style, measure, justify, bullet and first, split_word))
    return lines


# --------------------------------------------------------------------------------------------
# Flowing lines into columns and pages
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One step of a region's vertical stream: a line of a block, or blank space."""

    height: float
    block: int  # index of the block in the factsheet
    line: Line | None
    keep_with_next: bool  # no column or page break right after this slot


@dataclass(frozen=True)
class PlacedLine:
    page: int
    x: float
    top: float
    line: Line
    block: int  # index of the block in the factsheet; -1 for a caption line


@dataclass(frozen=True)
class PlacedPhoto:
    page: int
    x: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class GoldBlock:
    page: int
    kind: str
    text: str

    def as_json(self) -> dict[str, object]:
        return {"page": self.page, "kind": self.kind, "text": self.text}


@dataclass
class Layout:
    """Everything drawn in the body of the pages, and the body blocks in reading order."""

    lines: list[PlacedLine] = field(default_factory=list)
    photos: list[PlacedPhoto] = field(default_factory=list)
    reading_order: list[GoldBlock] = field(default_factory=list)
    pages: int = 1
    started: set[int] = field(default_factory=set)  # blocks whose first line is placed

    def new_page(self) -> float:
        """Start a page; returns the top of its body."""
        self.pages += 1
        return CONTENT_TOP

    def place_line(self, x: float, top: float, slot: Slot, block: TextBlock) -> None:
        """Place a line; a block enters the reading order with its first line (a paragraph
        continued in the next column or on the next page stays one block, on its first page).
        """
        assert slot.line is not None
        if slot.block not in self.started:
            self.started.add(slot.block)
            self.reading_order.append(GoldBlock(self.pages, block.kind, block.logical_text))
        self.lines.append(PlacedLine(self.pages, x, top, slot.line, slot.block))

    def place_photo(
        self, photo: Photo, caption: Sequence[Line], x: float, top: float, width: float
    ) -> None:
        self.photos.append(PlacedPhoto(self.pages, x, top, width, photo.height))
        self.reading_order.append(GoldBlock(self.pages, "caption", " ".join(photo.caption.split())))
        y = top + photo.height + PHOTO_CAPTION_GAP
        for line in caption:
            self.lines.append(PlacedLine(self.pages, x, y, line, -1))
            y += line.style.leading


def block_slots(region: Region, first_index: int, column_width: float) -> list[Slot]:
    """The stream of a region: each block's lines, with the space between blocks."""
    slots: list[Slot] = []
    previous: Style | None = None
    narrow = column_width < HYPHENATE_BELOW
    for offset, block in enumerate(region.blocks):
        style = STYLES[block.style]
        if region.ragged:
            style = replace(style, justify=False)
        if previous is not None:
            gap = max(previous.space_after, style.space_before)
            slots.append(Slot(gap, first_index + offset, None, slots[-1].keep_with_next))
        lines = break_lines(
            block.text,
            style,
            column_width,
            hyphenate_words=style.hyphenate and narrow,
            bullet=block.kind == "list_item",
        )
        last = len(lines) - 1
        for n, line in enumerate(lines):
            if block.kind in ("title", "heading"):
                keep = True
            elif block.kind == "list_item":
                keep = n < last
            else:  # no orphan (first line alone) and no widow (last line alone)
                keep = n < last and (n == 0 or n == last - 1)
            slots.append(Slot(style.leading, first_index + offset, line, keep))
        previous = style
    return slots


def fill_columns(slots: Sequence[Slot], start: int, capacities: Sequence[float]) -> list[range]:
    """Pour ``slots[start:]`` into columns of the given heights; returns each column's slots.

    Breaks only where ``keep_with_next`` allows, unless a column could take nothing at all.
    """
    columns: list[range] = []
    i = start
    for capacity in capacities:
        while i < len(slots) and slots[i].line is None:  # no blank space at a column top
            i += 1
        j, used, last_break = i, 0.0, i
        while j < len(slots) and used + slots[j].height <= capacity + 0.01:
            used += slots[j].height
            j += 1
            if j == len(slots) or not slots[j - 1].keep_with_next:
                last_break = j
        end = last_break if last_break > i else j
        columns.append(range(i, end))
        i = end
    return columns


def balanced_height(
    slots: Sequence[Slot], start: int, reserved: Sequence[float], limit: float
) -> float | None:
    """The least column height (in 1 pt steps) that takes all of ``slots[start:]`` when
    column ``c`` loses ``reserved[c]`` to a photo; None if more than ``limit`` is needed."""
    total = sum(slot.height for slot in slots[start:]) + sum(reserved)
    height = max(max(reserved), total / len(reserved))
    while height <= limit + 0.01:
        columns = fill_columns(slots, start, [height - r for r in reserved])
        if columns[-1].stop == len(slots):
            return height
        height += 1.0
    return None


def caption_lines(photo: Photo, width: float) -> tuple[list[Line], float]:
    """The caption's lines, and the height taken by photo, caption and the gap to the text."""
    style = STYLES["caption"]
    lines = break_lines(photo.caption, style, width, hyphenate_words=False)
    return lines, photo.height + PHOTO_CAPTION_GAP + len(lines) * style.leading + PHOTO_GAP


def lay_out(sheet: Factsheet) -> Layout:
    """Flow the regions down the pages.

    A region's columns are balanced; a region that does not fit what is left of a page fills
    it and continues, balanced, on the next page. A region with a photo is not split if it
    can be helped: it starts on a new page instead. The photo goes with the region's first
    part.
    """
    layout = Layout()
    blocks = sheet.blocks
    top = CONTENT_TOP
    gap = 0.0  # space owed between the previous region and the next; 0 at a page top
    first_block = 0
    for region in sheet.regions:
        n = region.columns
        width = (CONTENT_WIDTH - (n - 1) * GUTTER) / n
        slots = block_slots(region, first_block, width)
        first_block += len(region.blocks)
        photo = region.photo
        caption: list[Line] = []
        reserved = [0.0] * n  # height each column gives to the photo
        if photo is not None:
            caption, reserved[photo.column] = caption_lines(photo, width)
        if gap:
            gap = max(gap, STYLES[region.blocks[0].style].space_before)
        i = 0
        while i < len(slots):
            space_left = CONTENT_BOTTOM - top - gap
            height = balanced_height(slots, i, reserved, space_left) if n > 1 else None
            if height is None and photo is not None and top > CONTENT_TOP:
                top, gap = layout.new_page(), 0.0
                continue
            height = space_left if height is None else height
            columns = fill_columns(slots, i, [height - r for r in reserved])
            if not any(columns):
                top, gap = layout.new_page(), 0.0
                continue
            top += gap
            depth = 0.0
            for c, column in enumerate(columns):
                x = MARGIN_LEFT + c * (width + GUTTER)
                y = top
                with_photo = photo is not None and c == photo.column
                if photo is not None and with_photo and photo.at_top:
                    layout.place_photo(photo, caption, x, y, width)
                    y += reserved[c]
                for k in column:
                    if slots[k].line is not None:
                        layout.place_line(x, y, slots[k], blocks[slots[k].block])
                    y += slots[k].height
                if photo is not None and with_photo and not photo.at_top:
                    y = top + height
                    layout.place_photo(photo, caption, x, y - reserved[c] + PHOTO_GAP, width)
                depth = max(depth, y - top)
            photo, reserved = None, [0.0] * n
            i = columns[-1].stop
            top += depth
            gap = max(REGION_GAP, STYLES[region.blocks[-1].style].space_after)
            if i < len(slots):
                top, gap = layout.new_page(), 0.0
    return layout


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------


def baseline(top: float, style: Style) -> float:
    """PDF y of the baseline of a line whose slot starts ``top`` points below the page top."""
    return PAGE_HEIGHT - (top + (style.leading + style.size * 0.72) / 2)


def draw_line(canvas: Canvas, placed: PlacedLine) -> None:
    line, style = placed.line, placed.line.style
    canvas.setFont(style.font, style.size)
    canvas.setFillColor(style.colour)
    y = baseline(placed.top, style)
    x = placed.x + style.indent
    if line.bullet:
        canvas.setFont(BULLET_FONT, style.size)
        canvas.drawString(placed.x + 1, y, BULLET)
        canvas.setFont(style.font, style.size)
    spaces = line.text.count(" ")
    if line.justify and spaces:
        stretch = (line.width - line.natural_width) / spaces
        canvas.drawString(x, y, line.text, wordSpace=stretch)
    else:
        canvas.drawString(x, y, line.text)


def draw_photo(canvas: Canvas, photo: PlacedPhoto) -> None:
    """A stand-in photograph: grey sky and sea, two warships' silhouettes."""
    x, w, h = photo.x, photo.width, photo.height
    y = PAGE_HEIGHT - photo.top - h
    canvas.saveState()
    frame = canvas.beginPath()
    frame.rect(x, y, w, h)
    canvas.clipPath(frame, stroke=0, fill=0)
    canvas.setFillColor(Color(0.80, 0.82, 0.84))
    canvas.rect(x, y, w, h, stroke=0, fill=1)
    canvas.setFillColor(Color(0.88, 0.89, 0.90))
    canvas.rect(x, y + h * 0.36, w, h * 0.18, stroke=0, fill=1)
    canvas.setFillColor(Color(0.95, 0.95, 0.93))
    canvas.circle(x + w * 0.82, y + h * 0.78, h * 0.08, stroke=0, fill=1)
    canvas.setFillColor(Color(0.50, 0.55, 0.60))
    canvas.rect(x, y, w, h * 0.38, stroke=0, fill=1)
    canvas.setStrokeColor(Color(0.62, 0.66, 0.70))
    canvas.setLineWidth(0.6)
    for k in range(1, 7):
        wy = y + h * 0.38 * k / 7
        canvas.line(x + (k * 37) % (w * 0.5), wy, x + (k * 37) % (w * 0.5) + w * 0.3, wy)
    draw_ship(canvas, x + w * 0.12, y + h * 0.36, w * 0.55, Color(0.28, 0.30, 0.33))
    draw_ship(canvas, x + w * 0.70, y + h * 0.40, w * 0.22, Color(0.45, 0.48, 0.52))
    canvas.restoreState()
    canvas.setStrokeColor(Color(0.6, 0.6, 0.6))
    canvas.setLineWidth(0.5)
    canvas.rect(x, y, w, h, stroke=1, fill=0)


def draw_ship(canvas: Canvas, x: float, waterline: float, length: float, colour: Color) -> None:
    unit = length / 20
    canvas.setFillColor(colour)
    hull = canvas.beginPath()
    hull.moveTo(x, waterline + 2.2 * unit)
    hull.lineTo(x + length, waterline + 2.6 * unit)
    hull.lineTo(x + length * 0.93, waterline)
    hull.lineTo(x + length * 0.06, waterline)
    hull.close()
    canvas.drawPath(hull, stroke=0, fill=1)
    canvas.rect(x + 5 * unit, waterline + 2.2 * unit, 8 * unit, 2.2 * unit, stroke=0, fill=1)
    canvas.rect(x + 7 * unit, waterline + 4.4 * unit, 4 * unit, 1.8 * unit, stroke=0, fill=1)
    canvas.setStrokeColor(colour)
    canvas.setLineWidth(max(0.5, unit * 0.3))
    canvas.line(x + 9 * unit, waterline + 6.2 * unit, x + 9 * unit, waterline + 10 * unit)
    canvas.line(x + 7.5 * unit, waterline + 8.5 * unit, x + 10.5 * unit, waterline + 8.5 * unit)


def running_header(sheet: Factsheet) -> list[str]:
    """The header lines, in the order the golden blocks give them."""
    return [SITE_NAME, SITE_URL, SERIES_LABEL, sheet.date_label]


def draw_header_and_footer(canvas: Canvas, sheet: Factsheet, page: int) -> None:
    site, url, series, date_label = running_header(sheet)
    right = PAGE_WIDTH - MARGIN_RIGHT
    draw_emblem(canvas, MARGIN_LEFT + 5, PAGE_HEIGHT - 33, 5)
    canvas.setFont(HEADER_STYLE.font, HEADER_STYLE.size)
    canvas.setFillColor(NATO_BLUE)
    canvas.drawString(MARGIN_LEFT + 14, PAGE_HEIGHT - 36, site)
    canvas.drawRightString(right, PAGE_HEIGHT - 36, url)
    canvas.setFillColor(NATO_BLUE)
    canvas.rect(MARGIN_LEFT, PAGE_HEIGHT - 62, CONTENT_WIDTH, 16, stroke=0, fill=1)
    canvas.setFont(BAND_STYLE.font, BAND_STYLE.size)
    canvas.setFillColor(BAND_STYLE.colour)
    canvas.drawString(MARGIN_LEFT + 6, PAGE_HEIGHT - 57, series)
    canvas.drawRightString(right - 6, PAGE_HEIGHT - 57, date_label)
    canvas.setFont(HEADER_STYLE.font, HEADER_STYLE.size)
    canvas.setFillColor(TEXT_COLOUR)
    canvas.drawCentredString(PAGE_WIDTH / 2, 30, footer_text(page))
    canvas.setStrokeColor(NATO_BLUE)
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN_LEFT, 44, PAGE_WIDTH - MARGIN_RIGHT, 44)


def footer_text(page: int) -> str:
    return str(page)


def draw_emblem(canvas: Canvas, cx: float, cy: float, r: float) -> None:
    """A four-pointed star in a circle, after the NATO emblem."""
    canvas.setFillColor(NATO_BLUE)
    canvas.circle(cx, cy, r, stroke=0, fill=1)
    canvas.setFillColor(WHITE)
    star = canvas.beginPath()
    points = [(0, 1), (0.2, 0.2), (1, 0), (0.2, -0.2), (0, -1), (-0.2, -0.2), (-1, 0), (-0.2, 0.2)]
    star.moveTo(cx + points[0][0] * r * 0.9, cy + points[0][1] * r * 0.9)
    for px, py in points[1:]:
        star.lineTo(cx + px * r * 0.9, cy + py * r * 0.9)
    star.close()
    canvas.drawPath(star, stroke=0, fill=1)


def render(sheet: Factsheet, layout: Layout, path: Path) -> None:
    canvas = Canvas(str(path), pagesize=A4, invariant=1)
    canvas.setTitle(sheet.title)
    canvas.setAuthor("NATO")
    canvas.setSubject("Factsheet")
    canvas.setCreator("factsheets samples/make_samples.py")
    if sheet.derived:
        canvas.setKeywords("derived sample; not an official NATO publication")
    for page in range(1, layout.pages + 1):
        draw_header_and_footer(canvas, sheet, page)
        for photo in layout.photos:
            if photo.page == page:
                draw_photo(canvas, photo)
        for placed in layout.lines:
            if placed.page == page:
                draw_line(canvas, placed)
        canvas.showPage()
    canvas.save()


# --------------------------------------------------------------------------------------------
# Golden blocks and README
# --------------------------------------------------------------------------------------------


def golden_blocks(sheet: Factsheet, layout: Layout) -> list[GoldBlock]:
    """Per page: the running header lines, the body blocks that start there, the footer."""
    gold: list[GoldBlock] = []
    for page in range(1, layout.pages + 1):
        gold.extend(GoldBlock(page, "header", text) for text in running_header(sheet))
        gold.extend(block for block in layout.reading_order if block.page == page)
        gold.append(GoldBlock(page, "footer", footer_text(page)))
    return gold


@dataclass(frozen=True)
class LineEndHyphen:
    """A hyphen at the end of a rendered line: a split word's, or a word's own hyphen."""

    page: int
    head: str  # the line's last word as printed ("organisa-")
    word: str  # the whole word ("organisations", "Jean-Claude")
    split: bool  # True: the hyphen only splits the word; False: it belongs to the word
    across: str  # "" within a column, else "column break" or "page break"


def line_end_hyphens(sheet: Factsheet, layout: Layout) -> list[LineEndHyphen]:
    blocks = sheet.blocks
    found = []
    for n, placed in enumerate(layout.lines):
        head = placed.line.text.rsplit(" ", 1)[-1]
        if not head.endswith("-") or placed.block < 0:
            continue
        following = next(later for later in layout.lines[n + 1 :] if later.block == placed.block)
        across = ""
        if following.page != placed.page:
            across = "page break"
        elif following.x != placed.x:
            across = "column break"
        if placed.line.split_word:
            word = placed.line.split_word.rstrip(".,;:")
            found.append(LineEndHyphen(placed.page, head, word, True, across))
        else:
            tail = following.line.text.split(" ", 1)[0]
            whole = next(w for w in blocks[placed.block].logical_text.split() if w.startswith(head))
            word = whole if whole.startswith(head + tail.rstrip(".,;:")) else head + tail
            found.append(LineEndHyphen(placed.page, head, word.rstrip(".,;:"), False, across))
    return found


def check_seed_layout(sheet: Factsheet, layout: Layout) -> None:
    """The seed's PDF must show what the extractor is tested on: at least four words split
    at a line end, and "Jean-" ending a line."""
    hyphens = line_end_hyphens(sheet, layout)
    splits = [h for h in hyphens if h.split]
    if len(splits) < 4 or not any(h.head == "Jean-" and not h.split for h in hyphens):
        raise SystemExit(f"{sheet.stem}: want >= 4 split words and 'Jean-' at a line end")


def photo_places(sheet: Factsheet, layout: Layout) -> list[str]:
    """Where each photo landed, in words, for the README."""
    regions = [region for region in sheet.regions if region.photo is not None]
    places = []
    for region, placed in zip(regions, layout.photos, strict=True):
        assert region.photo is not None
        k, n = region.photo.column, region.columns
        column = f"the {('left', 'right')[k]} column" if n == 2 else f"column {k + 1} of {n}"
        edge = "top" if region.photo.at_top else "bottom"
        size = f"{placed.width:.0f} x {placed.height:.0f} pt"
        places.append(f"`{sheet.stem}.pdf`: page {placed.page}, {edge} of {column}, {size}")
    return places


def readme(results: Sequence[tuple[Factsheet, Layout]]) -> str:
    out: list[str] = [
        "# Sample factsheets",
        "",
        "Generated by `make_samples.py`; do not edit by hand. From the repository root:",
        "",
        "```",
        ".venv/bin/python samples/make_samples.py",
        "```",
        "",
        "It renders the four PDFs with reportlab in invariant mode (two runs give",
        "byte-identical files), writes their golden blocks to",
        "`tests/data/gold/blocks/<stem>.json` from the same content it lays out (it never",
        "re-reads the PDFs), and rewrites this README.",
        "",
        "| File | Pages | What it is |",
        "|---|---|---|",
    ]
    for sheet, layout in results:
        out.append(f"| `{sheet.stem}.pdf` | {layout.pages} | {sheet.summary} |")
    out += [
        "",
        "**Only `1902-factsheet-nato-eu-en.pdf` carries real NATO text**: the seed",
        "`nato-eu-relations-2019-02.txt` (NATO factsheet “NATO – EU Relations”, February",
        "2019), every word in the seed's order, its two no-break spaces included. Only the",
        "photo caption moves: the seed has it last, the PDF has it beside the text it",
        "illustrates.",
        "",
        "**`2006-factsheet-nato-eu-en.pdf`, `2111-factsheet-nato-eu-en.pdf` and",
        "`1902-factsheet-operation-sea-guardian-en.pdf` are derived samples, not NATO",
        "publications.** The June 2020 edition is fictitious: the February 2019 text with the",
        "made-up edits listed below, to exercise edition-to-edition comparison; it is not NATO's",
        "real 2020 text. The November 2021 edition is fictitious too: the June 2020 text with",
        "its own made-up edits listed below (a paragraph moved to another section, two amounts",
        "changed); it is not NATO's real 2021 text. The Sea Guardian sheet is our own wording,",
        "built only from facts that the February 2019 text states. The PDF metadata of all",
        "three carries the keyword “derived sample; not an official NATO publication”.",
        "",
        "## Layout",
        "",
        "All four share a house style modelled on NATO factsheets: A4 (595 x 842 pt); on every",
        "page a running header in 8 pt (“North Atlantic Treaty Organization” left,",
        "“www.nato.int/factsheets” right, then a blue band with “Factsheet” left and the",
        "edition's month right) and the page number centred in the footer; a 24 pt bold title",
        "on page 1 only; a bold lead paragraph; 11 pt bold section headings; 9.5 pt Helvetica",
        "body text on a 12 pt leading, justified; a “•” bullet list with a hanging indent;",
        "standard PDF fonts (Helvetica family; the bullet glyph in reportlab's own Bitstream",
        "Vera so that it extracts as “•”). PDF metadata: Title (the factsheet's title), Author",
        "“NATO”, Subject “Factsheet”.",
        "",
        "- NATO – EU Relations (all three editions): regions follow the seed's line lengths, full",
        f"  width or two columns (gutter {GUTTER:.0f} pt). Two-column: “A new framework for",
        "  cooperation” (heading at the top of the left column) and the cyber defence /",
        "  military mobility / hybrid threats paragraphs. The photo (a drawn grey stand-in) and",
        "  its 8 pt italic caption sit in the right column of that second region, beside the",
        "  left column's text, so a naive extraction interleaves caption lines with body lines;",
        "  the text of the right column continues below the caption. Reading order: left",
        "  column, then the caption, then the rest of the right column.",
        *(
            f"  - {place}"
            for sheet, layout in results
            if sheet in NATO_EU_EDITIONS
            for place in photo_places(sheet, layout)
        ),
        "- Operation Sea Guardian: full-width lead, a three-column region set ragged right",
        "  (bullet list in the middle column, photo and caption at the top of the third",
        "  column), then a full-width closing section.",
        *(
            f"  - {place}"
            for sheet, layout in results
            if sheet is SEA_GUARDIAN_2019
            for place in photo_places(sheet, layout)
        ),
        "- Narrow columns are hyphenated with pyphen (`en_GB`) by a total-fit line breaker.",
        "  “Jean-Claude” is forced to break after its own hyphen (“Jean-” / “Claude Juncker”),",
        "  as in the seed; that manual break leaves its line ragged.",
        "",
        "Hyphens at line ends in this build (split: the hyphen only splits the word and is not",
        "in the golden text; real: the hyphen is the word's own and is kept):",
        "",
        "| File | Page | Line ends with | Word | Hyphen | Across |",
        "|---|---|---|---|---|---|",
    ]
    for sheet, layout in results:
        for h in line_end_hyphens(sheet, layout):
            kind = "split" if h.split else "real"
            out.append(
                f"| `{sheet.stem}.pdf` | {h.page} | {h.head} | {h.word} | {kind} "
                f"| {h.across or '—'} |"
            )
    out += [
        "",
        "## Golden blocks",
        "",
        "`tests/data/gold/blocks/<stem>.json` lists each PDF's blocks in reading order (in a",
        "multi-column region: each column top to bottom, left to right; a photo's caption",
        'where it stands in its column) as `{"page", "kind", "text"}`, `kind` one of',
        "title, heading, paragraph, list_item, caption, header, footer. The text is logical:",
        "hyphens that only split a word at a line end are removed, real hyphens kept",
        "(“Jean-Claude”); a paragraph continued in the next column or on the next page is one",
        "block, on the page where it starts; list items come without the bullet; whitespace",
        "(no-break spaces included) is collapsed to single spaces. Each page starts with four",
        "header blocks (“North Atlantic Treaty Organization”, “www.nato.int/factsheets”,",
        "“Factsheet”, the edition's month) and ends with a footer block (the page number).",
        "",
        "## Edits of the June 2020 edition (derived)",
        "",
        "`2006-factsheet-nato-eu-en.pdf` is `1902-factsheet-nato-eu-en.pdf` with exactly these",
        "edits and no others (header date “June 2020”); the text is then laid out again.",
        "",
        "| # | Section | Before | After | Kind |",
        "|---|---|---|---|---|",
    ]
    out += edit_rows(EDITS_2006)
    out += [
        "",
        "## Edits of the November 2021 edition (derived)",
        "",
        "`2111-factsheet-nato-eu-en.pdf` is `2006-factsheet-nato-eu-en.pdf` with exactly these",
        "edits and no others (header date “November 2021”); the text is then laid out again.",
        "A moved paragraph keeps its text word for word; a comparison reports it as moved, not",
        "as removed and added.",
        "",
        "| # | Section | Before | After | Kind |",
        "|---|---|---|---|---|",
    ]
    out += edit_rows(EDITS_2111)
    out.append("")
    return "\n".join(out)


def edit_rows(edits: Sequence[Edit]) -> list[str]:
    """The README table rows of a derived edition's edits."""
    rows = []
    for edit in edits:
        if "paragraph moved" in edit.kinds:
            before = f"“{edit.before}”"
            after = f"— (the same text, moved after “{edit.anchor} …”)"
        else:
            before = f"“{edit.before}”" if edit.before else f"— (new paragraph after “{edit.anchor} …”)"
            after = f"“{edit.after}”" if edit.after else "— (paragraph removed)"
        kinds = ", ".join(edit.kinds)
        rows.append(f"| {edit.number} | {edit.section} | {before} | {after} | {kinds} |")
    return rows


def main() -> None:
    GOLD_DIR.mkdir(parents=True, exist_ok=True)
    results: list[tuple[Factsheet, Layout]] = []
    for sheet in FACTSHEETS:
        layout = lay_out(sheet)
        if sheet is NATO_EU_2019:
            check_seed_layout(sheet, layout)
        render(sheet, layout, SAMPLES_DIR / f"{sheet.stem}.pdf")
        gold = [block.as_json() for block in golden_blocks(sheet, layout)]
        (GOLD_DIR / f"{sheet.stem}.json").write_text(
            json.dumps(gold, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        results.append((sheet, layout))
        print(f"{sheet.stem}.pdf: {layout.pages} pages, {len(gold)} golden blocks")
    (SAMPLES_DIR / "README.md").write_text(readme(results), encoding="utf-8")


if __name__ == "__main__":
    main()
