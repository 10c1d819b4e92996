"""Durations as people write them in experiment files: ``250ms``, ``10s``, ``2m``, ``1h``."""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

__all__ = ["MAX_DURATION_SECONDS", "Duration", "format_duration", "parse_duration"]

#: Nothing this tool injects may last longer than a day: an outage rehearsal is measured in minutes.
MAX_DURATION_SECONDS = 24 * 3600.0

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PATTERN = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_HINT = "write a duration such as '250ms', '10s', '2m' or '1h'"


def _shown(value: object) -> str:
    """A short repr for messages; a huge int is described, not converted (Python refuses 4,300+ digits)."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an integer of {value.bit_length():,} bits"
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def parse_duration(value: object) -> float:
    """Seconds from ``'250ms'``, ``'10s'``, ``'2m'``, ``'1h'`` or a plain number of seconds."""
    if isinstance(value, bool):
        raise PydanticCustomError("duration", f"expected a duration, got {value!r}; {_HINT}")
    if isinstance(value, int) and not -MAX_DURATION_SECONDS <= value <= MAX_DURATION_SECONDS:
        seconds = -math.inf if value < 0 else math.inf  # float() of a huge int would raise OverflowError
    elif isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        match = _PATTERN.match(value)
        if match is None:
            raise PydanticCustomError("duration", f"{_shown(value)} is not a duration; {_HINT}")
        number, unit = match.groups()
        factor = _UNITS.get(unit.lower() if unit else "s")
        if factor is None:
            raise PydanticCustomError(
                "duration", f"unknown unit {_shown(unit)} in {_shown(value)}; units are ms, s, m and h; {_HINT}"
            )
        seconds = float(number) * factor
    else:
        raise PydanticCustomError("duration", f"expected a duration, got {type(value).__name__}; {_HINT}")
    shown = _shown(value)
    if math.isnan(seconds) or seconds < 0:
        raise PydanticCustomError("duration", f"{shown} is negative or not a number; durations are >= 0")
    if seconds > MAX_DURATION_SECONDS:
        raise PydanticCustomError("duration", f"{shown} is longer than the 24h this tool will ever inject for")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest readable form: ``0.25`` -> ``'250ms'``, ``90`` -> ``'90s'``, ``120`` -> ``'2m'``."""
    if seconds < 1 and seconds != 0:
        return f"{seconds * 1000:g}ms"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


#: A duration field: accepts ``'250ms'``-style strings or seconds, holds seconds, serialises back to text.
Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|h)?\s*$", "examples": ["250ms", "10s", "2m"]},
                {"type": "number", "minimum": 0, "maximum": MAX_DURATION_SECONDS},
            ]
        }
    ),
]
