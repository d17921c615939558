"""The whole power-gated chain in one process, over real ptys and a real broker.

    PIR -> MCU firmware (trapfw.app.App, the loop of trapfw.hal.main) -> Pi power pin on
        -> Pi service (camtrap.app.run_field, the loop `camtrap run` runs) over a pty:
           HELLO, READY -> TRIGGER(seq) -> replayed burst -> demo model -> verdict
        -> outbox -> MQTT hit (real Mosquitto) and HIT frame -> MCU queue
        -> LoRaWAN modem (tests/lora/fake_modem.py, a LoRa-E5 on a second pty) uplink
    RESULT -> SHUTDOWN request -> Pi acks, halts -> halt line -> MCU cuts the Pi's power

Two events, each a full power cycle of the Pi (a fresh service on the same data directory):
a leopard burst (a hit) and an empty burst (a miss). Only the hardware is simulated: the PIR,
the Pi's power switch and halt line (`PiBoard`), and the modem. Every wait is a bounded poll.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest

from camtrap.adapters.outbox import Outbox
from camtrap.app import FieldPorts, run_field
from camtrap.config import parse_config
from camtrap.core.types import make_event_id
from camtrap.detector import build_detector
from camtrap.sim.bursts import discover
from camtrap.sim.replay_camera import ReplayCamera
from tests.conftest import wait_for
from tests.lora.fake_modem import FakeModem, ModemUart
from trapfw import app, link, payload, radio, settings, state

ROOT = Path(__file__).resolve().parents[2]
LEOPARD = ROOT / "demo/bursts/leopard/leopard-s7-000"
EMPTY = ROOT / "demo/bursts/empty/empty-s7-000"
MODEL = ROOT / "models/camtrap-demo/model.tflite"
DEVICE = "trap-07"
MCU_BATTERY_MV = 3900


T = TypeVar("T")


def until(condition: Callable[[], T], timeout: float, what: str) -> T:
    """`wait_for` (a bounded poll) returning the condition's truthy value, typed."""
    return cast(T, wait_for(condition, timeout, what))


def now_ms() -> int:
    return int(time.monotonic() * 1000)


class PiBoard:
    """The Raspberry Pi as the MCU sees it: a power switch, a halt line, a UART.

    Power on boots the camtrap service (`run_field`) in a thread with the next recorded burst
    in front of its replay camera; the MCU's SHUTDOWN makes the service stop (what
    ``systemctl poweroff`` does with SIGTERM), and once it has returned the halt line goes
    high (``dtoverlay=gpio-poweroff``). Cutting the power of a running service is recorded.
    """

    def __init__(self, cfg: Any, detector: Any, bursts: list[Path], clock: Any = None) -> None:
        self.cfg, self.detector, self.bursts = cfg, detector, list(bursts)
        self.clock = clock  # the Pi's system clock; None: the real one
        self.boots = 0
        self.halted = threading.Event()
        self.cut_while_running = 0
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def power(self, on: bool) -> None:
        if on and not self.running:
            self.boots += 1
            self.halted.clear()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._boot, name="pi", daemon=True)
            self._thread.start()
        elif not on:
            if self.running:
                self.cut_while_running += 1
                self._stop.set()
            self.halted.clear()

    def _boot(self) -> None:
        burst = discover([self.bursts.pop(0)])
        camera = ReplayCamera(burst, tuple(self.detector.classifier.input_size))
        ports = FieldPorts(camera=camera, halt=self._stop.set, clock=self.clock)
        try:
            run_field(self.cfg, "<test>", self.detector, self._stop, ports)
        except BaseException as e:  # reported by the test
            self.errors.append(e)
        self.halted.set()


class McuBoard:
    """The hal surface `trapfw.app.App` drives (see trapfw.hal.Board), over real ptys."""

    def __init__(self, pi: PiBoard, link_fd: int) -> None:
        self.pi, self.fd = pi, link_fd
        self.pir = threading.Event()
        self.power_log: list[bool] = []
        self.logs: list[str] = []

    def now_ms(self) -> int:
        return now_ms()

    def take_pir(self) -> bool:
        if self.pir.is_set():
            self.pir.clear()
            return True
        return False

    def halt_level(self) -> bool:
        return self.pi.halted.is_set()

    def battery_mv(self) -> int:
        return MCU_BATTERY_MV

    def pi_power(self, on: bool) -> None:
        self.power_log.append(bool(on))
        self.pi.power(bool(on))

    def pi_read(self) -> bytes | None:
        try:
            return os.read(self.fd, 512) or None
        except BlockingIOError:
            return None

    def pi_write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def log(self, text: str) -> None:
        self.logs.append(text)


