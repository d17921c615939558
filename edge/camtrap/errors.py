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

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

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


class ConfigErrors(ConfigError):
    """Several problems in one file, reported together: one ``source: key: problem`` line each.

    ``source``, ``key`` and ``problem`` are the first problem's; ``problems`` holds them all.
    """

    def __init__(self, problems: Sequence[ConfigError]) -> None:
        self.problems = tuple(p for e in problems for p in problems_of(e))
        first = self.problems[0]
        super().__init__(first.source, first.key, first.problem)
        self.args = ("\n".join(str(p) for p in self.problems),)

    def __str__(self) -> str:
        return str(self.args[0])


def problems_of(e: ConfigError) -> tuple[ConfigError, ...]:
    return e.problems if isinstance(e, ConfigErrors) else (e,)


class Problems:
    """Collects the `ConfigError` of each independent check, so a file's every mistake is
    reported at once::

        found = Problems()
        with found.check():
            check_a()
        with found.check():
            check_b()
        found.raise_any()   # nothing, the one problem, or all of them as `ConfigErrors`
    """

    def __init__(self) -> None:
        self.found: list[ConfigError] = []

    @contextmanager
    def check(self) -> Iterator[None]:
        try:
            yield
        except ConfigError as e:
            self.found.extend(problems_of(e))

    def add(self, e: ConfigError) -> None:
        self.found.extend(problems_of(e))

    def raise_any(self) -> None:
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            raise ConfigErrors(self.found)


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
