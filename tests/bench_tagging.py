"""Tagging throughput: the project's ``nlp`` against the full statistical model, on the same text.

``.venv/bin/python -m tests.bench_tagging [--model NAME] [--words N] [--repeat R]``

The text is the body blocks (title, headings, paragraphs, list items, captions) of the sample
factsheets' golden blocks, repeated until it holds about ``--words`` words (default 20,000). Each
pipeline tags it with ``nlp.pipe`` ``--repeat`` times after a warm-up; the best run counts. Printed:
words per second of each and their ratio (project / full model; > 1 means the project's pipeline
is faster).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

GOLD_BLOCKS = Path(__file__).resolve().parent / "data" / "gold" / "blocks"
BODY_KINDS = ("title", "heading", "paragraph", "list_item", "caption")


def bench_texts(words: int = 20_000) -> list[str]:
    """The samples' body blocks, repeated to about ``words`` words."""
    blocks = [
        b["text"]
        for path in sorted(GOLD_BLOCKS.glob("*.json"))
        for b in json.loads(path.read_text(encoding="utf-8"))
        if b["kind"] in BODY_KINDS
    ]
    if not blocks:
        raise ValueError(f"no body blocks under {GOLD_BLOCKS}")
    out: list[str] = []
    count = 0
    while count < words:
        for text in blocks:
            out.append(text)
            count += len(text.split())
            if count >= words:
                break
    return out


def words_per_second(run: Callable[[list[str]], object], texts: list[str], repeat: int = 3) -> float:
    """Best of ``repeat`` timed runs, after one warm-up run."""
    n_words = sum(len(t.split()) for t in texts)
    run(texts[:50])
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        run(texts)
        best = min(best, time.perf_counter() - t0)
    return n_words / best


def bench(model: str, words: int = 20_000, repeat: int = 3) -> dict[str, float]:
    """Words per second of the project's ``nlp`` and of ``spacy.load(model)``, and their ratio."""
    import spacy

    from extractors.tagging import load_nlp

    texts = bench_texts(words)
    project = load_nlp(model)
    full = spacy.load(model)

    def tag_with(nlp: spacy.language.Language) -> Callable[[list[str]], object]:
        return lambda ts: [len(d.ents) for d in nlp.pipe(ts, batch_size=64)]

    # interleave, so that both see the same machine load
    wps_full = words_per_second(tag_with(full), texts, repeat)
    wps_project = words_per_second(tag_with(project), texts, repeat)
    wps_full = max(wps_full, words_per_second(tag_with(full), texts, repeat))
    wps_project = max(wps_project, words_per_second(tag_with(project), texts, repeat))
    return {
        "words": float(sum(len(t.split()) for t in texts)),
        "project_wps": wps_project,
        "full_wps": wps_full,
        "ratio": wps_project / wps_full,
        "project_components": project.pipe_names,  # type: ignore[dict-item]
        "full_components": full.pipe_names,  # type: ignore[dict-item]
    }


def main(argv: list[str] | None = None) -> int:
    from schemas.settings import DEFAULT_MODEL

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--words", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    r = bench(args.model, args.words, args.repeat)
    print(f"text: {int(r['words'])} words (sample body blocks, repeated)")
    print(f"project nlp   {r['project_wps']:>9,.0f} words/s  {r['project_components']}")
    print(f"full {args.model}  {r['full_wps']:>9,.0f} words/s  {r['full_components']}")
    print(f"ratio project/full: {r['ratio']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
