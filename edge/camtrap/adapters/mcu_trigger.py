"""The MCU's triggers as the `TriggerSource` port (power-gated design), over `McuLink`.

`McuTriggerSource` sends HELLO at start (and TIME, only when the Pi's clock is synchronised),
READY on the first `wait`; the MCU's TIME (at the Pi's HELLO, before any TRIGGER) dates the
Pi's clock when nothing better does; it answers each trigger with a RESULT (`report`, or
``done`` when the app does not report), and on the MCU's SHUTDOWN request runs ``linger``
(the app: drain MQTT, bounded by ``[link] mqtt_linger_s``), acknowledges, waits for queued
HITs to be acknowledged (bounded by ``[link] shutdown_hold_s``), and runs the halt command.
A dead link (`McuLink.check_alive`) makes the next `wait` raise `LinkError`.

    src = open_trigger_source(cfg, clock)     # [trigger] source = "mcu"
    meta = src.wait(1.0)                      # BurstMeta(source="mcu", event_seq=42) or None
    src.report(meta, event_id, result)        # RESULT(42, hit|miss|error)
"""

from __future__ import annotations

import logging
import queue
import shlex
import subprocess
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from camtrap.adapters.mcu_link import McuLink, open_serial
from camtrap.core.pipeline import BurstResult
from camtrap.core.ports import Clock
from camtrap.core.types import BurstMeta
from camtrap.errors import UsageError
from trapfw import link

if TYPE_CHECKING:
    from camtrap.adapters.timesync import TrustedClock

log = logging.getLogger("camtrap.mcu")

SOURCE = "mcu"  # BurstMeta.source of triggers from the MCU; the sequence is meta.event_seq
VERSION = "camtrap-pi"
VERDICT_CODES = {"hit": link.VERDICT_HIT, "miss": link.VERDICT_MISS, "error": link.VERDICT_ERROR}
ACK_SETTLE_S = 1.0  # after a late SHUTDOWN ack, this long for it (and HITs) to be acknowledged
UNKNOWN_DOUBT_S = 3600.0  # an MCU that cannot say how far off it is: an hour, flagged in exports
# where the MCU had its time (TIME's source byte), for the Pi's sync log (docs/export.md)
TIME_ORIGINS = {
    link.TIME_SRC_CARRIED: "carried",
    link.TIME_SRC_NETWORK: "network",
    link.TIME_SRC_RTC: "rtc",
}


