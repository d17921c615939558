"""The state ring's slots as small LittleFS files (RP2: LittleFS levels wear over the flash).

One module per backend: a board loads only its own (``trapfw.hal.Board.slots``).
"""


class FileSlots:
    def __init__(self, count):
        self.count = count

    def read(self, i):
        try:
            with open(f"/state{i}.bin", "rb") as f:
                return f.read()
        except OSError:
            return None

    def write(self, i, data):
        with open(f"/state{i}.bin", "wb") as f:
            f.write(data)
