"""One error hierarchy for the whole service.

Two branches, so that no failure can look like "nothing found":

* ``UsageError``: we, or the person configuring the trap, misused something: a bad config key,
  a missing or mismatched model, a target that names no label. The CLI prints the one-line
  message (it names the file and key) and exits with status 2.
* ``PeerError``: a peer or a piece of hardware failed: the camera, the broker, the serial link,
  the LoRaWAN modem. The service reports it and carries on where it can.

``BadFrameError`` is bad data: a corrupt or truncated image fails its burst, never the service.
"""

from __future__ import annotations

EXIT_USAGE = 2  # the CLI's exit status for a `UsageError`
EXIT_PEER = 1  # and for a `PeerError`


class CamtrapError(Exception):
    """Base of every error camtrap raises on purpose."""


class UsageError(CamtrapError):
    """Misuse: bad configuration, bad arguments, a missing or mismatched model."""


class ConfigError(UsageError):
    """A config value is missing, unknown or out of range.

    >>> str(ConfigError("trap.toml", "mqtt.port", "must be 1..65535, got 0"))
    'trap.toml: mqtt.port: must be 1..65535, got 0'
    """

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source, self.key, self.problem = source, key, problem
        super().__init__(f"{source}: {key}: {problem}")


class ModelError(UsageError):
    """A model file, labels file or model card is missing, corrupt or inconsistent."""


class BadFrameError(CamtrapError):
    """A frame could not be decoded; the burst that holds it gets verdict ``error``."""


class PeerError(CamtrapError):
    """A peer or hardware failed: camera, broker, serial link, modem."""


class CameraError(PeerError):
    """The camera failed or timed out."""


class LinkError(PeerError):
    """The serial link to the companion MCU failed."""


class ModemError(PeerError):
    """The LoRaWAN modem answered with an error, or with a reply we do not know."""
