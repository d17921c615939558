"""Survey exports on disk: read a data directory's stored bursts, write the packages.

Reading: every ``bursts/<day>/<event id>/burst.json`` under the data directory (or the
directory itself when it is the burst store), with the frame files beside it, becomes a
`SurveyBurst`; a corrupt sidecar, a burst without frames, a burst whose time the trap did not
know: each is left out with a counted reason (`Collected.skipped`). Clock syncs the service
logged (``timesync.jsonl``) date the bursts recorded before them in the same boot.

Writing is atomic: a package is built in a hidden temporary directory beside ``--out`` and
renamed into place, a results file written to a temporary file and renamed; an interrupted
export leaves the previous output or none, never a half-written one.

    collected = read_data_dir(Path("/var/lib/camtrap"))
    write_camtrap_dp(Path("survey-dp"), build_package(collected, taxa, fallback, now))
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from camtrap.core import camtrap_dp, camtrap_dp_package, megadetector
from camtrap.core.burst_sidecar import SIDECAR
from camtrap.core.deployment import Deployment
from camtrap.core.survey import ClockSync, Skip, SurveyBurst, burst_from_record, correct_times
from camtrap.errors import UsageError

SYNC_LOG = "timesync.jsonl"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass(frozen=True)
class Collected:
    root: Path  # frame paths in the bursts are relative to this
    bursts: list[SurveyBurst]
    skipped: list[Skip] = field(default_factory=list)

    def reasons(self) -> Counter[str]:
        return Counter(_reason_kind(s.reason) for s in self.skipped)


@dataclass(frozen=True)
class Package:
    descriptor: dict[str, Any]
    tables: camtrap_dp.Tables
    collected: Collected


def _reason_kind(reason: str) -> str:
    return reason.split(":", 1)[0]


# --------------------------------------------------------------------------------------------
# Reading


def read_data_dir(data_dir: Path) -> Collected:
    """Every stored burst under ``data_dir``; UsageError when it is not a data directory."""
    if not data_dir.is_dir():
        raise UsageError(f"{data_dir}: not a directory")
    store = data_dir / "bursts" if (data_dir / "bursts").is_dir() else data_dir
    bursts, skipped = [], []
    for burst_dir in _burst_dirs(store):
        key = burst_dir.relative_to(data_dir).as_posix()
        item = _read_burst(burst_dir, key)
        (skipped if isinstance(item, Skip) else bursts).append(item)
    if not bursts and not skipped:
        raise UsageError(f"{data_dir}: no stored bursts (want bursts/<day>/<event id>/)")
    syncs = read_syncs(data_dir / SYNC_LOG)
    return Collected(data_dir, correct_times(bursts, syncs), skipped)


def _burst_dirs(store: Path) -> list[Path]:
    """Day directories' children; the store's unfinished ``.tmp-*`` bursts are not bursts."""
    out = []
    for day in sorted(p for p in store.iterdir() if p.is_dir() and not p.name.startswith(".")):
        out.extend(sorted(p for p in day.iterdir() if p.is_dir() and not p.name.startswith(".")))
    return out


def _read_burst(burst_dir: Path, key: str) -> SurveyBurst | Skip:
    files = sorted(p.name for p in burst_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    sidecar = burst_dir / SIDECAR
    if not sidecar.is_file():
        return Skip(key, f"no {SIDECAR}")
    try:
        record = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return Skip(key, f"corrupt {SIDECAR}: {e}")
    if not files:
        return Skip(key, "no frames")
    return burst_from_record(record, key, files)


def read_syncs(path: Path) -> list[ClockSync]:
    """The service's clock-sync log; a line that does not parse is ignored (it only dates)."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        with contextlib.suppress(ValueError, TypeError, KeyError):
            raw = json.loads(line)
            out.append(
                ClockSync(
                    str(raw["boot_id"]),
                    float(raw["monotonic_s"]),
                    float(raw["time"]),
                    str(raw["source"]),
                    None if raw.get("uncertainty_s") is None else float(raw["uncertainty_s"]),
                )
            )
    return out


