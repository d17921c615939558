"""LoRaWAN on the Pi: hit uplink bytes, a pyserial transport for AT modems, and the LoRa sink.

The codec, airtime tables, scheduler and modem drivers are the firmware's pure modules
(``trapfw.payload``, ``trapfw.airtime``, ``trapfw.uplink``, ``trapfw.atmodem``), shared with
the MCU. See docs/lora.md.
"""
