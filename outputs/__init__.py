"""The store of tables and what is made from it: merge a batch, compare editions, write, report.
No Prefect here; a flow or a script calls these."""

from outputs.compare import compare_editions, compare_two
from outputs.merge import Batch, BatchSummary, merge_results
from outputs.report import summary, write_report
from outputs.store import Manifest, Store

__all__ = ["Batch", "BatchSummary", "Manifest", "Store", "compare_editions", "compare_two", "merge_results", "summary", "write_report"]
