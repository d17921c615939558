"""The ESP32 branch of trapfw.hal under the real MicroPython VM, one VM run per wake.

A deep sleep ends the run (``machine.deepsleep`` of the stand-in in tests/firmware/vmboard
raises); the next wake is a new VM run that starts from what a chip keeps: the flash files
(settings, the NVS state record), RTC memory and the RTC clock. The world outside the chip
(the LoRa-E5, answering as its manual says; a Pi that boots, sends a hit and halts) keeps its
own state. Skipped without node / node_modules, except on CI.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mpvm import ROOT, require_vm, run_micropython  # noqa: E402

from trapfw import payload  # noqa: E402

KEYS = {"dev_eui": "70b3d57ed0000001", "join_eui": "00" * 8, "app_key": "2b" * 16}
HIT = payload.encode_hit(1, 1, 0.93, 3, 4, 3710, 12)

RUN = """
from world import WORLD, BusyLoop, DeepSleep, ScenarioEnd, WatchdogReset
WORLD.start()
from trapfw import hal
hal.time = WORLD.clock  # the simulated RTC (on a board: the time module, the same calls)
outcome = "returned"
try:
    hal.main()
except DeepSleep:
    outcome = "deepsleep"
except ScenarioEnd:
    outcome = "end"
except WatchdogReset as e:
    outcome = "watchdog: " + str(e)
except BusyLoop as e:
    outcome = "busy: " + str(e)
