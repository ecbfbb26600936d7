"""Where the PDFs come from: files and folders (:func:`discover`), and URLs: PDF links, or
index pages that link to PDFs (:func:`fetch_sources`).

Only ``http`` and ``https``, from the hosts of the URLs given (and ``allowed_hosts``), never a
loopback, private, link-local or reserved address unless ``allow_private_hosts`` says so: every
address a host resolves to is checked before connecting, on every redirect hop. A download,
redirects included, ends within ``fetch_timeout_s``. Every response is checked (status, content
type, size cap, ``%PDF`` magic) before it is kept; file names are sanitised; a download is
stored once, by the sha256 of its bytes, under ``download_dir``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
import socket
import ssl
import time
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import unquote, urljoin, urlparse

import httpcore
import httpx
from httpcore import SOCKET_OPTION

from schemas.errors import Failure, FetchError, UsageError
from schemas.settings import Settings

PDF_TYPES = ("application/pdf", "application/x-pdf", "application/octet-stream", "binary/octet-stream")
HTML_TYPES = ("text/html", "application/xhtml+xml")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Redirects followed per download, each one checked like the URL it came from.
MAX_REDIRECTS = 5
IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address


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
    if not _host(url) or urlparse(url).scheme not in ("http", "https"):
        raise FetchError(f"{url!r} is not an http(s) URL; only http:// and https:// sources are fetched.")


def _host(url: str) -> str:
    """The URL's host name, lower case; empty when it has none or cannot be parsed."""
    try:
        return (urlparse(url).hostname or "").lower()
    except ValueError:  # a malformed address ("http://[::1/")
        return ""


def address_kind(ip: IPAddress) -> str | None:
    """Why an address is not fetched from (``loopback``, ``link-local``, ``private``, …), or None
    for a public one. An IPv4 address mapped into IPv6 is judged as itself."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    kinds = (("loopback", ip.is_loopback), ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
             ("unspecified", ip.is_unspecified), ("reserved", ip.is_reserved), ("private", ip.is_private))
    return next((kind for kind, flag in kinds if flag), None if ip.is_global else "non-public")


class _Refused(Exception):
    """A connection not made: the host resolves to an address that is not fetched from."""


class _Guard(httpcore.NetworkBackend):
    """httpcore's sockets with two guards. Before connecting, the host name is resolved and
    every address it resolves to is checked (:func:`address_kind`); the connection then goes to
    a checked address, not to what a second look-up would say. Every connect, read and write
    is cut to what is left until ``deadline``: a server that sends a byte at a time cannot
    stretch a download past it."""

    def __init__(self, private: bool | list[str]) -> None:
        self.private = private
        self.deadline = math.inf
        self._sockets = httpcore.SyncBackend()

    def left(self, timeout: float | None, error: type[Exception]) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise error("the download's deadline passed")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"{host} could not be resolved ({exc})") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if self.private is not True and host.lower() not in (self.private or []):
            for address in addresses:
                kind = address_kind(ipaddress.ip_address(address))
                if kind:
                    what = f"{host} is a {kind} address" if host == address else f"{host} resolves to {address}, a {kind} address"
                    raise _Refused(f"{what}; such addresses are fetched from only when FACTSHEETS_ALLOW_PRIVATE_HOSTS is true "
                                   f"or names {host}.")
        error: Exception = httpcore.ConnectError(f"{host} resolves to no address")
        for address in addresses:
            try:
                stream = self._sockets.connect_tcp(address, port, self.left(timeout, httpcore.ConnectTimeout), local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
                continue
            return _Stream(stream, self)
        raise error

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        raise _Refused("Unix sockets are not fetched from.")

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


class _Stream(httpcore.NetworkStream):
    """A connection whose every operation ends by the guard's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, guard: _Guard) -> None:
        self._stream = stream
        self._guard = guard

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._guard.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._guard.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, self._guard.left(timeout, httpcore.ConnectTimeout))
        return _Stream(tls, self._guard)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _Transport(httpx.HTTPTransport):
    """httpx's transport on :class:`_Guard`'s sockets (TLS still checks the host's name)."""

    def __init__(self, guard: _Guard) -> None:
        super().__init__()
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), network_backend=guard)