def read_records(path: Path) -> Collected:
    """``camtrap replay --json-out`` JSON Lines: frame files are ``source``/``name``, relative
    to the records file's directory when the sources are relative."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read: {e}") from None
    bursts, skipped = [], []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        item = _record_line(line, f"{path.name}:{n}")
        (skipped if isinstance(item, Skip) else bursts).append(item)
    if not bursts and not skipped:
        raise UsageError(f"{path}: no records")
    return Collected(path.parent, bursts, skipped)


def _record_line(line: str, where: str) -> SurveyBurst | Skip:
    try:
        record = json.loads(line)
    except ValueError as e:
        return Skip(where, f"corrupt record: {e}")
    source = record.get("source") if isinstance(record, dict) else None
    if not isinstance(source, str) or not source:
        return Skip(where, "source: missing")
    src = Path(source)
    if src.suffix.lower() in IMAGE_SUFFIXES:  # a one-frame burst: the image is the source
        frames = record.get("frames") or []
        named = [dict(f, name=src.name) for f in frames if isinstance(f, dict)]
        record = dict(record, frames=named)
        src = src.parent
    item = burst_from_record(record, src.as_posix().rstrip("/"), [])
    return replace(item, key=where) if isinstance(item, Skip) else item


# --------------------------------------------------------------------------------------------
# Camtrap DP


def build_package(
    collected: Collected,
    taxa: Mapping[str, str],
    fallback: Deployment | None,
    info: camtrap_dp_package.PackageInfo,
) -> Package:
    """The package of every burst with a deployment and a known time; the others are skipped
    (UsageError when that leaves nothing, naming what is missing)."""
    usable, skipped = [], list(collected.skipped)
    for b in collected.bursts:
        if b.deployment is None and fallback is None:
            skipped.append(Skip(b.key, "no deployment"))
        elif b.time is None:
            skipped.append(Skip(b.key, "time unknown: no clock sync in its boot"))
        else:
            usable.append(b)
    result = replace(collected, skipped=skipped)
    if not usable:
        raise UsageError(_nothing_usable(collected.root, result))
    tables = camtrap_dp.build_tables(usable, taxa, fallback)
    return Package(camtrap_dp_package.descriptor(tables, info, taxa), tables, result)


def _nothing_usable(root: Path, collected: Collected) -> str:
    reasons = collected.reasons()
    if reasons.get("no deployment"):
        return (
            f"{root}: no burst has a deployment ([deployment] was not configured when they "
            "were stored): give --config with a [deployment] section (id, latitude, longitude)"
        )
    shown = ", ".join(f"{k} {v}" for k, v in reasons.most_common())
    return f"{root}: nothing to export ({shown})"


def write_camtrap_dp(out: Path, package: Package, copy_media: bool = False) -> None:
    """``datapackage.json`` and the three CSVs, atomically; with ``copy_media`` the frames
    too (same relative paths), so the package stands alone."""
    files: dict[str, bytes] = {"datapackage.json": _json_bytes(package.descriptor)}
    for name in camtrap_dp.TABLES:
        files[f"{name}.csv"] = csv_bytes(camtrap_dp.FIELDS[name], package.tables.rows(name))
    media = [str(m["filePath"]) for m in package.tables.media] if copy_media else []
    _write_dir_atomically(out, files, package.collected.root, media)


def csv_bytes(fields: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow([camtrap_dp.csv_cell(row.get(f)) for f in fields])
    return buf.getvalue().encode("utf-8")


def _write_dir_atomically(
    out: Path, files: Mapping[str, bytes], media_root: Path, media: Sequence[str]
) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out}: exists and is not empty (remove it or choose another --out)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        for rel in media:
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(media_root / rel, tmp / rel)
        for name, data in files.items():  # datapackage.json first: a reader starts there
            _write_synced(tmp / name, data)
        with contextlib.suppress(FileNotFoundError):
            out.rmdir()  # an empty directory the user made: replaced by the package
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# --------------------------------------------------------------------------------------------
# MegaDetector


def write_megadetector(
    out: Path, collected: Collected, taxa: Mapping[str, str], now: float, classifier: str = ""
) -> dict[str, Any]:
    """The batch-output file, atomically (temporary file, fsync, rename). Returns it."""
    if not collected.bursts:
        raise UsageError(f"{collected.root}: nothing to export ({_shown(collected)})")
    result = megadetector.batch_output(collected.bursts, taxa, now, classifier)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    try:
        _write_synced(tmp, _json_bytes(result))
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return result


def _shown(collected: Collected) -> str:
    return ", ".join(f"{k} {v}" for k, v in collected.reasons().most_common()) or "no bursts"


# --------------------------------------------------------------------------------------------
# The label -> taxon table


def read_taxa(card_path: Path) -> dict[str, str]:
    """The ``taxa`` table of a model card (label -> scientific name or observation type)."""
    from camtrap.adapters.model_card import read_card_json

    card = read_card_json(card_path, missing="model card not found")  # the one card reader
    return parse_taxa(card.get("taxa", {}), str(card_path))


def parse_taxa(raw: Any, source: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise UsageError(f"{source}: taxa: must be an object of label -> scientific name")
    for label, name in raw.items():
        if not isinstance(name, str) or not name.strip():
            raise UsageError(f"{source}: taxa.{label}: must be a non-empty string")
    return {str(k): v.strip() for k, v in raw.items()}
