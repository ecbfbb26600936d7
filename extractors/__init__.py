"""Plain functions that turn a factsheet PDF into records: no Prefect, no store.

>>> from extractors import process_pdf
>>> result = process_pdf("samples/1902-factsheet-nato-eu-en.pdf")   # doctest: +SKIP
>>> result.entities.head()                                          # doctest: +SKIP

Names are imported when first used, so ``import extractors`` stays cheap (spaCy loads with
the first call that tags).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: Public name -> the module that defines it.
_EXPORTS = {
    "process_pdf": "pipeline",
    "ProcessedPDF": "pipeline",
    "extract_document": "pipeline",
    "cache_key": "pipeline",
    "pipeline_version": "pipeline",
    "read_metadata": "pipeline",
    "load_nlp": "tagging",
    "tag_blocks": "tagging",
    "tag_document": "tagging",
    "parse_date": "normalise",
    "parse_amount": "normalise",
    "LayoutSettings": "layout",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'extractors' has no attribute {name!r}; its public names are {', '.join(__all__)}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
