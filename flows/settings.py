"""One settings object with clear defaults, read from ``FACTSHEETS_*`` environment variables
and overridden by CLI options."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from extractors import PIPELINE_VERSION
from extractors.nlp import DEFAULT_MODEL


class Settings(BaseSettings):
    """Settings of a pipeline run.

    ``model``: the spaCy model package or path (``FACTSHEETS_MODEL``); ``none`` or an empty value
    runs on the project's rules alone. ``max_pages``: a PDF with more pages is refused.
    ``layout``: overrides of ``extractors.layout.LayoutSettings``.
    """

    model_config = SettingsConfigDict(env_prefix="FACTSHEETS_", extra="forbid")

    model: str | None = DEFAULT_MODEL
    max_pages: int = Field(default=300, ge=1)
    layout: dict[str, Any] = Field(default_factory=dict)
    batch_size: int = Field(default=64, ge=1, description="texts per nlp.pipe batch")

    @field_validator("model", mode="before")
    @classmethod
    def _none_model(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in ("", "none", "rules", "rules-only"):
            return None
        return value

    @property
    def cache_key(self) -> str:
        """What a processed document depends on besides its bytes."""
        return f"{PIPELINE_VERSION}|{self.model}|{sorted(self.layout.items())}"
