"""camtrap's MCU firmware (MicroPython); the pure modules are shared with the Pi."""

import sys


def unload(name):
    """Drop the module ``trapfw.<name>`` so the GC can free it once nothing else refers to it.

    MicroPython loads a module's bytecode into the heap; modules needed once (settings
    validation, the regional tables, the airtime formulas) are unloaded after use.
    """
    sys.modules.pop("trapfw." + name, None)
    package = sys.modules.get("trapfw")
    if package is not None and hasattr(package, name):
        delattr(package, name)


def call(module, name, *args):
    """``trapfw.<module>.<name>(*args)``, the module unloaded again on MicroPython: code needed
    once per boot or a few times per event (reading the state record back, the payload codec,
    the radio's state bytes) stays off the heap in between. CPython keeps it (tests patch it)."""
    mod = getattr(__import__("trapfw." + module), module)
    try:
        return getattr(mod, name)(*args)
    finally:
        if sys.implementation.name == "micropython":
            unload(module)
