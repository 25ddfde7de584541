"""A source over the simulator (:mod:`ecomops.sim`): synthetic B2B event streams with known truth.

**Offset**: the 0-based event index (an int). ``read(after=k)`` regenerates the stream from
the seed and skips to event ``k + 1``: generation is deterministic and fast, and
``stream(n)`` is a prefix of ``stream(m)``, so a resumed run sees exactly the events it had
not applied, and a run may be resumed with a larger ``events``.

>>> src = SimSource(events=5, seed=1)
>>> [r.offset for r in src.read(after=2)]
[3, 4]
>>> next(src.read()).payload["type"]
'view'
"""

from __future__ import annotations

from itertools import islice
from typing import Any, Iterator

from ..core.errors import SourceError
from .base import Offset, Record


class SimSource:
    """``events`` simulated events from ``seed``; other keyword options go to ``SimConfig``."""

    def __init__(self, events: int = 1_000_000, seed: int = 0, **config: Any):
        if events < 0:
            raise SourceError(f"events must be >= 0, got {events}")
        self.events = int(events)
        self.seed = int(seed)
        self.config = dict(config)
        extra = "".join(f",{k}={v}" for k, v in sorted(self.config.items()))
        # The length is not part of the name: a longer run may resume a shorter one.
        self.name = f"sim:seed={self.seed}{extra}"
        try:
            from ..sim import SimConfig, Simulator  # imported late: stream/ does not need sim/ otherwise
        except ImportError as exc:
            raise SourceError(f"the simulator is not available ({exc})") from None
        try:
            self._config = SimConfig(seed=self.seed, **self.config)
        except TypeError as exc:
            raise SourceError(f"unknown simulator option: {exc}") from None
        self._simulator = Simulator

    def _stream(self) -> Iterator[tuple[dict, Any]]:
        return iter(self._simulator(self._config).stream(self.events))

    def read(self, after: Offset | None = None) -> Iterator[Record]:
        if after is None:
            start = 0
        elif isinstance(after, int) and not isinstance(after, bool) and after >= -1:
            start = after + 1
        else:
            raise SourceError(f"offset {after!r} is not a simulator position (an event index); "
                              "resume with the same --source, or use a new --state directory")
        name = self.name
        for i, (event, _truth) in enumerate(islice(self._stream(), start, None), start):
            yield Record(i, event, None, name)

    def commit(self, offset: Offset) -> None:
        """Nothing to release: the stream is regenerated from the seed."""

    def close(self) -> None:
        pass
