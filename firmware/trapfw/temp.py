"""The MCU die temperature (degrees C, rough: it says "frozen" or "baking", no more).

Loaded by ``trapfw.hal.Board.temp_c`` for one reading and unloaded again (heap).
"""

import machine


def read(board):
    try:
        if board == "esp32":
            esp32 = __import__("esp32")  # exists on the ESP32 build only
            if hasattr(esp32, "mcu_temperature"):
                return esp32.mcu_temperature()
            return int((esp32.raw_temperature() - 32) / 1.8)
        volts = machine.ADC(4).read_u16() * 3.3 / 65535
        return int(27 - (volts - 0.706) / 0.001721)
    except (AttributeError, OSError, ValueError):
        return None