class McuTriggerSource:
    """The `TriggerSource` port fed by TRIGGER frames from the MCU."""

    def __init__(
        self,
        mcu: McuLink,
        device_id: str,
        clock: Clock,
        *,
        frame_interval_s: float,
        max_queued: int = 4,
        halt: Callable[[], None] | None = None,
        hold_s: float = 10.0,
        linger: Callable[[], object] | None = None,
        timekeeper: TrustedClock | None = None,
    ) -> None:
        self.mcu, self.device_id, self.clock = mcu, device_id, clock
        # the MCU's TIME dates this clock when nothing better does; None: the clock is trusted
        self.timekeeper = timekeeper
        self.frame_interval_s = frame_interval_s
        self.halt, self.hold_s = halt, hold_s
        # run before acknowledging SHUTDOWN, bounded by its owner (the app drains MQTT there);
        # the app sets it once its publishers exist, which need this source's link
        self.linger = linger
        self._queue: queue.Queue[BurstMeta] = queue.Queue(maxsize=max_queued)
        self._open: list[int] = []  # sequences handed out without a RESULT yet
        self._ready_sent = False
        self.battery_mv: int | None = None
        self.mcu_version: str | None = None
        self.skipped = 0
        self.halting = threading.Event()
        mcu.on(link.TRIGGER, self._on_trigger)
        mcu.on(link.SHUTDOWN, self._on_shutdown)
        mcu.on(link.HELLO, self._on_hello)
        mcu.on(link.STATUS, self._on_status)
        mcu.on(link.TIME, self._on_time)

    def start(self) -> None:
        self.mcu.start()
        self.mcu.send(link.HELLO, link.hello_body(link.ROLE_PI, VERSION))
        body = self._time_for_mcu()
        if body is not None:
            self.mcu.send(link.TIME, body)

    def _time_for_mcu(self) -> bytes | None:
        """Our time for the MCU's clock, only when it is synchronised: a Pi at 1970 must not
        set the clock that is to date its bursts."""
        if self.timekeeper is None:
            return link.time_body(self.clock.now())
        status = self.timekeeper.status()
        if status.source not in ("ntp", "system"):
            return None
        return link.time_body(self.clock.now(), status.uncertainty_s, link.TIME_SRC_NTP)

    # -- the TriggerSource port

    def wait(self, timeout_s: float | None) -> BurstMeta | None:
        self.mcu.check_alive()
        if not self._ready_sent:
            self._ready_sent = True
            self.mcu.send(link.READY)
        self._finish_unreported()
        try:
            meta = self._queue.get(timeout=timeout_s) if timeout_s else self._queue.get_nowait()
        except queue.Empty:
            return None
        if meta.event_seq is not None:
            self._open.append(meta.event_seq)
        return meta

    def report(self, meta: BurstMeta, event_id: str, result: BurstResult | None) -> None:
        """The burst of ``meta`` is decided: RESULT(seq, verdict); no result reads as error.
        Fits the service's on_result."""
        seq = meta.event_seq
        if seq is None or seq not in self._open:
            return
        self._open.remove(seq)
        decision = "error" if result is None else result.verdict.decision
        self.mcu.send(link.RESULT, link.result_body(seq, VERDICT_CODES.get(decision, 2)))

    def close(self) -> None:
        self.mcu.close()

    @property
    def overflowed(self) -> int:
        """Triggers answered SKIPPED because the queue was full (the app's triggers_dropped)."""
        return self.skipped

    def read_battery(self) -> int | None:
        """The MCU's latest battery reading, mV (from TRIGGER and STATUS), None before one."""
        return self.battery_mv

    def counters(self) -> dict[str, int | None]:
        """For the app's telemetry: the MCU's battery reading and the link's health."""
        return {
            "battery_mv": self.battery_mv,
            "link_bad_frames": self.mcu.bad_frames(),
            "link_handler_errors": self.mcu.handler_errors,
            "link_reader_restarts": self.mcu.reader_restarts,
        }

    # -- handlers (reader thread)

    def _on_trigger(self, msg: link.Msg) -> None:
        seq, _, battery_mv = link.parse_trigger(msg.body)
        self.battery_mv = battery_mv or self.battery_mv
        meta = BurstMeta(
            source=SOURCE,
            device_id=self.device_id,
            trigger_time=self.clock.now(),
            frame_interval_s=self.frame_interval_s,
            pir_pulses=(0.0,),  # the MCU's PIR went high at the trigger, as with the gpio PIR
            event_seq=seq,
        )
        try:
            self._queue.put_nowait(meta)
        except queue.Full:
            self.skipped += 1
            self.mcu.send(link.RESULT, link.result_body(seq, link.VERDICT_SKIPPED))

    def _on_hello(self, msg: link.Msg) -> None:
        _, _, self.mcu_version = link.parse_hello(msg.body)
        log.info("mcu: %s", self.mcu_version)

    def _on_time(self, msg: link.Msg) -> None:
        """The MCU's clock (sent when the Pi says HELLO, before any TRIGGER)."""
        unix_s, doubt, source = link.parse_time_full(msg.body)
        if self.timekeeper is None:
            return
        doubt_s = float(doubt) if doubt is not None else UNKNOWN_DOUBT_S
        origin = TIME_ORIGINS.get(source, "carried")
        if self.timekeeper.on_mcu_time(float(unix_s), doubt_s, origin):
            log.info("time: from the MCU (%s, +/- %.0f s)", origin, doubt_s)

    def _on_status(self, msg: link.Msg) -> None:
        if not msg.body:
            return  # an empty STATUS is a request; the Pi has nothing to report
        self.battery_mv = link.parse_status(msg.body)[0] or self.battery_mv

    def _on_shutdown(self, msg: link.Msg) -> None:
        if msg.body[:1] != bytes((link.SHUTDOWN_REQUEST,)) or self.halting.is_set():
            return
        self.halting.set()
        threading.Thread(target=self._halt, name="mcu-halt", daemon=True).start()

    def _halt(self) -> None:
        """Linger (MQTT), ack, let queued messages (HITs) reach the MCU, then halt.

        Both bounds count from the request, so the halt command runs at most
        ``max(linger bound, hold_s)`` (plus one link round trip for the ack) after it.
        """
        asked = self.clock.monotonic()
        if self.linger is not None:
            try:
                self.linger()
            except Exception as e:  # never keep the MCU waiting for a failing linger
                log.error("mcu: linger before halting failed: %s", e)
        self.mcu.send(link.SHUTDOWN, link.shutdown_body(link.SHUTDOWN_ACK))
        deadline = max(asked + self.hold_s, self.clock.monotonic() + ACK_SETTLE_S)
        while not self.mcu.idle() and self.clock.monotonic() < deadline:
            threading.Event().wait(0.05)
        log.info("mcu asked the Pi to halt")
        if self.halt is not None:
            self.halt()

    def _finish_unreported(self) -> None:
        # The app asks for the next trigger: bursts it took and did not report are over.
        while self._open:
            seq = self._open.pop(0)
            self.mcu.send(link.RESULT, link.result_body(seq, link.VERDICT_DONE))


def halt_command(command: str) -> Callable[[], None] | None:
    """A callable running ``command`` (e.g. ``systemctl poweroff``), or None when empty."""
    if not command.strip():
        return None
    argv = shlex.split(command)

    def run() -> None:
        # The result is logged: a power-off that polkit refused must not pass in silence
        # (the MCU then cuts the power after its grace time, without a clean halt)
        try:
            done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as e:
            log.error("mcu: halt command %r failed: %s", command, e)
            return
        if done.returncode == 0:
            log.info("mcu: halt command %r ok", command)
        else:
            why = (done.stderr or done.stdout).strip().splitlines()
            log.error(
                "mcu: halt command %r exited %d: %s",
                command,
                done.returncode,
                why[-1] if why else "no output",
            )

    return run


def open_trigger_source(
    cfg: Any,
    clock: Clock,
    halt: Callable[[], None] | None = None,
    timekeeper: TrustedClock | None = None,
) -> McuTriggerSource:
    """The trigger source for ``[trigger] source = "mcu"``, started.

    ``halt`` runs when the MCU asks the Pi to halt; None: ``[link] halt_command``.
    """
    if cfg.trigger.source != "mcu":
        raise UsageError('open_trigger_source needs [trigger] source = "mcu"')
    lc = cfg.link
    mcu = McuLink(
        open_serial(lc.port, lc.baud), clock, ack_timeout_s=lc.ack_timeout_s, retries=lc.retries
    )
    src = McuTriggerSource(
        mcu,
        cfg.device.id,
        clock,
        frame_interval_s=cfg.camera.interval_s,
        max_queued=max(1, cfg.trigger.max_pending + 1),
        halt=halt or halt_command(lc.halt_command),
        hold_s=lc.shutdown_hold_s,
        timekeeper=timekeeper,
    )
    src.start()
    return src
