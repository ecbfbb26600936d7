"""Checks of a command's arguments before anything runs: each wrong value is a
:class:`~schemas.errors.UsageError` whose message names the value and the fix (the CLI prints it
and exits with 2)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from schemas.errors import UsageError
from schemas.settings import Settings

#: Settings of the environment, by field: what a user sets.
_ENV = "FACTSHEETS_"


def settings(**overrides: Any) -> Settings:
    """The settings, from the environment and ``overrides``; a value that does not fit says which
    variable or option and what it must be, in one line."""
    from pydantic import ValidationError

    try:
        made = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            where = f"--{field.replace('_', '-')}" if field in overrides and overrides[field] is not None else f"{_ENV}{field.upper()}"
            problems.append(f"{where}={err.get('input')!r}: {err['msg']}")
        raise UsageError("; ".join(problems) + ". Fix the value (see `factsheets ingest --help` and the README's settings).") from None
    from extractors.layout import LayoutSettings

    try:
        LayoutSettings.resolve(made.layout)
    except ValueError as exc:
        raise UsageError(f"{_ENV}LAYOUT: {exc}") from None
    return made


def output_folder(out: Path) -> Path:
    """``out`` as a store folder: an existing folder we may write, or one we may create."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder; give a folder for the tables (it is created if missing).")
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: {probe} is not writable; give a folder you can write to.")
    return out


def paths(given: Iterable[str | Path]) -> list[str]:
    """The input paths as text a flow can take: a name that is not valid UTF-8 cannot be sent to
    Prefect, so it is a usage error naming it with escapes."""
    out = []
    for p in given:
        text = os.fsdecode(p) if isinstance(p, bytes) else str(p)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            shown = os.fsencode(text).decode("utf-8", "backslashreplace")
            raise UsageError(f"{shown}: the path is not valid UTF-8 (shown with \\x escapes); rename it, or give the folder that holds it.") from None
        out.append(text)
    return out


def cron(expression: str) -> str:
    """A cron expression Prefect can schedule."""
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    try:
        CronSchedule(cron=expression)
    except (ValidationError, ValueError) as exc:
        reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise UsageError(f"--cron {expression!r} is not a cron schedule ({reason}); use five fields, e.g. '0 * * * *' for hourly.") from None
    return expression


def empty_folders(given: Iterable[str]) -> list[str]:
    """The folders among ``given`` that hold no PDF (for a warning)."""
    from flows.sources import discover

    return [p for p in given if Path(p).is_dir() and not discover([p])]
