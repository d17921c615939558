"""Find and read recorded bursts (the `camtrap replay PATH...` contract).

* an image file (``.jpg .jpeg .png .bmp``) is a one-frame burst;
* a directory holding ``burst.json`` is one burst, its frames in file-name order;
* any other directory is searched recursively: burst directories in it are bursts, loose
  images are one-frame bursts each. Dot names are skipped (the store's unfinished ``.tmp-*``
  bursts, the ``._000.jpg`` files macOS leaves on memory cards).

Input limits: a ``burst.json`` over ``MAX_BURST_JSON`` bytes, nested too deep or holding a
number Python refuses to convert fails its burst like any other unreadable one; anything that
is not a regular file or a directory (a FIFO named ``000.jpg``, a device) is skipped with a
logged reason, never opened (opening a FIFO would block the replay).

``burst.json`` (schema ``camtrap-burst/1``) is parsed strictly for the keys this reader knows;
informational keys (``night``, ``seed``, ``generator``, ...) are ignored. Problems name the file
and the key: `read_burst` raises `UsageError`; `discover` keeps such a burst with its
``problem``, and the replay camera fails that burst (verdict ``error``) while the rest go on.
"""

from __future__ import annotations

import json
import logging
import math
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from camtrap.core.types import BurstMeta
from camtrap.errors import UsageError

log = logging.getLogger(__name__)

SCHEMA = "camtrap-burst/1"
MAX_BURST_JSON = 1 << 20  # bytes; a real one is a few hundred
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
BURST_FILE = "burst.json"
REPLAY_DEVICE = "replay"


# The demo's golden bursts (a leopard that must be a hit, an empty scene that must be a miss),
# relative to a source checkout's root: `camtrap doctor`'s self-test and tools.deploy use them.
DEMO_GOLDEN = ("demo/bursts/leopard/leopard-s7-000", "demo/bursts/empty/empty-s7-000")


@dataclass(frozen=True)
class RecordedBurst:
    meta: BurstMeta
    frames: tuple[Path, ...]
    problem: str | None = None  # an unreadable burst.json: the burst fails, the run goes on

    @property
    def n(self) -> int:
        return len(self.frames)


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def discover(paths: Iterable[str | Path]) -> list[RecordedBurst]:
    """Every burst under ``paths``, in the order given (directories sorted by name)."""
    found: list[RecordedBurst] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{path}: no such file or directory")
        kind = _odd_kind(path)
        if kind is not None:
            raise UsageError(f"{path}: not a regular file or directory ({kind})")
        before = len(found)
        found.extend(_bursts_at(path))
        if len(found) == before:
            raise UsageError(f"{path}: no bursts or images found")
    return found


def _odd_kind(path: Path) -> str | None:
    """None for a regular file or a directory (symlinks followed), else what it is."""
    try:
        mode = path.stat().st_mode
    except OSError as e:
        return f"cannot stat: {e.strerror}"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _bursts_at(path: Path) -> list[RecordedBurst]:
    kind = _odd_kind(path)
    if kind is not None:
        log.warning("replay: skipping %s: %s, not a regular file or directory", path, kind)
        return []
    if path.is_file():
        if not is_image(path):
            raise UsageError(f"{path}: not an image ({', '.join(IMAGE_SUFFIXES)}) or directory")
        return [single_image(path)]
    if (path / BURST_FILE).is_file():
        return [_burst_or_problem(path)]
    out: list[RecordedBurst] = []
    for child in sorted(path.iterdir()):
        if not is_hidden(child) and (child.is_dir() or is_image(child)):
            out.extend(_bursts_at(child))
    return out


def _burst_or_problem(directory: Path) -> RecordedBurst:
    """One bad ``burst.json`` on a memory card of thousands fails its burst, not the replay."""
    try:
        return read_burst(directory)
    except UsageError as e:
        meta = BurstMeta(str(directory), REPLAY_DEVICE, trigger_time=0.0, frame_interval_s=0.0)
        return RecordedBurst(meta, _frames_in(directory), problem=str(e))


