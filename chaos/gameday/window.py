"""When a game day may run: days of the week and hours in a time zone (people are watching then)."""

from __future__ import annotations

import functools
import re
import zoneinfo
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

__all__ = ["DAYS", "Window"]

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")
_SECOND = timedelta(seconds=1)


@functools.lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    """The IANA zones a window may name: not the machine's ``localtime``, not ``Factory``, not the
    ``posix/`` and ``right/`` copies (``right/`` counts leap seconds, which no clock here does)."""
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if name not in ("localtime", "Factory") and not name.startswith(("posix/", "right/"))
    )


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
        match = _HOURS.fullmatch(value)
        if match is None:
            raise PydanticCustomError("hours", f"{value!r} is not 'HH:MM-HH:MM', e.g. '10:00-16:00'")
        start, end = (int(match[1]), int(match[2])), (int(match[3]), int(match[4]))
        if end <= start or end > (24, 0):
            raise PydanticCustomError("hours", f"{value!r}: the window must end after it starts, the same day")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        shown = repr(value) if len(value) <= 64 else f"{value[:40]!r}... ({len(value)} characters)"
        if value not in _zones():  # before ZoneInfo, which opens whatever file the name leads to
            raise PydanticCustomError("timezone", f"{shown} is not an IANA time zone, e.g. 'Europe/Berlin'")
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            raise PydanticCustomError("timezone", f"{shown}: its time zone data cannot be read") from None
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

    def _openings(self, around: datetime) -> list[datetime]:
        """Every instant (UTC) at which the window opens, from two days before ``around`` to eight after.

        Computed on instants, not wall-clock times: across a daylight-saving change an opening time may
        not exist (the window then opens when the clocks jump into it) or may happen twice (the window
        opens again when the clocks go back into it). A candidate is an opening when the window holds
        it and did not hold the second before, or the second before was another day."""
        local = around.astimezone(self.zone)
        found: set[datetime] = set()
        for offset in range(-2, 9):
            day = local.date() + timedelta(days=offset)
            if DAYS[day.weekday()] not in self.days:
                continue
            candidates = [
                datetime.combine(day, self.opens, self.zone).replace(fold=fold).astimezone(timezone.utc)
                for fold in (0, 1)
            ]
            change = self._clock_change(day)
            if change is not None:
                candidates.append(change)
            for instant in candidates:
                before = instant - _SECOND
                if self.contains(instant) and (
                    not self.contains(before)
                    or before.astimezone(self.zone).date() != instant.astimezone(self.zone).date()
                ):
                    found.add(instant)
        return sorted(found)

    def _clock_change(self, day: date) -> datetime | None:
        """The instant (UTC, to the second) the zone changes its offset around ``day``, if it does."""
        first = int(datetime.combine(day, time(0), self.zone).timestamp()) - 3 * 3600
        last = first + 30 * 3600

        def offset(seconds: int) -> timedelta | None:
            return datetime.fromtimestamp(seconds, self.zone).utcoffset()

        if offset(first) == offset(last):
            return None
        while last - first > 1:  # the first second with the new offset
            middle = (first + last) // 2
            if offset(middle) == offset(first):
                first = middle
            else:
                last = middle
        return datetime.fromtimestamp(last, timezone.utc)

    def next_open(self, after: datetime) -> datetime:
        """When the window next opens after ``after`` (aware; in the window's zone)."""
        moment = after.astimezone(timezone.utc)
        for instant in self._openings(moment):
            if instant > moment:
                return instant.astimezone(self.zone)
        raise AssertionError("a window with at least one day opens within a week")

    def current_opening(self, now: datetime) -> datetime | None:
        """When the opening of the window that holds ``now`` began (UTC: an instant in a repeated hour
        compares unequal to everything outside its zone); None when the window is closed. Each day's
        window is an opening of its own, even when the previous day's window runs to midnight."""
        moment = now.astimezone(timezone.utc)
        if not self.contains(moment):
            return None
        began = [instant for instant in self._openings(moment) if instant <= moment]
        return began[-1] if began else None

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
