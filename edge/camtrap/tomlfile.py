"""The one TOML file reader: the config, the pin map, the power budget and the flash tool's
secrets all read through it, so a missing, unreadable or malformed file reads the same
everywhere: ``FILE: (file): not found``, ``FILE: (file): cannot read: ...``,
``FILE: (syntax): ...`` (a `ConfigError`, exit status 2 in the CLI).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from camtrap.errors import ConfigError


def read_toml(path: str | Path, missing_hint: str = "") -> dict[str, Any]:
    """The parsed document; ``missing_hint`` is added to the not-found message."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, "(file)", f"not found{missing_hint}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(source, "(file)", f"cannot read: {e}") from None
    return parse_toml(text, source)


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """A document already read (e.g. a private file read with its permissions checked)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(source, "(syntax)", str(e)) from None