def pi_config(tmp_path: Path, link_port: str, broker: Any) -> Any:
    return parse_config(
        {
            "device": {"id": DEVICE, "mode": "power-gated", "data_dir": str(tmp_path / "pi")},
            "trigger": {"source": "mcu", "cooldown_s": 0.0},
            "camera": {"frames": 5, "interval_s": 0.0},
            "model": {"path": str(MODEL), "num_threads": 1},
            "mqtt": {
                "enabled": True,
                "host": broker.host,
                "port": broker.port,
                "backoff_min_s": 0.1,
                "backoff_max_s": 1.0,
            },
            "link": {"port": link_port, "halt_command": "", "shutdown_hold_s": 5.0},
            "lora": {"enabled": True, "via": "mcu"},
            "time": {"set_system_clock": False},  # never the test machine's clock
        },
        "<test>",
    )


@contextmanager
def running_mcu(
    mcu: McuBoard, fw_cfg: Any, modem_path: str, mcu_time: float | None = None
) -> Iterator[app.App]:
    """The firmware started as trapfw.hal.main() does, its loop in a thread while in use.

    The radio is the real `LoraRadio` (uplink scheduler + LoRa-E5 AT driver), built lazily
    as on the board, on a pyserial port to the simulated modem's pty.
    """
    uarts: list[ModemUart] = []

    def lora() -> radio.LoraRadio:
        uarts.append(ModemUart(modem_path))
        return radio.LoraRadio(uarts[-1], fw_cfg, now_ms(), configure=False)

    fw = app.App(mcu, fw_cfg, state.Ring(state.MemSlots()), app.LazyRadio(lora))
    fw.start(now_ms(), "cold")
    if mcu_time is not None:  # what the network's DeviceTimeAns (or an RTC) gave the MCU
        fw.dispatch(("time", (int(mcu_time), 2, link.TIME_SRC_NETWORK)), now_ms())
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            fw.poll(now_ms())
            stop.wait(0.002)

    thread = threading.Thread(target=loop, name="mcu", daemon=True)
    thread.start()
    try:
        yield fw
    finally:
        stop.set()
        thread.join(5)
        for uart in uarts:
            uart.port.close()


def hit_uplinks(modem: FakeModem) -> list[dict[str, Any]]:
    return [payload.decode(p, d) for p, d in list(modem.sent) if p == payload.FPORT_HIT]


def one_event(mcu: McuBoard, pi: PiBoard, boots: int) -> None:
    """PIR at the MCU, then wait for the Pi to have booted, halted and lost its power."""
    mcu.pir.set()
    wait_for(lambda: pi.boots == boots, 5.0, f"the MCU to power the Pi (boot {boots})")
    wait_for(
        lambda: mcu.power_log[-1] is False and not pi.running,
        15.0,
        f"the MCU to cut the Pi's power after event {boots}",
    )
    assert not pi.errors, pi.errors


def test_a_pir_event_runs_mcu_pi_mqtt_and_lora_end_to_end(
    tmp_path, link_pty, mosquitto, mqtt_subscriber
):
    master, link_port = link_pty
    cfg = pi_config(tmp_path, link_port, mosquitto)
    detector = build_detector(cfg.model, cfg.verdict, cfg.regions)
    fw_cfg = settings.validate(
        {"device_id": DEVICE, "mode": "power-gated", "lockout_s": 0, "modem": "lora-e5"}
    )
    sub = mqtt_subscriber(mosquitto.host, mosquitto.port, f"camtrap/{DEVICE}/#")
    pi = PiBoard(cfg, detector, [LEOPARD, EMPTY])
    mcu = McuBoard(pi, master)
    with FakeModem("lora-e5") as modem, running_mcu(mcu, fw_cfg, modem.path) as fw:
        one_event(mcu, pi, 1)  # the leopard: MQTT hit and LoRa uplink
        [uplink] = until(lambda: hit_uplinks(modem), 5.0, "the hit's LoRa uplink")
        hit_topic = f"camtrap/{DEVICE}/hit"
        [raw] = until(lambda: sub.payloads(hit_topic), 5.0, "the MQTT hit")
        hit = json.loads(raw)
        first_seq = fw.state.event_seq

        one_event(mcu, pi, 2)  # the empty burst: counted only
        telemetry = until(
            lambda: [json.loads(p) for p in sub.payloads(f"camtrap/{DEVICE}/telemetry")][1:],
            5.0,
            "telemetry from the second boot",
        )

    # one event id, from the MCU's sequence, on both paths
    assert hit["event_seq"] == first_seq
    assert hit["event_id"] == make_event_id(DEVICE, first_seq)
    assert uplink["event_seq"] == hit["event_seq"]
    assert uplink["label"] == hit["label"] == "leopard"
    assert uplink["frames_agreeing"] == hit["frames_agreeing"] >= 2
    assert uplink["frames_classified"] == hit["frames_classified"]
    assert uplink["score"] == pytest.approx(hit["score"], abs=0.005)
    assert uplink["battery_mv"] == pytest.approx(MCU_BATTERY_MV, abs=20)  # the MCU's reading
    # the MQTT hit went out before the shutdown's telemetry, with the TRIGGER's reading
    assert hit["battery_mv"] == MCU_BATTERY_MV

    # the empty burst: a miss under the MCU's next sequence, no hit anywhere, but counted
    assert fw.state.event_seq == first_seq + 1
    assert len(hit_uplinks(modem)) == 1 and len(sub.payloads(hit_topic)) == 1
    assert telemetry[-1]["bursts"] == 1 and telemetry[-1]["misses"] == 1
    assert telemetry[-1]["hits"] == 0 and telemetry[-1]["battery_mv"] == MCU_BATTERY_MV
    assert (fw.state.triggers, fw.state.hits) == (2, 1)
    stored = [json.loads(p.read_text()) for p in (tmp_path / "pi/bursts").rglob("burst.json")]
    assert sorted((r["event_id"], r["verdict"]["verdict"]) for r in stored) == [
        (make_event_id(DEVICE, first_seq), "hit"),
        (make_event_id(DEVICE, first_seq + 1), "miss"),
    ]

    # power: held off at the cold boot, on for each event, cut only after the SHUTDOWN
    # handshake and the halt line
    assert mcu.power_log == [False, True, False, True, False]
    assert pi.cut_while_running == 0 and fw.state.name == "sleep"
    assert not fw.faults, fw.faults  # no boot failure, burst timeout or halt without a request
    assert sum(fw.link.stats[k] for k in ("cobs", "crc", "short", "oversize")) == 0
    assert not fw.state.queue  # the MCU's hit queue went out on the radio

    # nothing waits in the Pi's outbox for MQTT or for the MCU
    outbox = Outbox(tmp_path / "pi" / "outbox.db", sinks=("mqtt", "lora"))
    try:
        assert outbox.count_pending() == 0
    finally:
        outbox.close()


