"""One PDF in, one ``ExtractedDocument`` out: pages, blocks and metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schemas.records import ExtractedDocument

from .errors import LayoutError
from .layout import LayoutSettings, build_blocks
from .metadata import read_metadata
from .pdf import file_digest, read_pages


def extract_document(
    path: Path | str,
    layout: LayoutSettings | dict[str, Any] | None = None,
    max_pages: int | None = None,
    doc_id: str | None = None,
    ocr: bool = True,
) -> ExtractedDocument:
    path = Path(path)
    doc_id = doc_id or file_digest(path)
    pages, info = read_pages(path, max_pages=max_pages, ocr=ocr)
    blocks = build_blocks(pages, layout)
    if not any(b.kind not in ("header", "footer") for b in blocks):
        raise LayoutError(f"{path.name}: no body text was found on its {len(pages)} page(s).", source=path.name)
    meta = read_metadata(blocks, path.name, info, len(pages))
    return ExtractedDocument(doc_id=doc_id, source=path.name, meta=meta, blocks=blocks)
