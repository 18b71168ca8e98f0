"""The client-side rate limiter: pace requests to the server's token bucket.

Kazoo (Audian) keeps a token bucket per account: most requests cost a token, an empty bucket
answers 429 without ``Retry-After``, and the bucket refills in blocks (by default 10 tokens
each second). Newer envelopes report the level after each request (``tokens.remaining``).

One :class:`RateLimiter` is shared by a client, all its views and the bulk runner, so every
request of the process that talks to that client's server is paced together:

* While nothing is known it lets everything through.
* When answers carry ``tokens.remaining`` it keeps an estimate of the tokens left for new
  requests (the last level reported, less the requests still in flight) and holds new
  requests back before the bucket runs dry instead of discovering the limit through 429s.
* When the bucket is believed empty (the estimate reached zero, or a 429 arrived), only one
  request at a time goes out as a *probe*. The first probe that succeeds marks a refill; the
  limiter learns the refill period from successive refills and times later probes to just
  before the next expected refill, so a bulk job resumes within a few milliseconds of each
  refill without hammering the server in between.
* When the server reports no level, a refill lets through as many requests as the last one
  did (found by the 429 that ended it; twice as many when all got through), not every
  request waiting, which would meet the empty bucket again.
* Some buckets empty themselves on every refused request (Kazoo's own login endpoints,
  gateways in front of Kazoo, continuous-refill proxies): probing such a bucket faster than one
  token's refill time never gets through. So while probes keep failing, the gap after a failed
  probe grows (by half each time, up to ``max_probe_gap``), and it shrinks again slowly while
  probes succeed: the job settles at the server's own rate whatever its refill model.
* A ``Retry-After`` holds every request until it has passed. A request never waits past its
  own deadline, nor longer than ``max_wait``: it fails fast instead (:class:`Throttled`).

Errors other than 429 (a 503 ``datastore_fault``, a dropped connection) say nothing about the
bucket and do not affect the limiter.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ._clock import SYSTEM_CLOCK, Clock, wait_event

if TYPE_CHECKING:
    import anyio

__all__ = ["RateLimiter", "Throttled", "Ticket"]


class Throttled(Exception):
    """A request cannot go out within its deadline (or ``max_wait``); ``wait`` says how long."""

    def __init__(self, wait: float, *, advised: bool) -> None:
        super().__init__(f"rate limited for another {wait:.2f}s")
        self.wait = wait
        self.advised = advised  # the wait comes from a server's Retry-After


class Ticket:
    """Permission for one request; hand it back with ``on_answer`` or ``on_failure``."""

    __slots__ = ("probe", "sent_at")

    def __init__(self, sent_at: float, probe: bool = False) -> None:
        self.sent_at = sent_at
        self.probe = probe


_OPEN = Ticket(-math.inf)


class RateLimiter:
    """Client-side pacing on the server's bucket (see the module docstring).

    Args:
        clock: where time is read and waited on.
        probe_interval: spacing of probes while the refill timing is unknown.
        fine_interval: spacing of probes around an expected refill.
        max_probe_gap: the longest the gap after a failed probe grows to.
    """

    def __init__(
        self,
        clock: Clock = SYSTEM_CLOCK,
        *,
        probe_interval: float = 0.05,
        fine_interval: float = 0.01,
        max_probe_gap: float = 5.0,
    ) -> None:
        self._clock = clock
        self.probe_interval = probe_interval
        self.fine_interval = fine_interval
        self.max_probe_gap = max_probe_gap
        self._gap = 0.0  # least time between a refused request and the next probe
        self._refused_at = -math.inf  # when the last 429 without Retry-After arrived
        self._admitted = 0  # answers other than 429 since the bucket was last found empty
        # A server that reports no level: the tokens a refill brought last time, and whether
        # the level is such a budget (rather than the server's own report).
        self._burst: float | None = None
        self._budgeted = False
        self._level: float | None = None  # tokens free for new requests; None: unknown
        self._empty = False
        self._empty_since = -math.inf
        self._hold_until = -math.inf  # Retry-After
        self._in_flight = 0
        self._probe_out = False
        self._next_probe = -math.inf
        self._last_refill: float | None = None
        self._period: float | None = None
        self._changed: anyio.Event | None = None
        self.rate_limited = 0  # 429 answers seen
        self.refills = 0  # refills detected
        self.answers = 0  # answers recorded (the engine lets idle limiters go by it)

    # -- what the limiter knows ----------------------------------------------------------

    @property
    def level(self) -> float | None:
        """Estimated tokens left for new requests (``None`` while unknown)."""
        return self._level

    @property
    def empty(self) -> bool:
        """Whether the server's bucket is believed empty."""
        return self._empty

    @property
    def refill_period(self) -> float | None:
        """The refill period learned so far, in seconds."""
        return self._period

    @property
    def in_flight(self) -> int:
        """Requests sent and not answered yet."""
        return self._in_flight

    @property
    def probe_gap(self) -> float:
        """The least time the limiter now leaves between a refused probe and the next one."""
        return self._gap

    @property
    def idle(self) -> bool:
        """Nothing to lose by forgetting this limiter: nothing in flight or waiting, the bucket
        not believed empty, no ``Retry-After`` hold."""
        return (
            not self._in_flight
            and not self._empty
            and self._changed is None
            and self._hold_until <= self._clock.now()
        )

    def held_for(self) -> float:
        """Seconds left of a ``Retry-After`` hold (0 when none)."""
        return max(0.0, self._hold_until - self._clock.now())

    def ready_in(self, now: float | None = None) -> float | None:
        """Seconds until a new request could be sent: ``0.0`` now, ``None`` when that depends on
        an answer still to come (a probe in flight, or requests that used the estimate up).
        ``now``: the clock's reading, if the caller has it."""
        if now is None:
            now = self._clock.now()
        if now < self._hold_until:
            return self._hold_until - now
        if self._empty:
            if self._probe_out:
                return None
            return max(0.0, self._next_probe - now)
        level = self._level
        if level is not None and level < 1 and self._in_flight:
            return None
        return 0.0

    def expected_wait(self) -> float:
        """A best guess of the seconds until the bucket lets requests through again (0 when it
        does now): the hold, the next probe, or the refill period learned."""
        wait = self.ready_in()
        if wait is not None:
            return wait
        now = self._clock.now()
        if self._next_probe > now:
            return self._next_probe - now
        period, last = self._period, self._last_refill
        if period is not None and last is not None:
            return period - (now - last) % period
        return max(self._gap, self.fine_interval)

    # -- taking and giving back ------------------------------------------------------------

    def try_acquire(self) -> Ticket | None:
        """A ticket at once if the limiter is open (no await), else ``None``."""
        if self._empty:
            return None
        level = self._level
        if level is not None and level < 1:
            return None
        if self._hold_until > -math.inf and self._clock.now() < self._hold_until:
            return None
        if level is not None:
            self._level = level - 1
        self._in_flight += 1
        # One shared ticket for requests sent while the limiter is open: only a probe's send
        # time is ever compared (with when the bucket was found empty), so none is recorded.
        return _OPEN

    async def acquire(self, deadline: float | None, max_wait: float = math.inf) -> Ticket:
        """Wait for permission to send. Raise :class:`Throttled` rather than wait past
        ``deadline`` (a ``clock.now()`` value) or longer than ``max_wait`` for a hold."""
        clock = self._clock
        while True:
            ticket = self.try_acquire()
            if ticket is not None:
                return ticket
            now = clock.now()
            if now < self._hold_until:
                wait = self._hold_until - now
                if wait > max_wait or (deadline is not None and now + wait >= deadline):
                    raise Throttled(wait, advised=True)
                await clock.sleep(wait)
                continue
            if self._empty:
                if not self._probe_out and now >= self._next_probe:
                    self._probe_out = True
                    self._in_flight += 1
                    return Ticket(now, probe=True)
                until = None if self._probe_out else self._next_probe
            else:
                # Our own requests in flight used the estimate up: their answers will tell more.
                if self._in_flight == 0:
                    if self._budgeted:
                        self._burst = 2.0 * (self._admitted + 1)  # all got through: try more
                    self._set_empty(now)
                    continue
                until = None
            await self._wait_change(until, deadline)

    def on_answer(
        self, ticket: Ticket, status: int, remaining: int | None, retry_after: float | None
    ) -> None:
        """Record the answer to a ticket's request: its status and the bucket level reported."""
        self._in_flight -= 1
        self.answers += 1
        if ticket.probe:
            self._probe_out = False
        if status == 429:
            self._on_429(ticket, retry_after)
            return
        self._admitted += 1
        fresh = ticket.sent_at >= self._empty_since  # sent while we knew the bucket empty
        if remaining is not None:
            self._budgeted = False
            level = float(remaining - self._in_flight)
            if self._empty and fresh and remaining > 0:
                self._empty = False
                self._record_refill(ticket.sent_at)
                if remaining > 1:
                    self._gap = 0.0  # a refill of several tokens: probing starved nothing
            self._level = level
            if not self._empty and level < 1 and self._in_flight == 0:
                self._set_empty(self._clock.now())
            self._notify()
        elif self._empty and fresh:
            self._empty = False
            self._record_refill(ticket.sent_at)
            if self._burst is not None and (self._level is None or self._budgeted):
                # No level reported: let through what the last refill brought, not everyone
                # waiting (who would meet the empty bucket again, each of them).
                self._level = self._burst - 1
                self._budgeted = True
            self._notify()
        elif ticket.probe or (self._budgeted and not self._in_flight):
            self._notify()  # (a spent budget: the waiters look again, and find it empty)

    def on_failure(self, ticket: Ticket) -> None:
        """The ticket's request got no answer (a connection failure): give the slot back."""
        self._in_flight -= 1
        if ticket.probe:
            self._probe_out = False
            self._notify()
        elif self._budgeted and not self._in_flight:
            self._notify()

    def hold(self, seconds: float) -> None:
        """Hold every request for ``seconds`` (a server's ``Retry-After``)."""
        until = self._clock.now() + seconds
        if until > self._hold_until:
            self._hold_until = until
            self._notify()

    # -- internals -------------------------------------------------------------------------

    def _on_429(self, ticket: Ticket, retry_after: float | None) -> None:
        self.rate_limited += 1
        now = self._clock.now()
        if retry_after is not None:
            # The server said when to come back: hold until then, no probing needed.
            self.hold(retry_after)
            if self._level is not None:
                self._level = None  # the level is unknown again after the hold
            return
        if self._level is not None:
            self._level = 0.0
        if ticket.probe and self._refused_at >= self._empty_since:
            # Probes keep being refused, and each refusal may have emptied the bucket again:
            # leave more time before the next one.
            self._gap = min(self.max_probe_gap, max(self._gap * 1.5, self.fine_interval))
        self._refused_at = now
        if not self._empty:
            if self._level is None or self._budgeted:
                self._burst = float(max(1, self._admitted))  # what this refill let through
            if self._admitted > 1:
                self._gap = 0.0  # the refill let several through: probing starved nothing
            self._set_empty(now)
        elif ticket.probe:
            self._next_probe = max(self._probe_time(now), now + self._gap)
        self._notify()

    def _set_empty(self, now: float) -> None:
        self._admitted = 0
        self._empty = True
        self._empty_since = now
        probe = self._probe_time(now)
        if self._refused_at >= now:  # emptied by a refusal: mind the gap too
            probe = max(probe, now + self._gap)
        self._next_probe = probe

    def _probe_time(self, now: float) -> float:
        """When to probe next: just before the expected refill, or after ``probe_interval``."""
        period, last = self._period, self._last_refill
        if period is None or last is None:
            return now + self.probe_interval
        since = now - last
        phase = since % period
        if since >= period and phase < min(0.1, period / 10):
            return now + self.fine_interval  # a refill is due about now (one went unseen)
        # Otherwise (drained right after the refill just seen, too) just before the next one.
        return now + max(self.fine_interval, period - phase - 2 * self.fine_interval)

    def _record_refill(self, at: float) -> None:
        self.refills += 1
        self._gap *= 0.9  # probes get through again: ease off the gap, slowly
        last, self._last_refill = self._last_refill, at
        if last is None:
            return
        interval = at - last
        if interval < 0.05:
            return
        period = self._period
        if period is None:
            self._period = interval
        elif abs(interval - period) <= 0.2 * period:
            self._period = 0.75 * period + 0.25 * interval
        elif interval > period:
            multiple = round(interval / period)
            if abs(interval - multiple * period) > 0.1 * period:
                self._period = interval  # not a whole number of periods: relearn
        else:
            self._period = interval

    async def _wait_change(self, until: float | None, deadline: float | None) -> None:
        import anyio

        event = self._changed
        if event is None:
            event = self._changed = anyio.Event()
        limit = deadline if until is None else (until if deadline is None else min(until, deadline))
        if limit is None:
            await event.wait()
            return
        now = self._clock.now()
        if deadline is not None and now >= deadline:
            raise Throttled(self._expected_wait(now), advised=False)
        if self._in_flight == 0 and until is not None:
            await self._clock.sleep(limit - now)  # nothing in flight can change the state
            return
        await wait_event(self._clock, event, limit - now)

    def _expected_wait(self, now: float) -> float:
        if self._next_probe > now:
            return self._next_probe - now
        return self.fine_interval

    def _notify(self) -> None:
        event = self._changed
        if event is not None:
            self._changed = None
            event.set()
