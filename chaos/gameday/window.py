"""When a game day may run: days of the week and hours in a time zone (people are watching then)."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

__all__ = ["DAYS", "Window"]

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class Window(BaseModel):
    """Days and hours, in a time zone, during which a suite may run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: tuple[Day, ...] = Field(min_length=1, description="Days of the week: mon, tue, wed, thu, fri, sat, sun.")
    hours: str = Field(description="Opening hours on those days, 'HH:MM-HH:MM' (24 h, the same day).")
    timezone: str = Field(default="UTC", description="An IANA time zone, e.g. Europe/Berlin.")

    @field_validator("days")
    @classmethod
    def _unique(cls, value: tuple[Day, ...]) -> tuple[Day, ...]:
        return tuple(sorted(set(value), key=DAYS.index))

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        match = _HOURS.match(value)
        if match is None:
            raise PydanticCustomError("hours", f"{value!r} is not 'HH:MM-HH:MM', e.g. '10:00-16:00'")
        start, end = (int(match[1]), int(match[2])), (int(match[3]), int(match[4]))
        if end <= start or end > (24, 0):
            raise PydanticCustomError("hours", f"{value!r}: the window must end after it starts, the same day")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError("timezone", f"{value!r} is not an IANA time zone, e.g. 'Europe/Berlin'") from None
        return value

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The window's time zone."""
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def opens(self) -> time:
        """Opening time, local."""
        start = self.hours.split("-")[0]
        return time(int(start[:2]), int(start[3:]))

    @property
    def closes(self) -> time | None:
        """Closing time, local (None: midnight)."""
        end = self.hours.split("-")[1]
        return None if end == "24:00" else time(int(end[:2]), int(end[3:]))

    def _bounds(self, day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(day, self.opens, self.zone)
        closes = self.closes
        end = (
            datetime.combine(day + timedelta(days=1), time(0), self.zone)
            if closes is None
            else (datetime.combine(day, closes, self.zone))
        )
        return start, end

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` (aware) falls in the window."""
        local = moment.astimezone(self.zone)
        if DAYS[local.weekday()] not in self.days:
            return False
        start, end = self._bounds(local.date())
        return start <= local < end

    def next_open(self, after: datetime) -> datetime:
        """When the window next opens after ``after`` (aware; in the window's zone)."""
        local = after.astimezone(self.zone)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            if DAYS[day.weekday()] not in self.days:
                continue
            start, _ = self._bounds(day)
            if start > local:
                return start
        raise AssertionError("a window with at least one day opens within a week")

    def describe(self) -> str:
        """``mon, tue 10:00-16:00 Europe/Berlin``."""
        return f"{', '.join(self.days)} {self.hours} {self.timezone}"

    def utc_openings(self) -> list[tuple[int, int, tuple[int, ...]]]:
        """(hour, minute, weekdays 0=Sunday) in UTC at which the window opens, for every UTC offset the zone
        uses in a year (standard and daylight time): what a UTC-only scheduler needs."""
        found: dict[tuple[int, int], set[int]] = {}
        year = datetime.now(timezone.utc).year
        offsets = {datetime(year, month, 15, 12, tzinfo=self.zone).utcoffset() for month in range(1, 13)}
        for offset in sorted(offset for offset in offsets if offset is not None):
            for day in self.days:
                minutes = DAYS.index(day) * 1440 + self.opens.hour * 60 + self.opens.minute
                minutes -= int(offset.total_seconds() // 60)
                minutes %= 7 * 1440
                weekday, rest = divmod(minutes, 1440)
                found.setdefault((rest // 60, rest % 60), set()).add((weekday + 1) % 7)  # cron: 0 = Sunday
        return [(hour, minute, tuple(sorted(days))) for (hour, minute), days in sorted(found.items())]
