"""The portable firmware tests, run again under the real MicroPython VM (WebAssembly, node).

The same test files run under CPython (pytest collects them directly); here each one is imported
inside MicroPython 1.27 and every ``test_*`` function is called, so a CPython-only construct in
trapfw (or in the tests) fails here. Skipped without node / node_modules, except on CI.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mpvm import ROOT, require_vm, run_micropython  # noqa: E402

PORTABLE = [
    "test_fw_link",
    "linkfuzz",
    "test_fw_fsm",
    "test_fw_settings_state",
    "test_fw_app",
    "test_fw_radio",
    "test_fw_schedule",
    "test_fw_time",
    "test_fw_lwtime",
    "test_fw_rtc",
    "test_fw_health",
]

RUNNER = """
import sys
failed = 0
passed = 0
for modname in %r:
    try:
        mod = __import__(modname)
    except Exception as e:
        failed += 1
        print("FAIL import", modname, repr(e))
        sys.print_exception(e)
        continue
    for name in sorted(dir(mod)):
        if not name.startswith("test_"):
            continue
        try:
            getattr(mod, name)()
            passed += 1
        except Exception as e:
            failed += 1
            print("FAIL", modname, name, repr(e))
            sys.print_exception(e)
print("RESULT", passed, failed)
"""


def _expected_count() -> int:
    n = 0
    for name in PORTABLE:
        mod = importlib.import_module(name)
        n += sum(1 for attr in dir(mod) if attr.startswith("test_"))
    return n


@pytest.mark.node
def test_portable_firmware_tests_pass_under_micropython():
    require_vm()
    proc = run_micropython(RUNNER % (PORTABLE,), [ROOT / "firmware", HERE])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    last = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert last, out
    _, passed, failed = last[-1].split()
    assert int(failed) == 0, out
    assert int(passed) == _expected_count(), out


@pytest.mark.node
def test_the_vm_is_micropython_not_cpython():
    require_vm()
    proc = run_micropython("import sys\nprint(sys.implementation.name)\n", [])
    assert proc.stdout.strip() == "micropython", proc.stdout + proc.stderr


HAL_SMOKE = """
import json, sys
import machine
with open("/settings.json", "w") as f:
    f.write(json.dumps({"board": "rp2", "modem": "none", "device_id": "trap-07"}))
from trapfw import app, hal, link, state
cfg = hal.load_settings()
assert cfg.board == "rp2" and cfg.max_on_s == 180
assert "trapfw.settings" not in sys.modules  # the validator was unloaded
board = hal.Board(cfg)
assert board.wake_reason() == "cold"
assert 3000 < board.battery_mv() < 3400  # half scale through a 1:2 divider
assert board.temp_c() is not None
ring = state.Ring(board.slots())  # LittleFS-style files in the VM's filesystem
fw = app.App(board, cfg, ring, app.NullRadio())
fw.start(board.now_ms(), board.wake_reason())
board._pir.handler(board._pir)  # the PIR IRQ fires
fw.poll(board.now_ms() + 10)
assert fw.state.name == "lowbat" or board._power.value() == 1, fw.state
board.sleep(50, fw.may_sleep())
from trapfw.slots_file import FileSlots
assert state.Ring(FileSlots(4)).load()["event_seq"] == fw.state.event_seq
print("HAL OK", fw.state.name, [e for e in machine.log if e[0] in ("set", "lightsleep")])
"""


@pytest.mark.node
def test_hal_runs_on_micropython_with_a_stand_in_machine():
    require_vm()
    proc = run_micropython(HAL_SMOKE, [ROOT / "firmware", HERE / "vmfakes"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "HAL OK" in proc.stdout


LEAN_RADIO = """
import sys
from trapfw import radio, settings

HIT = bytes.fromhex("0100000101ba03045f0002")  # payload.encode_hit(1, 1, 0.93, 3, 4, 3900, 2)

class Uart:
    def any(self): return 0
    def read(self, n): return None
    def write(self, b): return len(b)

for modem, driver, other in (("lora-e5", "atmodem_e5", "atmodem_rak"),
                             ("rak3172", "atmodem_rak", "atmodem_e5")):
    for name in list(sys.modules):
        if name.startswith("trapfw.atmodem_"):
            del sys.modules[name]
    cfg = settings.validate({"device_id": "trap-07", "modem": modem})
    r = radio.LoraRadio(Uart(), cfg, 0, configure=False)
    r.driver.log = lambda line: None
    r.offer_hit(0, HIT)
    r.poll(10, 3900)
    assert "trapfw." + driver in sys.modules, modem
    assert "trapfw." + other not in sys.modules, modem  # only the configured driver
    for setup in ("airtime", "regions", "payload"):
        assert "trapfw." + setup not in sys.modules, setup  # dropped / never imported
    assert r.sched.frame_s > 0 and r.busy()  # the hit went to the modem
print("LEAN OK")
"""


@pytest.mark.node
def test_the_mcu_radio_imports_one_driver_and_drops_the_region_tables():
    require_vm()
    proc = run_micropython(LEAN_RADIO, [ROOT / "firmware"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "LEAN OK" in proc.stdout
