"""The one deadline of a hook call's fetching: every request and retry is cut to it."""

from __future__ import annotations

import time
from collections.abc import Callable


class Deadline:
    """One point in time by which the whole hook call's fetching must be over."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.at = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - self._clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0
