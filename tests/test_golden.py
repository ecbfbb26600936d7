"""The samples' tables are exactly the checked-in golden tables (``tests/golden.py``), except the
columns that change with every run or code version: every change of output shows in review."""

from __future__ import annotations

import pandas as pd

from tests import golden


def test_library_gives_the_golden_tables(tmp_path):
    got = golden.build(tmp_path)
    want = golden.load()
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name], obj=name)
    versions = pd.read_parquet(tmp_path / "documents")["pipeline_version"]
    assert versions.nunique() == 1 and versions.iloc[0].startswith("0.2.0+")
