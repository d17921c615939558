"""The part of `trapfw.hal` that runs once per boot: the board's pins, ADC and UARTs, the wake
reason and the state ring's slots (``hal.Board.__init__`` calls `setup`).

Split from ``trapfw.hal`` for the heap: ``Board`` loads this module for the call and unloads
it again (``trapfw.call``), so its code and the board's pin table are not on the heap while the
firmware runs (an ESP32 boots at every wake, so this runs at each of them).
"""

import machine
from micropython import const

import trapfw
from trapfw import hal

_SLOTS = const(4)


def setup(board, cfg):
    """Fill ``board`` (a `hal.Board`) for ``cfg``: see ``trapfw.hal``'s module docstring."""
    board.cfg = cfg
    board.kind = cfg.board
    p = _board_pins(cfg.board)
    board.p = p
    board._power = machine.Pin(p["pi_power"], machine.Pin.OUT, value=0)
    board._halt = machine.Pin(p["pi_halt"], machine.Pin.IN)
    board._pir = machine.Pin(p["pir"], machine.Pin.IN)
    board._pir_flag = False
    board._pir.irq(trigger=machine.Pin.IRQ_RISING, handler=board._on_pir)
    # ESP32: 11 dB attenuation, whatever the MicroPython default (see trapfw.hal's docstring)
    atten = {"atten": getattr(machine.ADC, "ATTN_11DB")} if cfg.board == "esp32" else {}  # noqa: B009
    board._adc = machine.ADC(machine.Pin(p["battery_adc"]), **atten)
    uart_ids = (2, 1) if cfg.board == "esp32" else (0, 1)
    board._pi_uart_id = uart_ids[0]
    board.pi_uart = None
    board._pi_tx(False)  # the Pi is off at boot
    modem_baud = 115200 if cfg.modem == "rak3172" else 9600
    board.modem_uart = machine.UART(
        uart_ids[1], modem_baud, tx=machine.Pin(p["modem_tx"]), rx=machine.Pin(p["modem_rx"])
    )
    board._ms_base = 0
    board._ticks_last = hal.time.ticks_ms()  # hal's time (the VM tests set their own clock)
    board._wake = _wake_reason(board.kind)
    board._slots = _slots(board.kind)


def _wake_reason(kind):
    """ "cold", "wake" (timer) or "pir"."""
    if kind != "esp32" or machine.reset_cause() != machine.DEEPSLEEP_RESET:
        return "cold"
    # ESP32-only names, absent from the rp2 stubs:
    reason = getattr(machine, "wake_reason")()  # noqa: B009
    return "pir" if reason == getattr(machine, "EXT0_WAKE") else "wake"  # noqa: B009


def _slots(kind):
    """The state ring's slots: ESP32 NVS blobs, RP2 LittleFS files (one module each)."""
    if kind == "esp32":
        from trapfw.slots_nvs import NvsSlots

        return NvsSlots(_SLOTS)
    from trapfw.slots_file import FileSlots

    return FileSlots(_SLOTS)


def _board_pins(board):
    """This board's pins; the module with every board's table leaves the heap again."""
    from trapfw import pins

    p = dict(pins.BOARDS[board])
    trapfw.unload("pins")
    return p
