"""boot.py's work: the Pi's power switch off first, then the safe-mode window of a cold boot.

A separate module from ``trapfw.hal`` so that main.py's heap does not carry it (boot.py and
main.py run in the same interpreter: it is unloaded when done).

Safe mode: a deployed unit feeds a watchdog that cannot be stopped (ESP32) and mostly sleeps,
so an mpremote session cannot reach it. After a cold boot (power-on, reset button, the USB
adapter's reset line; never after a wake from deep sleep, which costs no waiting) this waits
SAFE_WINDOW_MS for a Ctrl-C on the USB REPL, which mpremote sends when it connects, and then
writes ``/safemode``: ``trapfw.hal.main`` then returns before it starts the watchdog or the
app, and the REPL stays. ``python -m tools.flash`` removes the file when it is done.
"""

import json
import time

import machine

from trapfw import pins

SETTINGS_FILE = "/settings.json"
SAFE_FILE = "/safemode"
SAFE_WINDOW_MS = 2000


def boot():
    with open(SETTINGS_FILE) as f:
        board = json.load(f).get("board", "esp32")
    machine.Pin(pins.BOARDS[board]["pi_power"], machine.Pin.OUT, value=0)
    if machine.reset_cause() == machine.DEEPSLEEP_RESET or _exists(SAFE_FILE):
        return
    try:
        time.sleep_ms(SAFE_WINDOW_MS)  # a Ctrl-C from mpremote lands here
    except KeyboardInterrupt:
        with open(SAFE_FILE, "w") as f:
            f.write("safe mode: remove this file (or re-flash) to run the firmware\n")
        print("camtrap: safe mode; the app and the watchdog stay off")


def _exists(path):
    try:
        open(path).close()
    except OSError:
        return False
    return True
