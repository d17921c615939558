"""The composition root: which adapters fill the service's ports, in the field and in --sim.

`run_field` (`camtrap.app.field`) wires the real ones (gpiozero PIR or the MCU link, picamera2,
the SQLite outbox, the burst store, paho-mqtt or the dry-run printer, a LoRa modem or the MCU);
`run_sim` (`camtrap.app.sim`) wires the simulated ones (the gpiozero PIR on a MockFactory pin
driven by recorded PIR timing, the replay camera) around the same `Service`; what both wire
alike (outputs, service, clock, PIR) is `camtrap.app.wiring`. One package, one root: nothing
outside it wires adapters into the service. Chosen explicitly, never as a fallback for
missing hardware; heavy and hardware imports stay inside the function that needs them, so
`camtrap --help` stays fast. Nothing but wiring lives here: the loop is `camtrap.service`, the
model `camtrap.detector`, the replay rows `camtrap.replay`.
"""

from camtrap.app.field import FieldPorts, run_field
from camtrap.app.sim import run_sim

__all__ = ["FieldPorts", "run_field", "run_sim"]
