"""The state ring's slots as ESP32 NVS blobs (NVS is log-structured: it spreads wear itself).

One module per backend: a board loads only its own (``trapfw.hal.Board.slots``).
"""

from trapfw import state


class NvsSlots:
    def __init__(self, count):
        self.count = count
        self.nvs = __import__("esp32").NVS("camtrap")  # exists on the ESP32 build only

    def read(self, i):
        buf = bytearray(state.MAX_RECORD)
        try:
            n = self.nvs.get_blob(f"s{i}", buf)
        except OSError:
            return None
        return bytes(buf[:n])

    def write(self, i, data):
        self.nvs.set_blob(f"s{i}", data)
        self.nvs.commit()
