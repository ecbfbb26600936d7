"""Where the PDFs come from: files and folders (:func:`discover`), and URLs: PDF links, or
index pages that link to PDFs (:func:`fetch_sources`).

Only ``http`` and ``https``; every response is checked (status, content type, size cap,
``%PDF`` magic) before it is kept; file names are sanitised; a download is stored once, by
the sha256 of its bytes, under ``download_dir``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import httpx

from schemas.errors import Failure, FetchError, UsageError
from schemas.settings import Settings

PDF_TYPES = ("application/pdf", "application/x-pdf", "application/octet-stream", "binary/octet-stream")
HTML_TYPES = ("text/html", "application/xhtml+xml")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """PDF files named directly or found (recursively, ``*.pdf``, any case) under folders, each
    once. A path that does not exist is a :class:`UsageError`."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.extend(
                sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() == ".pdf" and not f.name.startswith("."))
            )
        elif p.is_file():
            found.append(p)
        else:
            raise UsageError(f"{raw}: no such file or folder; pass PDF files or folders that hold them.")
    unique: dict[Path, None] = {}
    for f in found:
        unique.setdefault(f.resolve(), None)
    return list(unique)


def safe_name(url: str) -> str:
    """A file name from the URL's last path segment that is safe on any file system."""
    segment = unquote(urlparse(url).path.rsplit("/", 1)[-1]) or "download"
    name = _SAFE.sub("-", segment).strip(".-") or "download"
    stem = name[:-4] if name.lower().endswith(".pdf") else name
    return f"{stem[:100]}.pdf"


def _check_url(url: str) -> None:
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FetchError(f"{url!r} is not an http(s) URL; only http:// and https:// sources are fetched.")


def _get(client: httpx.Client, url: str, kinds: tuple[str, ...], cap: int) -> bytes:
    _check_url(url)
    try:
        with client.stream("GET", url) as resp:
            if resp.status_code != 200:
                raise FetchError(f"{url} answered HTTP {resp.status_code}; check the URL.")
            ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype not in kinds:
                raise FetchError(f"{url} is {ctype or 'of no content type'}, not one of {', '.join(kinds)}.")
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise FetchError(f"{url} is {int(declared) // 1_000_000} MB, over the cap of {cap // 1_000_000} MB (FACTSHEETS_MAX_DOWNLOAD_MB).")
            body = bytearray()
            for chunk in resp.iter_bytes():
                body += chunk
                if len(body) > cap:
                    raise FetchError(f"{url} is larger than the cap of {cap // 1_000_000} MB (FACTSHEETS_MAX_DOWNLOAD_MB).")
            return bytes(body)
    except httpx.TimeoutException as exc:
        raise FetchError(f"{url} did not answer within the timeout ({type(exc).__name__}).") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"{url} could not be fetched: {type(exc).__name__}: {exc}") from exc


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            for k, v in attrs:
                if k == "href" and v:
                    self.hrefs.append(v)


def pdf_links(html: str, base_url: str) -> list[str]:
    """Absolute http(s) links to ``*.pdf`` on an index page, in page order, once each."""
    parser = _Links()
    parser.feed(html)
    out: list[str] = []
    for href in parser.hrefs:
        url = urljoin(base_url, href)
        if urlparse(url).scheme in ("http", "https") and urlparse(url).path.lower().endswith(".pdf") and url not in out:
            out.append(url)
    return out


def store_download(data: bytes, url: str, download_dir: Path) -> Path:
    """Keep the bytes once, named by their sha256; the same content fetched again is not
    stored again."""
    if b"%PDF-" not in data[:1024]:
        raise FetchError(f"{url} does not start like a PDF (no %PDF header); it is not kept.")
    digest = hashlib.sha256(data).hexdigest()
    download_dir.mkdir(parents=True, exist_ok=True)
    existing = sorted(download_dir.glob(f"{digest[:16]}-*.pdf"))
    if existing:
        return existing[0]
    path = download_dir / f"{digest[:16]}-{safe_name(url)}"
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def fetch_sources(
    urls: list[str], index_urls: list[str], download_dir: Path, settings: Settings
) -> tuple[list[Path], list[Failure]]:
    """Download PDFs named directly or linked from index pages. Returns the local files and
    one failure row per URL that did not give a PDF."""
    cap = settings.max_download_mb * 1_000_000
    files: list[Path] = []
    failures: list[Failure] = []
    todo = list(urls)
    with httpx.Client(timeout=settings.fetch_timeout_s, follow_redirects=True, max_redirects=5,
                      headers={"User-Agent": "factsheets/0.1"}) as client:
        for index in index_urls:
            try:
                page = _get(client, index, HTML_TYPES, cap).decode("utf-8", "replace")
                todo += [u for u in pdf_links(page, index) if u not in todo]
            except FetchError as exc:
                failures.append(_failure(index, exc))
        for url in todo:
            try:
                path = store_download(_get(client, url, PDF_TYPES, cap), url, download_dir)
                if path not in files:
                    files.append(path)
            except FetchError as exc:
                failures.append(_failure(url, exc))
    return files, failures


def _failure(url: str, exc: FetchError) -> Failure:
    return Failure.from_exception(url, None, "discover", exc)
