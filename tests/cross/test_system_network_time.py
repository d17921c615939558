"""The MCU's clock set by the LoRaWAN network, then given to a Pi that boots at 1970.

The same power-gated chain as tests/cross/test_system_power_gated.py (the firmware's App and
radio, the Pi service over a pty, a real broker), with the MCU's clock unset at the start and
the simulated modem (tests/lora/fake_modem.py, a LoRa-E5 or RAK3172 on a second pty) answering
the DeviceTimeReq that rides on the first hit's uplink. The first Pi boot has no time at all;
the second gets the MCU's clock in TIME with the network as its source, and dates its records.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from camtrap.detector import build_detector
from tests.conftest import wait_for
from tests.cross.test_system_power_gated import (
    DEVICE,
    EMPTY,
    LEOPARD,
    Clock1970,
    McuBoard,
    PiBoard,
    hit_uplinks,
    one_event,
    pi_config,
    running_mcu,
    until,
)
from tests.lora.fake_modem import FakeModem
from trapfw import fsm, link, settings


@pytest.mark.parametrize("kind", ["lora-e5", "rak3172"])
def test_the_networks_time_reaches_the_mcu_and_the_next_pi_boot_records_it(
    kind, tmp_path, link_pty, mosquitto
):
    master, link_port = link_pty
    cfg = pi_config(tmp_path, link_port, mosquitto)
    detector = build_detector(cfg.model, cfg.verdict)
    fw_cfg = settings.validate(
        {"device_id": DEVICE, "mode": "power-gated", "lockout_s": 0, "modem": kind}
    )
    pi = PiBoard(cfg, detector, [LEOPARD, EMPTY], clock=Clock1970())
    mcu = McuBoard(pi, master)
    with FakeModem(kind, utc=time.time) as modem, running_mcu(mcu, fw_cfg, modem.path) as fw:
        assert fsm.clock_now(fw.state, 0) is None  # nobody told the MCU the time yet
        one_event(mcu, pi, 1)  # the leopard: its hit uplink carries DeviceTimeReq
        until(lambda: hit_uplinks(modem), 5.0, "the hit's LoRa uplink")
        wait_for(lambda: fw.state.time_src == link.TIME_SRC_NETWORK, 10.0, "the network time")
        set_at = time.time()
        one_event(mcu, pi, 2)  # the empty burst: this Pi hears the time at HELLO
    told = fsm.clock_now(fw.state, int(time.monotonic() * 1000))
    assert told is not None and abs(told[0] - time.time()) <= 3 and told[1] <= 5
    assert modem.time_answered == 1 and len(modem.sent) == 1  # no uplink of its own

    records = {
        r["verdict"]["verdict"]: r
        for r in (json.loads(p.read_text()) for p in (tmp_path / "pi/bursts").rglob("burst.json"))
    }
    assert records["hit"]["time_source"] == "none"  # the first boot: nothing knew the time
    second = records["miss"]
    assert second["time_source"] == "mcu" and second["time_uncertainty_s"] <= 10
    trigger = datetime.fromisoformat(second["trigger_time"].replace("Z", "+00:00")).timestamp()
    assert set_at - 3 <= trigger <= time.time() + 3  # the network's time, not 1970
    syncs = [json.loads(x) for x in (tmp_path / "pi/timesync.jsonl").read_text().splitlines()]
    assert [(s["source"], s.get("origin")) for s in syncs] == [("mcu", "network")]
