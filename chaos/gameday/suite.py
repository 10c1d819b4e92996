"""Suite files: which experiments a game day runs, in what order, in which window, and when to stop.

```yaml
version: 1
title: Weekly S3 game day
window: {days: [mon, tue, wed, thu], hours: "10:00-16:00", timezone: Europe/Berlin}
experiments:
  - experiments/s3-us-east-1-2017.yaml
  - {file: experiments/s3-throttling.yaml, continue_on_failure: true}
stop_the_day: first_failure        # or: never
notes: Announced in #ops; on call: ...
```

Validated like experiment files (unknown keys are errors, every problem located), and every
experiment it names is loaded, validated and checked runnable by ``outage run`` too (an application
to drive, a fault phase that ends), before anything runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chaos.documents import DocumentError, parse_document
from chaos.errors import ConfigError
from chaos.gameday.window import Window
from chaos.loading import (
    MAX_FILE_BYTES,
    ExperimentError,
    FileReadError,
    Problem,
    dotted,
    explain_validation,
    load_experiment,
    locate,
    read_regular_file,
)
from chaos.model import Experiment
from chaos.plan import check_runnable, make_plan

__all__ = ["LoadedSuite", "Suite", "SuiteEntry", "load_suite"]


class SuiteEntry(BaseModel):
    """One experiment of the day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = Field(min_length=1, description="The experiment file, relative to the suite file.")
    continue_on_failure: bool = Field(
        default=False, description="Go on with the day when this experiment is not graceful."
    )


class Suite(BaseModel):
    """A game day: experiments run in order, within a window, stopped as the suite says."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"title": "chaos-outage game-day suite"})

    version: Literal[1] = Field(description="Format version: the integer 1.")
    title: str = Field(min_length=1, description="The game day, in one line.")
    window: Window | None = Field(default=None, description="When the day may run (default: any time).")
    experiments: tuple[SuiteEntry, ...] = Field(
        min_length=1, description="Experiment files (or {file, continue_on_failure}), run in this order."
    )
    stop_the_day: Literal["first_failure", "never"] = Field(
        default="first_failure",
        description="first_failure: the first experiment that is not graceful ends the day (unless it says "
        "continue_on_failure); never: run them all.",
    )
    notes: str | None = Field(default=None, description="Who knows, who is on call: shown in the reports.")

    @field_validator("experiments", mode="before")
    @classmethod
    def _entries(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [{"file": item} if isinstance(item, str) else item for item in value]
        return value


@dataclass(frozen=True)
class LoadedSuite:
    """A suite and its experiments, all valid."""

    suite: Suite
    path: Path
    experiments: list[tuple[SuiteEntry, Path, Experiment]]


def load_suite(path: str | os.PathLike[str]) -> LoadedSuite:
    """The suite at ``path`` and every experiment it names; ExperimentError locating every problem."""
    name = str(path)
    try:
        raw = read_regular_file(path, MAX_FILE_BYTES, what="suite files")
        value, positions = parse_document(raw, json_only=name.lower().endswith(".json"))
    except FileReadError as exc:
        raise ExperimentError([Problem(exc.path, 1, 1, "", exc.reason)]) from None
    except DocumentError as exc:
        raise ExperimentError([Problem(name, exc.line, exc.column, "", str(exc))]) from None
    if not isinstance(value, dict):
        raise ExperimentError([Problem(name, 1, 1, "", "a suite is a mapping with version, title and experiments")])
    try:
        suite = Suite.model_validate(value)
    except ValidationError as exc:
        problems = [
            Problem(name, *locate(where, positions), dotted(where), message)
            for where, message in explain_validation(exc, value, Suite)
        ]
        raise ExperimentError(problems) from None
    base = Path(path).parent
    loaded, problems = [], []
    for index, entry in enumerate(suite.experiments):
        file = base / entry.file
        line, column = locate(("experiments", index), positions)
        try:
            experiment = load_experiment(file)
        except ExperimentError as exc:
            problems.append(Problem(name, line, column, f"experiments[{index}]", f"{entry.file} is not runnable:"))
            problems += exc.problems
            continue
        try:
            _check_runnable(experiment, str(file))
        except ConfigError as exc:
            problems.append(Problem(name, line, column, f"experiments[{index}]", f"{entry.file} cannot be run: {exc}"))
            continue
        loaded.append((entry, file, experiment))
    if problems:
        raise ExperimentError(problems)
    return LoadedSuite(suite, Path(path), loaded)


def _check_runnable(experiment: Experiment, source: str) -> None:
    """ConfigError when ``outage run`` could not run ``experiment`` (as the day's runner will plan it)."""
    check_runnable(experiment, make_plan(experiment, source=source), source)
