"""Facts followed across editions (``outputs.facts``): pairing survives rewording, different
facts are not paired; on real editions of the corpus, ids are stable and rows join."""

from __future__ import annotations

import pandas as pd
import pytest

from extractors.pipeline import fact_id
from extractors.tagging import tag_blocks_and_facts
from outputs.facts import match_facts, resolve_fact_ids
from schemas.records import BBox, Block
from schemas.tables import frame

from .eval_extract import CORPUS


def _facts(nlp, doc_id: str, *texts: str) -> tuple[pd.DataFrame, dict[int, str]]:
    blocks = [Block(i, 1, "paragraph", t, BBox(0, 0, 1, 1)) for i, t in enumerate(texts)]
    _, facts = tag_blocks_and_facts(blocks, nlp, "2024-01")
    rows = [{**f.__dict__, "doc_id": doc_id, "series": "s", "edition": "2024-01", "fact_id": fact_id(doc_id, f.block_id, f.start_char),
             "entity_id": fact_id(doc_id, f.block_id, f.start_char)} for f in facts]
    return frame("facts", rows), dict(enumerate(texts))


def _pairs(nlp, old: list[str], new: list[str], aligned: set[tuple[int, int]] | None = None) -> set[tuple[str, str]]:
    fa, ta = _facts(nlp, "a" * 64, *old)
    fb, tb = _facts(nlp, "b" * 64, *new)
    matches = match_facts(fa, fb, ta, tb, aligned or set())
    mention_a = {(r.block_id, r.start_char): r.mention for r in fa.itertuples()}
    mention_b = {(r.block_id, r.start_char): r.mention for r in fb.itertuples()}
    return {(mention_a[a], mention_b[b]) for b, a in matches.items()}


def test_a_fact_is_found_when_its_sentence_is_reworded(nlp):
    old = ["The European Commission contributed 2 million EUR to the Building Integrity Trust Fund."]
    new = ["To the Building Integrity Trust Fund, the European Commission has now given a contribution of 2.5 million EUR."]
    assert _pairs(nlp, old, new) == {("2 million EUR", "2.5 million EUR")}


def test_a_fact_is_found_when_its_value_moves_into_brackets_or_a_clause_is_added(nlp):
    old = ["NATO deployed eight aircraft to the Baltic States for air policing."]
    brackets = ["For air policing, NATO deployed aircraft to the Baltic States (ten aircraft in all)."]
    clause = ["NATO, which agreed the mission in 2014 after long talks, deployed nine aircraft to the Baltic States for air policing."]
    assert _pairs(nlp, old, brackets) == {("eight aircraft", "ten aircraft")}
    assert ("eight aircraft", "nine aircraft") in _pairs(nlp, old, clause)


def test_different_facts_that_share_a_unit_are_not_paired(nlp):
    old = ["Operation Sea Guardian has eight ships in the Mediterranean.", "The fleet of tankers will grow by three aircraft next year."]
    new = ["The fleet of tankers will grow by five aircraft next year.", "Operation Ocean Shield had two aircraft off Somalia."]
    amounts = {p for p in _pairs(nlp, old, new) if not p[0].startswith("next")}
    assert amounts == {("three aircraft", "five aircraft")}  # not "eight ships", nor "two aircraft" off Somalia


def test_ids_follow_a_fact_from_edition_to_edition():
    k1, k2, k3 = (0, 10), (1, 4), (2, 0)
    matches = {("a", "b"): {k2: k1}, ("b", "c"): {k3: k2}}
    ids = resolve_fact_ids(["a", "b", "c"], {"a": [k1], "b": [k2, (5, 5)], "c": [k3]}, {}, matches)
    assert ids["a"][k1] == ids["b"][k2] == ids["c"][k3] == fact_id("a", *k1)
    assert ids["b"][(5, 5)] == fact_id("b", 5, 5)  # new in b
    # a pair not compared again keeps the stored ids of its newer edition
    kept = resolve_fact_ids(["a", "b"], {"a": [k1], "b": [k2]}, {"a": {k1: "1" * 16}, "b": {k2: "2" * 16}}, {})
    assert kept == {"a": {k1: "1" * 16}, "b": {k2: "2" * 16}}


# --- real editions of the corpus ------------------------------------------------------------------

needs_corpus = pytest.mark.skipif(not (CORPUS / "pdfs").is_dir(), reason=f"the development corpus is not at {CORPUS}")


@pytest.fixture(scope="module")
def corpus_store(tmp_path_factory):
    from extractors import process_pdf
    from outputs import Store
    from schemas.settings import Settings

    out = tmp_path_factory.mktemp("corpus") / "out"
    settings = Settings(isolate=False)
    pdfs = sorted((CORPUS / "pdfs").glob("*.rl2col.pdf"))
    with Store(out).batch(settings) as batch:
        for pdf in batch.plan(pdfs):
            batch.add(process_pdf(pdf, settings))
        batch.commit()
    store = Store(out)
    return {name: store.read(name) for name in ("documents", "blocks", "facts", "changes")}


@needs_corpus
def test_editions_of_a_series_are_compared_and_a_reworded_fact_keeps_its_id(corpus_store):
    docs, facts, changes = corpus_store["documents"], corpus_store["facts"], corpus_store["changes"]
    pairs = set(zip(changes.series, changes.from_edition, changes.to_edition))
    assert {("nato-ukraine", "2015-05", "2017-04"), ("resolute-support", "2021-02", "2021-04"), ("pfp", "2016-04", "2024-06"),
            ("ndpp", "2017-01", "2022-03"), ("forward-presence", "2022-06", "2023-12")} <= pairs
    # "Around 10,000 personnel ... are deployed" became "As of August 2020, the RSM had around 10,000 personnel ... deployed"
    personnel = facts[(facts.series == "resolute-support") & (facts.mention.str.lower().str.contains("10,000 personnel"))]
    assert len(personnel) == 2 and personnel.fact_id.nunique() == 1
    assert not changes.fact_id.isin(personnel.fact_id).any()  # the same value: no change row
    # "Since 2014" in both Ukraine editions runs to each edition's month: the same fact, unchanged
    since = facts[(facts.series == "nato-ukraine") & (facts.mention == "Since 2014")]
    assert len(since) == 2 and since.fact_id.nunique() == 1 and not changes.fact_id.isin(since.fact_id).any()
    assert docs.groupby("series").size().max() == 2


@needs_corpus
def test_every_change_row_joins_to_blocks_and_fact_rows_carry_their_values(corpus_store):
    blocks, changes, facts = corpus_store["blocks"], corpus_store["changes"], corpus_store["facts"]
    keys = set(zip(blocks.doc_id, blocks.block_id))
    for r in changes.itertuples(index=False):
        if pd.notna(r.from_block_id):
            assert (r.from_doc_id, r.from_block_id) in keys
        if pd.notna(r.to_block_id):
            assert (r.to_doc_id, r.to_block_id) in keys
        assert pd.notna(r.from_block_id) or pd.notna(r.to_block_id)
    fact_rows = changes[changes.label.isin(["AMOUNT", "DATE"])]
    assert len(fact_rows) and fact_rows.fact_id.isin(facts.fact_id).all()
    dated = fact_rows[fact_rows.label == "DATE"]
    assert (dated.date_before.notna() | dated.date_after.notna()).all()
