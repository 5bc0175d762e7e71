"""Issued-card records written in the background, in batches, never on a hook call's path.

A hook call hands its records to ``IssuedCardWriter.submit``, which only appends them to a
bounded in-memory buffer; one writer per worker process takes up to ``BATCH_ROWS`` records
at a time and stores them in one transaction, off the event loop (``offload``). Once records
arrive, the writer gathers for up to ``GATHER_S`` before it writes (less when the batch
fills, a flush asks or the process stops): calls that come one at a time then share a
transaction too, where each used to cost one (issue 18: a transaction per call was 8% of a
served call's CPU). A failed
batch stays at the head of the buffer and is retried with a growing pause (up to
``MAX_PAUSE_S``), so a database that is stopped, paused or locked for a while loses
nothing as long as the buffer outlasts it. Records are dropped only when the buffer is full
or the process is stopping and could not write them in time; each drop is counted
(``mrcds_issued_cards_dropped_total``, by reason) and logged with its reason and the last
database error. Retries are safe: a record already stored (a commit whose answer was lost)
is skipped, not stored twice.

What stays in the buffer is lost if the process is killed (SIGKILL, out of memory): the
records are the guideline team's statistics, not clinical data, and a hook call never waits
for them. ``mr-cds serve`` drains the buffer on a graceful stop (SIGTERM).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from cds_service.core import metrics
from cds_service.db.errors import unavailable_reason
from cds_service.db.offload import run_blocking

log = logging.getLogger(__name__)

BATCH_ROWS = 500
#: How long the writer gathers records before a batch: what a lone call's records wait in
#: the buffer at most, beyond the write itself.
GATHER_S = 0.1
FIRST_PAUSE_S = 0.05
MAX_PAUSE_S = 2.0
#: At most one log line per this many seconds for a streak of failures or of drops.
LOG_EVERY_S = 10.0
#: An idle writer ends after this long and is started again by the next record (tests
#: build many apps; a served worker keeps its writer busy or restarts it for free).
IDLE_EXIT_S = 5.0

#: A record, as the ``write`` callable takes it (``issued.IssuedRow`` in the service).
Row = TypeVar("Row")


class IssuedCardWriter(Generic[Row]):
    def __init__(self, write: Callable[[Sequence[Row]], None], *, capacity: int) -> None:
        """``write(rows)`` stores the rows in one transaction, or raises."""
        self._write = write
        self._capacity = capacity
        self._rows: deque[Row] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._idle = threading.Condition(self._lock)
        self._busy = False  # a batch is being written
        self._stopping = False
        self._flushing = 0  # callers of flush waiting: no gathering while they wait
        self._running = False
        self._pid: int | None = None
        self._last_error = "none"
        self._failing_since: float | None = None
        self._failure_logged_at = 0.0
        self._drops: dict[str, int] = {}
        self._drop_logged_at = 0.0

    # --- the hook call's side: never blocks, never raises -----------------------------

    def submit(self, hook_instance: str, rows: Sequence[Row]) -> None:
        if not rows:
            return
        with self._lock:
            self._start_if_needed()
            room = self._capacity - len(self._rows)
            if self._stopping or room < len(rows):
                reason = "stopping" if self._stopping else "buffer full"
                self._dropped(reason, len(rows), hook_instance)
                return
            was_empty = not self._rows
            self._rows.extend(rows)
            if was_empty or len(self._rows) >= BATCH_ROWS:
                # The writer waits for the first record, then for a full batch: waking it
                # for every record in between would only cost switches.
                self._wake.notify()

    # --- tests and shutdown -------------------------------------------------------------

    def pending(self) -> int:
        with self._lock:
            return len(self._rows)

    def flush(self, timeout: float) -> bool:
        """Wait until every submitted record is stored; ``False`` if some are left after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._flushing += 1
            self._wake.notify_all()  # a gathering writer writes now
            try:
                while self._rows or self._busy:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._idle.wait(min(left, 0.5))
            finally:
                self._flushing -= 1
        return True

    def close(self, timeout: float) -> int:
        """Stop taking records, write what is buffered within ``timeout``; the number dropped."""
        flushed = self.flush(timeout)
        with self._lock:
            self._stopping = True
            left = len(self._rows)
            if not flushed and left:
                self._rows.clear()
                self._dropped("stopping", left, None)
            self._wake.notify_all()
        return 0 if flushed else left

    # --- the writer -----------------------------------------------------------------------

    def _start_if_needed(self) -> None:
        # Threads do not cross a fork: each gunicorn worker starts its own writer on first use.
        if self._pid == os.getpid() and self._running:
            return
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._busy = False
        self._running = True
        thread = threading.Thread(target=self._run, name="mrcds-issued-writer", daemon=True)
        thread.start()

    def _run(self) -> None:
        pause = FIRST_PAUSE_S
        while True:
            with self._lock:
                while not self._rows and not self._stopping:
                    self._idle.notify_all()
                    if not self._wake.wait(IDLE_EXIT_S) and not self._rows:
                        self._running = False
                        return
                if not self._rows:
                    self._running = False
                    return
                self._gather()
                batch = [self._rows[i] for i in range(min(BATCH_ROWS, len(self._rows)))]
                self._busy = True
            try:
                run_blocking(functools.partial(self._write, batch))
            except Exception as exc:
                with self._lock:
                    self._busy = False
                self._failed(exc)
                time.sleep(pause)  # gevent's sleep under `mr-cds serve`: the loop keeps going
                pause = min(pause * 2, MAX_PAUSE_S)
                continue
            pause = FIRST_PAUSE_S
            with self._lock:
                for _ in batch:
                    self._rows.popleft()
                self._busy = False
                if not self._rows:
                    self._idle.notify_all()
            self._recovered(len(batch))

    def _gather(self) -> None:
        """Wait (lock held) up to ``GATHER_S`` for more records to share the transaction."""
        deadline = time.monotonic() + GATHER_S
        while len(self._rows) < BATCH_ROWS and not self._stopping and not self._flushing:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._wake.wait(left)

    def _failed(self, exc: Exception) -> None:
        reason = unavailable_reason(exc) or "error"
        self._last_error = f"{reason}: {type(exc).__name__}"
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        if now - self._failure_logged_at >= LOG_EVERY_S:
            self._failure_logged_at = now
            log.warning(
                "issued cards: write failed (%s); %d record(s) buffered, retrying",
                self._last_error,
                self.pending(),
            )

    def _recovered(self, written: int) -> None:
        metrics.issued_cards_written(written)
        if self._failing_since is not None:
            log.info(
                "issued cards: writing again after %.1f s of failures", time.monotonic() - self._failing_since
            )
            self._failing_since = None
            self._failure_logged_at = 0.0

    def _dropped(self, reason: str, count: int, hook_instance: str | None) -> None:
        """Called with the lock held."""
        metrics.issued_cards_dropped(reason, count)
        self._drops[reason] = self._drops.get(reason, 0) + count
        now = time.monotonic()
        if now - self._drop_logged_at >= LOG_EVERY_S or reason == "stopping":
            self._drop_logged_at = now
            log.error(
                "issued cards: %d record(s) NOT recorded (%s; last database error: %s; %s so far "
                "in this process)%s",
                count,
                reason,
                self._last_error,
                ", ".join(f"{n} {why}" for why, n in sorted(self._drops.items())),
                f"; hookInstance {hook_instance}" if hook_instance else "",
            )
