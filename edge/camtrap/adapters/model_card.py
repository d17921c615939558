"""The one reader (and writer) of model card files: ``model.json`` beside ``model.tflite``.

Parsing and validating a card is pure (`camtrap.core.modelcard.parse_card`); this module does
the file part once for everyone: the model loader, `camtrap calibrate --write-card`, and the
deploy and training tools. An unreadable card is a `ModelError` naming the file.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from camtrap.core.modelcard import ModelCard, parse_card
from camtrap.errors import ModelError, UsageError

CARD_NAME = "model.json"


def card_path(model: str | Path) -> Path:
    """The card of a model given as its .tflite file or its directory."""
    path = Path(model)
    return (path if path.is_dir() else path.parent) / CARD_NAME


def read_card_json(path: Path, missing: str = "no model card") -> dict[str, Any]:
    """The card's JSON object; ``missing`` says why a card was needed when there is none."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: {missing}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"{path}: cannot read the model card: {e}") from None
    if not isinstance(raw, dict):
        raise ModelError(f"{path}: must be a JSON object")
    return raw


def read_card(path: Path) -> ModelCard | None:
    """The validated card at ``path``, or None when there is none (a card is optional)."""
    if not path.exists():
        return None
    return parse_card(read_card_json(path), str(path))


def write_card_json(path: Path, card: dict[str, Any]) -> None:
    """Replace the card atomically (temporary file, fsync, rename), keeping its file mode
    (``mkstemp`` makes 0600 files, which the service user and other readers could not read)."""
    text = json.dumps(card, indent=2, ensure_ascii=False) + "\n"
    try:
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as e:
        raise UsageError(f"{path}: cannot write the card: {e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write the card: {e}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
