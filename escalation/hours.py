"""Business hours: when people are there to answer, e.g. ``mon-fri 09:00-18:00; sat 10:00-14:00``.

An empty specification means always open.
"""

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS_RU = ["пн", "вт", "ср", "чт", "пт", "сб", "вс"]
PART = re.compile(r"^(\w{3})(?:-(\w{3}))?\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class BusinessHours:
    def __init__(self, spec: str, timezone: str):
        self.spec = spec.strip()
        self.zone = ZoneInfo(timezone)
        self.timezone = timezone
        self._open: dict[int, list[tuple[time, time]]] = {}
        for part in filter(None, (p.strip().lower() for p in self.spec.split(";"))):
            match = PART.match(part)
            if not match or match[1] not in DAYS or (match[2] and match[2] not in DAYS):
                raise ValueError(
                    f"business hours: cannot read {part!r} (like 'mon-fri 09:00-18:00')"
                )
            first, last = DAYS.index(match[1]), DAYS.index(match[2] or match[1])
            start = time(int(match[3]), int(match[4]))
            end = time(23, 59, 59) if match[5] == "24" else time(int(match[5]), int(match[6]))
            for day in range(first, last + 1):
                self._open.setdefault(day, []).append((start, end))

    def open_at(self, moment: datetime) -> bool:
        if not self.spec:
            return True
        local = moment.astimezone(self.zone)
        return any(s <= local.time() < e for s, e in self._open.get(local.weekday(), []))

    def describe(self, language: str) -> str:
        """The hours as a customer reads them, e.g. ``пн-пт 09:00-18:00 (Europe/Moscow)``."""
        text = self.spec
        if language == "ru":
            for en, ru in zip(DAYS, DAYS_RU, strict=True):
                text = text.replace(en, ru)
        return f"{text} ({self.timezone})"