def _frames_in(directory: Path) -> tuple[Path, ...]:
    frames = []
    for p in sorted(directory.iterdir()):
        if not is_image(p) or is_hidden(p):
            continue
        kind = _odd_kind(p)
        if kind is None and p.is_file():
            frames.append(p)
        elif kind is not None:
            log.warning("replay: skipping frame %s: %s, not a regular file", p, kind)
    return tuple(frames)


def is_hidden(path: Path) -> bool:
    """Dot names: the store's unfinished ``.tmp-*`` bursts, macOS ``._000.jpg`` companions."""
    return path.name.startswith(".")


def single_image(path: Path) -> RecordedBurst:
    meta = BurstMeta(str(path), REPLAY_DEVICE, trigger_time=0.0, frame_interval_s=0.0)
    return RecordedBurst(meta, (path,))


def read_burst(directory: Path) -> RecordedBurst:
    """A burst directory: its ``burst.json`` and its frames in file-name order."""
    source = directory / BURST_FILE
    kind = _odd_kind(source)
    if kind is not None:
        raise UsageError(f"{source}: cannot read: {kind}, not a regular file")
    try:
        with open(source, "rb") as f:
            data = f.read(MAX_BURST_JSON + 1)
        if len(data) > MAX_BURST_JSON:
            raise UsageError(f"{source}: cannot read: over {MAX_BURST_JSON} bytes")
        raw = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise UsageError(f"{source}: cannot read: nested too deep") from None
    except (OSError, ValueError) as e:  # JSON, UTF-8, and ints over Python's digit limit
        raise UsageError(f"{source}: cannot read: {_short(e)}") from None
    return RecordedBurst(parse_burst_json(raw, str(source), str(directory)), _frames_in(directory))


def _short(e: Exception) -> str:
    text = str(e)
    return text if len(text) <= 200 else text[:200] + "..."


def parse_burst_json(raw: Any, source: str, burst_source: str) -> BurstMeta:
    """Validate a parsed ``burst.json`` into a `BurstMeta`. Pure."""
    if not isinstance(raw, Mapping):
        raise UsageError(f"{source}: must be a JSON object")
    if raw.get("schema") != SCHEMA:
        raise UsageError(f"{source}: schema: must be {SCHEMA!r}, got {raw.get('schema')!r}")
    if "frame_interval_s" not in raw:
        raise UsageError(f"{source}: frame_interval_s: missing")
    label = raw.get("label")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        raise UsageError(f"{source}: label: must be a non-empty string, got {label!r}")
    return BurstMeta(
        source=burst_source,
        device_id=_string(raw, "device_id", source),
        trigger_time=parse_utc(_string(raw, "trigger_time", source), f"{source}: trigger_time"),
        frame_interval_s=_number(raw.get("frame_interval_s"), f"{source}: frame_interval_s"),
        pir_pulses=_pulses(raw.get("pir_pulses", []), f"{source}: pir_pulses"),
        label=label,
    )


def _string(raw: Mapping[str, Any], key: str, source: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        problem = "missing" if key not in raw else f"must be a non-empty string, got {value!r}"
        raise UsageError(f"{source}: {key}: {problem}")
    return value


def _number(value: Any, where: str) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    try:
        ok = ok and math.isfinite(value)
    except OverflowError:  # an int too large for a float
        ok = False
    if not ok or value < 0:
        raise UsageError(f"{where}: must be a number >= 0, got {value!r}")
    return float(value)


def _pulses(value: Any, where: str) -> tuple[float, ...]:
    if not isinstance(value, list):
        raise UsageError(f"{where}: must be a list of seconds, got {value!r}")
    pulses = tuple(_number(v, f"{where}[{i}]") for i, v in enumerate(value))
    if list(pulses) != sorted(pulses):
        raise UsageError(f"{where}: must be in increasing order")
    return pulses


def parse_utc(text: str, where: str) -> float:
    """ISO 8601 UTC (``2026-11-20T03:12:45Z``) to unix seconds; a time without a zone is UTC."""
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(f"{where}: not an ISO 8601 time: {text!r}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.timestamp()
