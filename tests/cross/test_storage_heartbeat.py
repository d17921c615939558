"""A storage fault on the Pi reaches the LoRa heartbeat, end to end.

    Pi service on a full data directory (a real tmpfs, filled: degraded, not an exit)
        -> HEALTH(storage) over the link (`camtrap.app.run_field`'s HealthReport, a real pty)
        -> the MCU firmware keeps the fault (CPython `trapfw.app.App`, as in the system test)
    the Pi's HEALTH frame, as it went over the wire
        -> the MCU under the real MicroPython VM (ESP32 branch of trapfw.hal, deep sleep =
           reset at every wake) -> heartbeats from its LoRa-E5 (tests/firmware/vmboard)
        -> `trapfw.payload.decode` and the TTN/ChirpStack formatter show ``storage_fault``

Root (a tmpfs is mounted), node and the demo model are needed; skipped with the reason
elsewhere, failing on CI.
"""

from __future__ import annotations

import pytest
from test_system_power_gated import (  # the system test's boards (same directory)
    DEVICE,
    LEOPARD,
    MODEL,
    McuBoard,
    PiBoard,
    one_event,
    pi_config,
    running_mcu,
)

from camtrap.detector import build_detector
from tests.conftest import wait_for
from tests.edge.smallfs import fill, small_fs
from tests.firmware.mpvm import require_vm
from tests.firmware.test_fw_esp32_vm import _sent, life
from tests.lora.fake_modem import FakeModem
from tests.lora.test_lora_formatter import run_formatter
from trapfw import link, payload, settings

pytestmark = [
    pytest.mark.broker,
    pytest.mark.node,
    pytest.mark.skipif(not MODEL.exists(), reason="no demo model"),
]
MiB = 1024 * 1024


class TapBoard(McuBoard):
    """The MCU's board, also decoding what the Pi sent it (a logic analyser on the UART)."""

    def __init__(self, pi: PiBoard, link_fd: int) -> None:
        super().__init__(pi, link_fd)
        self.decoder = link.Decoder()
        self.from_pi: list[link.Msg] = []

    def pi_read(self) -> bytes | None:
        data = super().pi_read()
        if data:
            self.from_pi += [m for m in self.decoder.feed(data) if isinstance(m, link.Msg)]
        return data


def test_a_full_data_dir_on_the_pi_shows_as_storage_fault_in_the_heartbeat(
    tmp_path, link_pty, mosquitto, mqtt_subscriber
):
    require_vm()
    master, link_port = link_pty
    with small_fs(tmp_path / "pi", 4 * MiB) as data:
        fill(data)  # the card is full before the Pi's first boot
        cfg = pi_config(tmp_path, link_port, mosquitto)  # data_dir = tmp_path / "pi"
        detector = build_detector(cfg.model, cfg.verdict, cfg.regions)
        fw_cfg = settings.validate(
            {"device_id": DEVICE, "mode": "power-gated", "lockout_s": 0, "modem": "lora-e5"}
        )
        sub = mqtt_subscriber(mosquitto.host, mosquitto.port, f"camtrap/{DEVICE}/hit")
        pi = PiBoard(cfg, detector, [LEOPARD])
        mcu = TapBoard(pi, master)
        with FakeModem("lora-e5") as modem, running_mcu(mcu, fw_cfg, modem.path) as fw:
            one_event(mcu, pi, 1)
            wait_for(lambda: sub.payloads(f"camtrap/{DEVICE}/hit"), 5.0, "the MQTT hit")
            assert fw.state.storage_fault  # kept in the MCU's state record
    health = [m for m in mcu.from_pi if m.mtype == link.HEALTH]
    assert [m.body for m in health] == [link.health_body(link.HEALTH_STORAGE)]
    assert mcu.from_pi.index(health[0]) < [m.mtype for m in mcu.from_pi].index(link.READY)

    # the same frame into the MCU under MicroPython: PIR at 30 s, heartbeats every 600 s
    frames = [(m.mtype, m.body.hex()) for m in health]
    vm = tmp_path / "vm"
    vm.mkdir()
    runs = life(vm, pirs=[30_000], end_ms=1_300_000, pi_frames=frames)
    beats = [d for _, p, d in _sent(vm, runs) if p == payload.FPORT_HEARTBEAT]
    assert len(beats) >= 2  # each one sent in a later life of the chip than the Pi's boot
    decoded = [payload.decode(payload.FPORT_HEARTBEAT, d) for d in beats]
    assert all(d["v"] == 2 and d["storage_fault"] for d in decoded), decoded
    assert sum(d["hits"] for d in decoded) == 1 and not any(d["low_battery"] for d in decoded)
    js = run_formatter([{"fPort": 11, "bytes": list(d)} for d in beats])
    assert [r["data"] for r in js] == decoded
    assert all("storage fault" in " ".join(r["warnings"]) for r in js)
