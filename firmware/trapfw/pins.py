"""MCU pin numbers per board. GENERATED from hardware/pinmap.toml by tools/gen_pins.py:
do not edit; change the pin map and run `python -m tools.gen_pins`.
"""

ESP32 = {
    "pir": 33,
    "pi_power": 25,
    "pi_halt": 34,
    "pi_uart_tx": 17,
    "pi_uart_rx": 16,
    "modem_tx": 21,
    "modem_rx": 22,
    "modem_reset": 23,
    "battery_adc": 35,
    "led": 2,
    "rtc_sda": 18,
    "rtc_scl": 19,
}
RP2 = {
    "pir": 2,
    "pi_power": 3,
    "pi_halt": 6,
    "pi_uart_tx": 0,
    "pi_uart_rx": 1,
    "modem_tx": 4,
    "modem_rx": 5,
    "modem_reset": 7,
    "battery_adc": 26,
    "led": 25,
    "rtc_sda": 8,
    "rtc_scl": 9,
}
BOARDS = {"esp32": ESP32, "rp2": RP2}