class Fetcher:
    """GETs under this module's rules: http(s) only; the hosts in ``hosts`` only, checked on
    every redirect hop (at most :data:`MAX_REDIRECTS`); no loopback, private, link-local or
    reserved address unless ``settings.allow_private_hosts`` allows it; each download, its
    redirects included, done within ``settings.fetch_timeout_s``. Proxies from the environment
    are not used: they would connect to addresses that were not checked."""

    def __init__(self, hosts: Iterable[str], settings: Settings) -> None:
        self.hosts = {h.lower() for h in hosts} | set(settings.allowed_hosts)
        self.timeout_s = settings.fetch_timeout_s
        self.cap = settings.max_download_mb * 1_000_000
        self._guard = _Guard(settings.allow_private_hosts)
        self._client = httpx.Client(transport=_Transport(self._guard), timeout=self.timeout_s, follow_redirects=False,
                                    trust_env=False, headers={"User-Agent": "factsheets/0.1"})

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def get(self, url: str, kinds: tuple[str, ...]) -> bytes:
        """The body of ``url``, which must answer 200 with one of the content ``kinds``."""
        _check_url(url)
        self._guard.deadline = time.monotonic() + self.timeout_s
        try:
            hop = url
            for _ in range(MAX_REDIRECTS + 1):
                self._check_hop(url, hop)
                with self._client.stream("GET", hop) as resp:
                    if resp.next_request is None:
                        return self._body(url, resp, kinds)
                    hop = str(resp.next_request.url)
            raise FetchError(f"{url} redirects more than {MAX_REDIRECTS} times; give the URL it ends at.")
        except _Refused as exc:
            raise FetchError(f"{url}: {exc}") from None
        except httpx.TimeoutException:
            raise FetchError(f"{url} did not finish within {self.timeout_s:g} s; raise FACTSHEETS_FETCH_TIMEOUT_S if the "
                             "server is only slow.") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"{url} could not be fetched: {type(exc).__name__}: {exc}") from exc
        finally:
            self._guard.deadline = math.inf

    def _check_hop(self, url: str, hop: str) -> None:
        host, given = _host(hop), ", ".join(sorted(self.hosts)) or "none"
        if hop != url and urlparse(hop).scheme not in ("http", "https"):
            raise FetchError(f"{url} redirects to {hop}, not an http(s) URL; only http:// and https:// are followed.")
        if host not in self.hosts:
            where = f"is on {host}," if hop == url else f"redirects to {hop}, on {host},"
            raise FetchError(f"{url} {where} not a host given ({given}); add {host} to FACTSHEETS_ALLOWED_HOSTS to fetch from it.")

    def _body(self, url: str, resp: httpx.Response, kinds: tuple[str, ...]) -> bytes:
        cap = self.cap
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
        try:
            url = urljoin(base_url, href)
        except ValueError:  # a malformed link is not followed
            continue
        if _host(url) and urlparse(url).scheme in ("http", "https") and urlparse(url).path.lower().endswith(".pdf") and url not in out:
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
    """Download PDFs named directly or linked from index pages, from the hosts of the URLs given
    (and ``settings.allowed_hosts``) only (see :class:`Fetcher`). Returns the local files and
    one failure row per URL that did not give a PDF."""
    files: list[Path] = []
    failures: list[Failure] = []
    todo = list(urls)
    with Fetcher((h for h in map(_host, [*urls, *index_urls]) if h), settings) as fetcher:
        for index in index_urls:
            try:
                page = fetcher.get(index, HTML_TYPES).decode("utf-8", "replace")
                todo += [u for u in pdf_links(page, index) if u not in todo]
            except FetchError as exc:
                failures.append(_failure(index, exc))
        for url in todo:
            try:
                path = store_download(fetcher.get(url, PDF_TYPES), url, download_dir)
                if path not in files:
                    files.append(path)
            except FetchError as exc:
                failures.append(_failure(url, exc))
    return files, failures


def _failure(url: str, exc: FetchError) -> Failure:
    return Failure.from_exception(url, None, "discover", exc)
