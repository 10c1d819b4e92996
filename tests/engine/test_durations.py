from __future__ import annotations

import pytest
from pydantic_core import PydanticCustomError

from chaos.engine.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("10s", 10.0),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1.5s", 1.5),
        (3, 3.0),
        ("7", 7.0),
        ("0s", 0.0),
    ],
)
def test_parse(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["-5s", "10 years", "", "ms", "1e400s", "2d", True, None, [1]])
def test_rejects(text: object) -> None:
    with pytest.raises(PydanticCustomError):
        parse_duration(text)


def test_longer_than_a_day_is_refused() -> None:
    with pytest.raises(PydanticCustomError, match="24h"):
        parse_duration("25h")


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.25, "250ms"), (10, "10s"), (120, "2m"), (3600, "1h"), (90, "90s"), (0, "0s")]
)
def test_format_round_trips(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(format_duration(seconds)) == seconds
