"""The simulated clock: event index <-> time, fixed before any event is generated.

Each day gets a fixed number of events (weekdays busier than weekends) spread over the day by
a business-hours profile, with a per-day seeded jitter. Because the mapping depends only on the
seed and the config, every simulated moment (a promotion start, a season change) has a known
event index, and ``stream(n)`` is a prefix of ``stream(m)``.

>>> from ecomops.sim.clock import Clock
>>> c = Clock(seed=0, events_per_day=10_000, start_ts=0.0)
>>> c.day_start_index(7) == sum(c.day_events(d) for d in range(7))
True
>>> ts = c.day_times(0)
>>> len(ts) == c.day_events(0) and ts == sorted(ts)
True
>>> i = c.index_at(2 * 86400.0 + 10 * 3600.0)
>>> c.time_at(i) >= 2 * 86400.0 + 10 * 3600.0 > c.time_at(i - 1)
True
"""

from __future__ import annotations

import numpy as np

DAY = 86400.0
HOUR = 3600.0
# Monday .. Sunday; averages 1.0 so a week holds 7 * events_per_day events.
WEEKDAY_WEIGHTS = (1.08, 1.10, 1.10, 1.08, 1.04, 0.84, 0.76)
# Relative traffic per hour of the day: B2B buyers work office hours, nights are quiet.
HOURLY_PROFILE = (
    0.22, 0.16, 0.13, 0.12, 0.13, 0.18, 0.35, 0.65, 1.20, 1.75, 1.90, 1.85,
    1.45, 1.60, 1.85, 1.85, 1.70, 1.45, 1.05, 0.85, 0.80, 0.70, 0.55, 0.35,
)
_CLOCK_STREAM = 0xC10C  # keeps the clock's random numbers apart from everything else


class Clock:
    def __init__(self, seed: int, events_per_day: int, start_ts: float):
        self.seed = seed
        self.start_ts = float(start_ts)
        start_weekday = int((start_ts // DAY + 3) % 7)  # 1970-01-01 was a Thursday; Monday is 0
        w = np.array(WEEKDAY_WEIGHTS) * (7.0 / sum(WEEKDAY_WEIGHTS))
        order = [(start_weekday + d) % 7 for d in range(7)]
        self._per_day = [int(round(events_per_day * w[k])) for k in order]
        self._week = sum(self._per_day)
        self._cum = [0]
        for e in self._per_day:
            self._cum.append(self._cum[-1] + e)
        prof = np.array(HOURLY_PROFILE, dtype=np.float64)
        self._cdf = np.concatenate([[0.0], np.cumsum(prof) / prof.sum()])
        self._secs = np.arange(25, dtype=np.float64) * HOUR
        self._cache: tuple[int, list[float]] | None = None

    def day_events(self, day: int) -> int:
        return self._per_day[day % 7]

    def day_start_index(self, day: int) -> int:
        return (day // 7) * self._week + self._cum[day % 7]

    def day_of_index(self, index: int) -> int:
        weeks, rest = divmod(index, self._week)
        d = int(np.searchsorted(self._cum, rest, side="right")) - 1
        return weeks * 7 + d

    def day_times(self, day: int) -> list[float]:
        """Timestamps (ms precision, non-decreasing) of every event of ``day``."""
        if self._cache is not None and self._cache[0] == day:
            return self._cache[1]
        n = self.day_events(day)
        rng = np.random.default_rng([self.seed, _CLOCK_STREAM, day])
        # (j + u) / n is increasing in j for u in [0, 1): jitter never reorders events
        q = (np.arange(n, dtype=np.float64) + rng.random(n)) / n
        secs = np.interp(q, self._cdf, self._secs)
        ts = np.round(self.start_ts + day * DAY + secs, 3).tolist()
        self._cache = (day, ts)
        return ts

    def time_at(self, index: int) -> float:
        day = self.day_of_index(index)
        return self.day_times(day)[index - self.day_start_index(day)]

    def index_at(self, ts: float) -> int:
        """Index of the first event at or after ``ts``."""
        day = max(int((ts - self.start_ts) // DAY), 0)
        times = self.day_times(day)
        j = int(np.searchsorted(np.asarray(times), ts, side="left"))
        return self.day_start_index(day) + j

    def events_in_days(self, days: float) -> int:
        return self.index_at(self.start_ts + days * DAY)
