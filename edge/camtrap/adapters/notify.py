"""Notification sink: tells a ranger's phone of each hit, with its picture and the trap's
location, through Apprise (ntfy, Telegram, e-mail, Signal and ~100 more services, by URL).

* Fed from the durable outbox like MQTT: each URL is its own sink (``notify_<hash>``), a hit is
  marked sent for it only when that service accepted the notification, so across restarts and
  outages every event id is told once per URL (and a URL that fails does not make the others
  send twice).
* `camtrap.core.alerts` decides when: a rate limit per trap (its last send time is kept in the
  outbox, so a power-gated Pi that boots per event still honours it) and quiet hours; hits that
  wait go out together in the next notification.
* A failure (timeout, HTTP 500, no network) is retried with exponential backoff
  (`camtrap.core.outbox_policy.backoff_delay`); the hits stay queued meanwhile.
* The URLs carry tokens and passwords: they come from a file, are never logged (ours log the
  sink name; Apprise's own log lines pass a filter that blanks them) and never shown in a repr.
* One worker thread sends, so a slow service never holds up the trap's loop; ``drain()`` only
  wakes it. Apprise is imported lazily: it is the optional ``[notify]`` extra.

    notifier = AppriseNotifier(outbox, targets_from_file(path), policy, clock, device_id="trap-07")
    notifier.start()
    outbox.add(hit, picture)
    notifier.drain()   # the worker sends it (or waits: rate limit, quiet hours, backoff)
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from camtrap.adapters.outbox import Outbox
from camtrap.adapters.secrets import SecretFileError, read_private
from camtrap.config import NotifyConfig
from camtrap.core.alerts import Location, Notice, NotifyPolicy, compose, decide, parse_quiet_hours
from camtrap.core.outbox_policy import backoff_delay
from camtrap.core.ports import Clock
from camtrap.core.types import Hit
from camtrap.errors import ConfigError

log = logging.getLogger(__name__)

NOWHERE = Location()  # no name, no coordinates: the notification says nothing of a place
SINK_PREFIX = "notify_"
BATCH = 50  # hits one notification may tell of (the rest go in the next one)
IDLE_S = 30.0  # the worker also looks at the outbox this often without a drain()
EXTRA = "pip install 'camtrap[notify]'"

# sends one notification: (url, title, body, picture JPEG or None, picture file name) -> ok
Send = Callable[[str, str, str, "bytes | None", str], bool]


@dataclass(frozen=True)
class NotifyTarget:
    """One Apprise URL and the outbox sink that tracks what it was told."""

    url: str = field(repr=False)  # a secret: tokens, passwords
    line: int = 0  # where it came from in the URLs file, for messages

    @property
    def sink(self) -> str:
        return SINK_PREFIX + hashlib.sha256(self.url.encode()).hexdigest()[:8]

    def __repr__(self) -> str:
        return f"NotifyTarget({self.sink}, line {self.line})"


def read_targets(
    path: str | Path, source: str = "<config>", key: str = "notify.urls_file"
) -> tuple[NotifyTarget, ...]:
    """The URLs in ``path`` (one per line; blank lines and ``#`` comments skipped), each
    checked by Apprise; a `ConfigError` names the key and line, never the URL itself."""
    try:  # the URLs hold tokens: refused when others may read them, as the MQTT password
        text = read_private(path, "notification URLs file")
    except SecretFileError as e:
        fixed = e.problem.replace("chmod 600 it", f"chmod 600 {e.path}")
        problem = fixed if fixed != e.problem else f"{e.problem} ({e.path})"
        raise ConfigError(source, key, problem) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(source, key, f"cannot read: {e}") from None
    targets = []
    for n, raw in enumerate(text.splitlines(), start=1):
        url = raw.strip()
        if url and not url.startswith("#"):
            check_url(url, source, f"{key}: line {n}")
            targets.append(NotifyTarget(url, n))
    if not targets:
        raise ConfigError(source, key, f"{path}: no notification URL in it")
    if len({t.sink for t in targets}) != len(targets):
        raise ConfigError(source, key, f"{path}: the same URL is given twice")
    return tuple(targets)


def check_notify(cfg: NotifyConfig, source: str = "<config>") -> NotifySetup:
    """Every ``[notify]`` rule, and the URLs file read and each URL checked by Apprise (what
    `camtrap validate-config` and `camtrap run` apply); a `ConfigError` names the key."""
    if cfg.backoff_min_s > cfg.backoff_max_s:
        raise ConfigError(source, "notify.backoff_min_s", "must be <= notify.backoff_max_s")
    try:
        quiet = parse_quiet_hours(cfg.quiet_hours)
    except ValueError as e:
        raise ConfigError(source, "notify.quiet_hours", str(e)) from None
    try:
        tz = ZoneInfo(cfg.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            source, "notify.timezone", f"unknown time zone {cfg.timezone!r}"
        ) from None
    targets = read_targets(cfg.urls_file, source)
    return NotifySetup(targets, NotifyPolicy(cfg.min_interval_s, quiet), tz)


@dataclass(frozen=True)
class NotifySetup:
    """``[notify]`` checked: the targets, the policy, the quiet hours' time zone."""

    targets: tuple[NotifyTarget, ...]
    policy: NotifyPolicy
    tz: tzinfo


def build_notifier(
    cfg: NotifyConfig,
    setup: NotifySetup,
    outbox: Outbox,
    clock: Clock,
    device_id: str,
    location: Location = NOWHERE,
) -> AppriseNotifier:
    return AppriseNotifier(
        outbox,
        setup.targets,
        setup.policy,
        clock,
        device_id=device_id,
        location=location,
        tz=setup.tz,
        backoff_min_s=cfg.backoff_min_s,
        backoff_max_s=cfg.backoff_max_s,
    )


def check_url(url: str, source: str, where: str) -> None:
    """A `ConfigError` unless Apprise can build a service from ``url`` (named by scheme only)."""
    apprise = _apprise(source, where)
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if not scheme:
        raise ConfigError(source, where, "not an Apprise URL (want SCHEME://..., e.g. ntfy://)")
    if apprise.Apprise.instantiate(url) is None:
        raise ConfigError(
            source, where, f"not a valid Apprise URL for scheme {scheme!r} (the URL is not shown)"
        )


def _apprise(source: str, where: str) -> Any:
    try:
        import apprise
    except ImportError:
        raise ConfigError(source, where, f"needs the apprise package: {EXTRA}") from None
    return apprise


def apprise_send(url: str, title: str, body: str, picture: bytes | None, name: str) -> bool:
    """Send one notification with Apprise; True when the service accepted it."""
    import apprise
    from apprise.attachment.memory import AttachMemory

    ap = apprise.Apprise()
    if not ap.add(url):
        return False
    attach = None
    if picture is not None:
        attach = apprise.AppriseAttachment()
        attach.add(AttachMemory(content=picture, name=name, mimetype="image/jpeg"))
    return bool(ap.notify(body=body, title=title, attach=attach))


class SecretFilter(logging.Filter):
    """Blanks the URLs (and their long parts: tokens, passwords) out of Apprise's log lines."""

    def __init__(self, urls: Sequence[str]) -> None:
        super().__init__()
        parts = {u for u in urls} | {p for u in urls for p in _secret_parts(u)}
        self._secrets = sorted(parts, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = text
        for s in self._secrets:
            clean = clean.replace(s, "<secret>")
        if clean != text:
            record.msg, record.args = clean, None
        return True


def _secret_parts(url: str) -> list[str]:
    rest = url.split("://", 1)[-1]
    pieces = [p for chunk in rest.replace("@", "/").replace("?", "/").split("/") for p in [chunk]]
    pieces += [p.split("=", 1)[-1] for p in rest.split("?", 1)[-1].split("&")]
    pieces += [q for p in pieces for q in p.split(":")]
    return [p for p in pieces if len(p) >= 6]


@dataclass
class _TargetState:
    attempt: int = 0
    retry_at: float = 0.0  # monotonic; no send before it (backoff)


class AppriseNotifier:
    """A Publisher (start/drain/publish_telemetry/stop) for the notification sinks."""

    def __init__(
        self,
        outbox: Outbox,
        targets: Sequence[NotifyTarget],
        policy: NotifyPolicy,
        clock: Clock,
        *,
        device_id: str,
        location: Location = NOWHERE,
        tz: tzinfo = UTC,
        backoff_min_s: float = 5.0,
        backoff_max_s: float = 600.0,
        send: Send = apprise_send,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.outbox, self.targets, self.policy, self.clock = outbox, tuple(targets), policy, clock
        self.device_id, self.location, self.tz = device_id, location, tz
        self.backoff_min_s, self.backoff_max_s = backoff_min_s, backoff_max_s
        self._send, self._jitter = send, jitter
        self._state = {t.sink: _TargetState() for t in self.targets}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._filter = SecretFilter([t.url for t in self.targets])
        self.counts = {"notifications_sent": 0, "notifications_failed": 0, "notify_held": 0}

    def __repr__(self) -> str:  # never show the URLs
        return f"AppriseNotifier({len(self.targets)} target(s))"

    # ---------------------------------------------------------------- Publisher

    def start(self) -> None:
        if self._thread is not None:
            return
        logging.getLogger("apprise").addFilter(self._filter)
        self._thread = threading.Thread(target=self._run, name="camtrap-notify", daemon=True)
        self._thread.start()

    def drain(self) -> int:
        """Wake the worker; it sends what is due. Returns 0: sending happens off this thread."""
        self._wake.set()
        return 0

    def publish_telemetry(self, counters: Mapping[str, object]) -> None:
        """Nothing to publish: notifications are for hits."""

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("notify: worker did not stop within %.0f s (a slow service)", timeout)
            self._thread = None
        logging.getLogger("apprise").removeFilter(self._filter)

    def counters(self) -> dict[str, int]:
        return dict(self.counts)

    def due(self) -> bool:
        """Something could go out now: queued, not held by quiet hours, rate limit or backoff.
        (The bounded drain before a power-gated halt waits for these only.)"""
        mono, now = self.clock.monotonic(), self.clock.now()
        for t in self.targets:
            if mono < self._state[t.sink].retry_at or not self.outbox.count_pending(t.sink):
                continue
            last = self.outbox.read_value(f"{t.sink}:last_sent")
            if decide(self.policy, now, last, self.tz).send:
                return True
        return False

    def pending(self) -> int:
        """Notifications not yet sent, over all targets (hits x URLs)."""
        return sum(self.outbox.count_pending(t.sink) for t in self.targets)

    # ---------------------------------------------------------------- worker

    def _run(self) -> None:
        while not self._stopping.is_set():
            wait = IDLE_S
            for target in self.targets:
                if self._stopping.is_set():
                    return
                try:
                    wait = min(wait, self.step(target))
                except Exception:  # the worker must outlive an outbox or Apprise surprise
                    log.exception("notify: %s: unexpected failure", target.sink)
            self._wake.wait(max(0.05, wait))
            self._wake.clear()

    def step(self, target: NotifyTarget) -> float:
        """Send what is due for ``target``; returns seconds until it should be looked at again."""
        state = self._state[target.sink]
        mono = self.clock.monotonic()
        if mono < state.retry_at:
            return state.retry_at - mono
        queued = self.outbox.pending_with_images(target.sink, limit=BATCH)
        if not queued:
            return IDLE_S
        now = self.clock.now()
        last = self.outbox.read_value(f"{target.sink}:last_sent")
        decision = decide(self.policy, now, last, self.tz)
        if not decision.send:
            self.counts["notify_held"] += 1
            log.info("notify: %s: %d hit(s) held (%s)", target.sink, len(queued), decision.reason)
            return max(0.05, (decision.wait_until or now + IDLE_S) - now)
        return self._deliver(target, state, queued, now)

    def _deliver(
        self,
        target: NotifyTarget,
        state: _TargetState,
        queued: list[tuple[Hit, bytes | None]],
        now: float,
    ) -> float:
        hits = [h for h, _ in queued]
        pictures = {h.event_id: p for h, p in queued if p is not None}
        notice = compose(hits, list(pictures), self.device_id, self.location, now)
        if not self._try_send(target, notice, pictures):
            return self._back_off(target, state)
        state.attempt, state.retry_at = 0, 0.0
        self.outbox.write_value(f"{target.sink}:last_sent", int(now))
        for event_id in notice.event_ids:
            self.outbox.mark_sent(event_id, target.sink)
        self.counts["notifications_sent"] += 1
        log.info("notify: %s: told of %s", target.sink, ", ".join(notice.event_ids))
        return 0.0 if self.outbox.count_pending(target.sink) else IDLE_S

    def _try_send(
        self, target: NotifyTarget, notice: Notice, pictures: Mapping[str, bytes]
    ) -> bool:
        picture = pictures.get(notice.picture_of) if notice.picture_of else None
        name = f"{notice.picture_of}.jpg"
        try:
            return self._send(target.url, notice.title, notice.body, picture, name)
        except Exception as e:  # Apprise catches most; a plugin bug must not kill the worker
            log.warning("notify: %s: %s", target.sink, type(e).__name__)
            return False

    def _back_off(self, target: NotifyTarget, state: _TargetState) -> float:
        delay = backoff_delay(state.attempt, self.backoff_min_s, self.backoff_max_s, self._jitter())
        state.attempt += 1
        state.retry_at = self.clock.monotonic() + delay
        self.counts["notifications_failed"] += 1
        waiting = self.outbox.count_pending(target.sink)
        log.warning(
            "notify: %s: not delivered (%d hit(s) waiting); retrying in %.1f s",
            target.sink,
            waiting,
            delay,
        )
        return delay