class Clock1970:
    """A Pi without an RTC or network at boot: its clock starts at 1970 and runs from there."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def now(self) -> float:
        return 10.0 + (time.monotonic() - self._t0)

    def monotonic(self) -> float:
        return time.monotonic()


def test_a_pi_booting_at_1970_dates_every_record_with_the_mcus_time(
    tmp_path, link_pty, mosquitto, mqtt_subscriber
):
    master, link_port = link_pty
    cfg = pi_config(tmp_path, link_port, mosquitto)
    detector = build_detector(cfg.model, cfg.verdict)
    fw_cfg = settings.validate(
        {"device_id": DEVICE, "mode": "power-gated", "lockout_s": 0, "modem": "lora-e5"}
    )
    sub = mqtt_subscriber(mosquitto.host, mosquitto.port, f"camtrap/{DEVICE}/hit")
    pi = PiBoard(cfg, detector, [LEOPARD, EMPTY], clock=Clock1970())
    mcu = McuBoard(pi, master)
    real = time.time()  # the MCU's clock, set by the network before the first event
    with FakeModem("lora-e5") as modem, running_mcu(mcu, fw_cfg, modem.path, real) as fw:
        one_event(mcu, pi, 1)
        [raw] = until(lambda: sub.payloads(f"camtrap/{DEVICE}/hit"), 5.0, "the MQTT hit")
        [uplink] = until(lambda: hit_uplinks(modem), 5.0, "the hit's LoRa uplink")
        one_event(mcu, pi, 2)
    elapsed = time.time() - real

    stored = [json.loads(p.read_text()) for p in (tmp_path / "pi/bursts").rglob("burst.json")]
    assert len(stored) == 2
    for record in stored:
        assert record["time_source"] == "mcu"
        assert 2 <= record["time_uncertainty_s"] <= 10
        trigger = datetime.fromisoformat(record["trigger_time"].replace("Z", "+00:00"))
        assert real - 2 <= trigger.timestamp() <= real + elapsed + 2  # the MCU's time, not 1970
    assert not list((tmp_path / "pi/bursts").glob("undated/*"))
    hit = json.loads(raw)
    hit_time = datetime.fromisoformat(hit["time"].replace("Z", "+00:00")).timestamp()
    assert real - 2 <= hit_time <= real + elapsed + 2
    assert hit["age_s"] is not None and 0 <= hit["age_s"] <= elapsed + 2  # not 1.8e9 s
    assert uplink["age_s"] is not None and uplink["age_s"] <= elapsed + 2
    syncs = [json.loads(x) for x in (tmp_path / "pi/timesync.jsonl").read_text().splitlines()]
    assert len(syncs) == 2 and {s["source"] for s in syncs} == {"mcu"}  # one per boot
    assert fw.state.time_offset is not None