WORLD.finish(outcome)
"""


def _settings(**over) -> dict:
    values = {"device_id": "trap-07", "board": "esp32", "modem": "lora-e5", **KEYS}
    values.update(heartbeat_s=600, lockout_s=30)
    values.update(over)
    return values


def life(
    tmp_path: Path, pirs: list[int], end_ms: int, hits=(HIT,), pi_frames=(), **over
) -> list[dict]:
    """Run the chip from a cold boot to ``end_ms``: one VM run per wake; the run results.
    ``pi_frames``: (type, body hex) the Pi sends after its HELLO at each boot."""
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "settings.json").write_text(json.dumps(_settings(**over)))
    now, wake, runs, hits = 0, "cold", [], [h.hex() for h in hits]
    for _ in range(40):
        boot = {"now_ms": now, "wake": wake, "pir_times": pirs, "end_ms": end_ms, "hits": hits}
        boot["pi_frames"] = [list(f) for f in pi_frames]
        (flash / "boot.json").write_text(json.dumps(boot))
        out = tmp_path / f"run{len(runs)}"
        proc = run_micropython(RUN, [ROOT / "firmware", HERE, HERE / "vmboard"],
                               fs_in=flash, fs_out=out)  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        result = json.loads((out / "result.json").read_text())
        result["stdout"] = proc.stdout
        runs.append(result)
        shutil.rmtree(flash)
        shutil.copytree(out, flash)
        if result["outcome"] != "deepsleep":
            break
        if any(e[0] == "pi_power" and e[2] == 1 for e in result["log"]):
            hits = []  # the Pi sent its hit in this run
        now, wake = _next_wake(result, pirs)
        if now >= end_ms:
            break
    return runs


def _next_wake(result: dict, pirs: list[int]) -> tuple[int, str]:
    """A timer wake after the sleep, or ext0 (the PIR) if it fires first."""
    t = result["now_ms"]
    timer = t + result["sleep_ms"]
    first = min((p for p in pirs if p > t), default=None)
    if result["ext0"] and first is not None and first < timer:
        return first, "pir"
    return timer, "wake"


def _sent(tmp_path: Path, runs: list[dict]) -> list[tuple[int, int, bytes]]:
    world = json.loads((tmp_path / f"run{len(runs) - 1}" / "world.json").read_text())
    return [(t, p, bytes.fromhex(d)) for t, p, d in world["sent"]]


@pytest.mark.node
def test_esp32_resets_at_every_wake_and_keeps_counting_the_truth(tmp_path):
    require_vm()
    runs = life(tmp_path, pirs=[30_000, 900_000], end_ms=2_000_000)
    outcomes = [r["outcome"] for r in runs]
    assert outcomes.count("deepsleep") >= 4, outcomes  # every wake was a reset
    assert all(o in ("deepsleep", "end") for o in outcomes), outcomes
    powered = [e for r in runs for e in r["log"] if e[0] == "pi_power" and e[2] == 1]
    assert len(powered) == 2  # the ADC reads the battery right (11 dB): the Pi was booted
    sent = _sent(tmp_path, runs)
    hits = [d for _, p, d in sent if p == payload.FPORT_HIT]
    assert [h[:9] for h in hits] == [HIT[:9]]
    beats = [payload.decode(payload.FPORT_HEARTBEAT, d) for _, p, d in sent if p == 11]
    assert len(beats) >= 2
    seq = 0
    for b in beats:  # the heartbeat counters equal the truth across the resets
        assert b["triggers"] == b["last_event_seq"] - seq, beats
        seq = b["last_event_seq"]
    assert seq == 2 and sum(b["hits"] for b in beats) == 1
    assert all(r["modem_asleep"] for r in runs if r["outcome"] == "deepsleep")


@pytest.mark.node
def test_esp32_pi_tx_is_an_input_with_pull_down_whenever_the_pi_is_off(tmp_path):
    require_vm()
    runs = life(tmp_path, pirs=[30_000], end_ms=700_000)
    for r in runs:
        for e in r["log"]:
            if e[0] == "deepsleep":  # the Pi is off whenever the chip sleeps
                assert (e[3], e[4]) == (1, 2), e  # Pin.IN, Pin.PULL_DOWN
        tx = [e for e in r["log"] if e[0] == "pi_tx"]
        assert tx and (tx[0][2], tx[0][3]) == (1, 2)  # set before the Pi can be powered


@pytest.mark.node
def test_esp32_waits_for_modem_replies_without_spinning(tmp_path):
    require_vm()
    runs = life(tmp_path, pirs=[30_000], end_ms=700_000)
    assert not any(r["outcome"].startswith(("busy", "watchdog")) for r in runs)
    # each pass either sleeps or has work: a 2 s uplink costs tens of passes, not millions
    assert max(r["feeds"] for r in runs) < 400


@pytest.mark.node
def test_esp32_safe_mode_file_leaves_the_repl_without_the_watchdog(tmp_path):
    require_vm()
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "settings.json").write_text(json.dumps(_settings()))
    (flash / "safemode").write_text("")
    boot = {"now_ms": 0, "wake": "cold", "pir_times": [], "end_ms": 10_000}
    (flash / "boot.json").write_text(json.dumps(boot))
    proc = run_micropython(RUN, [ROOT / "firmware", HERE, HERE / "vmboard"],
                           fs_in=flash, fs_out=tmp_path / "out")  # fmt: skip
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["outcome"] == "returned" and result["feeds"] == 0
    assert "safe mode" in proc.stdout


RTC = """
from world import WORLD
WORLD.start()
from trapfw import hal
hal.time = WORLD.clock
board = hal.Board(hal.load_settings())
board.rtc_save(b"snap")
assert board.rtc_load() == b"snap"
try:
    board.rtc_save(bytes(3000))  # more than the 2 KiB RTC memory: loud, never skipped
except ValueError as e:
    print("REFUSED", e)
assert board.rtc_load() == b"snap"
"""


@pytest.mark.node
def test_esp32_rtc_memory_keeps_the_snapshot_and_refuses_an_oversized_one(tmp_path):
    require_vm()
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "settings.json").write_text(json.dumps(_settings()))
    boot = {"now_ms": 0, "wake": "wake", "pir_times": [], "end_ms": 10_000}
    (flash / "boot.json").write_text(json.dumps(boot))
    proc = run_micropython(RTC, [ROOT / "firmware", HERE, HERE / "vmboard"], fs_in=flash)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "REFUSED rtc: snapshot size" in proc.stdout
