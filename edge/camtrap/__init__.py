"""camtrap: the Raspberry Pi service of an open smart camera trap.

A PIR trigger starts a burst; each frame is classified by an int8 TFLite model; a burst-level
verdict decides whether the event is a target-species hit; hits go through a durable outbox to
MQTT (or, via the companion MCU, to LoRaWAN). See DESIGN in the README.
"""

__version__ = "0.1.0"
