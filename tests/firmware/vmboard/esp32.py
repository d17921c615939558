"""A stand-in for MicroPython's ``esp32`` module in the VM: NVS in a flash file, ext0 wake."""

import binascii
import json

from world import WORLD

WAKEUP_ALL_LOW = 0
WAKEUP_ANY_HIGH = 1
NVS_FILE = "/nvs.json"  # the NVS partition: flash, kept from one VM run to the next


class NVS:
    def __init__(self, namespace):
        self.ns = namespace
        try:
            with open(NVS_FILE) as f:
                self.blobs = json.load(f)
        except OSError:
            self.blobs = {}

    def get_blob(self, key, buf):
        data = self.blobs.get(self.ns + "/" + key)
        if data is None:
            raise OSError(-4354)  # ESP_ERR_NVS_NOT_FOUND
        raw = bytes.fromhex(data)
        if len(raw) > len(buf):
            raise OSError(-4364)  # ESP_ERR_NVS_INVALID_LENGTH: the buffer is too small
        buf[: len(raw)] = raw
        return len(raw)

    def set_blob(self, key, data):
        self.blobs[self.ns + "/" + key] = binascii.hexlify(bytes(data)).decode()

    def commit(self):
        with open(NVS_FILE, "w") as f:
            json.dump(self.blobs, f)


def wake_on_ext0(pin, level):
    WORLD.ext0 = (pin.id, level)


def mcu_temperature():
    return 31
