"""The entity evaluation (``tests/eval_entities.py``, ``make eval``) meets its targets: F1 per
label and exact normalised values on the sample factsheets, F1 on the held-out texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import eval_entities as ev

from .conftest import SAMPLES


@pytest.fixture(scope="module")
def evaluation(extracted, nlp):
    cache = {Path(name).stem: doc for name, doc in extracted.items()}
    pipe = ev.pipeline_system(nlp)
    samples = ev.evaluate([ev.load_gold(n) for n in ev.sample_names()], pipe, cache=cache)
    heldout = {n: ev.evaluate([ev.load_gold(n)], pipe) for n in ev.heldout_names()}
    return samples, heldout


def test_eval_meets_the_targets_on_the_samples(evaluation):
    samples, _ = evaluation
    for row, target in ev.TARGETS.items():
        assert samples.f1(row) >= target, (row, samples.prf(row), samples.errors)
    assert samples.norm_found == samples.norm_total
    assert samples.norm_right == samples.norm_found, samples.errors


def test_eval_meets_the_target_on_held_out_text(evaluation):
    _, heldout = evaluation
    assert set(heldout) == {"heldout", "heldout-2"}
    assert len(ev.independent_names()) == 6  # scored by make eval, never a target to tune on
    for name, scores in heldout.items():
        assert scores.f1("ALL") >= ev.HELDOUT_TARGET, (name, scores.errors)
        assert scores.norm_right == scores.norm_found, (name, scores.errors)


def test_gold_covers_every_sample_pdf():
    assert set(ev.sample_names()) == {p.stem for p in SAMPLES.glob("*.pdf")}


def test_scoring_counts_an_entity_once_per_document():
    gold = ev.GoldDoc("g", None, [ev.Mention("ORG", "EDA", "European Defence Agency"), ev.Mention("ORG", "European Defence Agency", "European Defence Agency")])
    predicted = [ev.Mention("ORG", "EDA", "European Defence Agency"), ev.Mention("ORG", "Navy", "Navy")]
    scores = ev.Scores()
    ev.score_document(gold, predicted, scores)
    assert (scores.tp["ORG"], scores.fp["ORG"], scores.fn["ORG"]) == (1, 1, 0)


def test_normalised_values_are_checked_by_mention_text():
    from datetime import date

    want = {"date_start": date(2018, 9, 1), "date_end": date(2018, 12, 31), "qualifier": "late"}
    gold = ev.GoldDoc("g", None, [ev.Mention("DATE", "In late 2018", "2018-09-01/2018-12-31", want)])
    wrong = [ev.Mention("DATE", "late 2018", "2018-09-01/2018-12-31", {**want, "qualifier": None})]
    scores = ev.Scores()
    ev.score_document(gold, wrong, scores)
    assert (scores.norm_total, scores.norm_found, scores.norm_right) == (1, 1, 0)
