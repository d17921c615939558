"""Burst store: each burst a recorded-burst directory that ``camtrap replay`` reads back.

Layout: ``<root>/<YYYYMMDD>/<event_id>/`` (UTC date of the trigger) holding the frames as
``000.jpg 001.jpg ...`` (the frames' stored ``.image`` bytes; frames without bytes are encoded
as JPEG) and ``burst.json`` (`camtrap.core.burst_sidecar`: the recorded-burst schema plus
``event_id``, a ``verdict`` record, the ``deployment`` and where the time came from).
Every frame carries EXIF (`camtrap.core.exif`: capture time when the clock is trusted, the
trap, event id and frame index, GPS from the deployment); a frame that has EXIF keeps its own.
Bursts whose time is unknown are filed under ``undated/`` rather than a day they did not
happen on. A burst is written into a hidden temporary directory, every file fsynced, then renamed
into place and the parent directory fsynced: a crash leaves either the whole burst or none.

Quota: after each save the pure policy (`camtrap.core.outbox_policy`) evicts the oldest non-hit
bursts first, and hits only when no non-hit is left (logged as a warning). A full disk
(``ENOSPC``) evicts non-hits and retries the save once. The store also keeps ``min_free_bytes``
free on its filesystem (evicting non-hits after a save), so the outbox beside it is never the
one starved of space. A save that still fails (full, read-only, I/O error) raises
`StorageError` and sets `fault`, which the next good save clears: the service logs it, reports
it and goes on classifying and delivering.

Stored bursts are private: directories 0700, files 0600, whatever the umask.

    store = BurstStore("/var/lib/camtrap/bursts", quota_bytes=2 * 1024**3)
    store.save("trap-07-42", meta, verdict, frames)   # -> .../bursts/20261124/trap-07-42
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from camtrap.adapters.exif import encode_jpeg, with_exif
from camtrap.core.burst_sidecar import SIDECAR, Extra, burst_record, frame_name
from camtrap.core.deployment import Deployment
from camtrap.core.exif import FrameStamp, TrapIdentity, frame_exif
from camtrap.core.outbox_policy import StoredBurst, plan_eviction, plan_free
from camtrap.core.timebase import BurstTime
from camtrap.core.types import BurstMeta, Frame, Verdict
from camtrap.errors import PeerError

log = logging.getLogger(__name__)

TMP_PREFIX = ".tmp-"
ENOSPC_MARGIN = 1 << 20  # free this much beyond the burst's own size on a full disk
MIN_FREE_BYTES = 16 << 20  # left free on the filesystem for the outbox and the system
UNDATED = "undated"  # the day directory of bursts whose clock was unknown

Writer = Callable[[Path, bytes], None]


class StorageError(PeerError):
    """The burst could not be stored (disk full even after eviction, I/O error)."""


def write_durably(path: Path, data: bytes) -> None:
    """Write a file 0600 and fsync it (the default writer; tests inject one that fails)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "wb") as f:
        os.fchmod(fd, 0o600)  # an existing file keeps its mode on open: be sure
        f.write(data)
        f.flush()
        os.fsync(fd)


def private_dir(path: Path) -> None:
    """``path`` and missing parents exist; the ones created here are 0700 (umask aside)."""
    if path.is_dir():
        return
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        path.mkdir()
        os.chmod(path, 0o700)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BurstStore:
    def __init__(
        self,
        root: str | Path,
        quota_bytes: int,
        *,
        jpeg_quality: int = 85,
        writer: Writer = write_durably,
        min_free_bytes: int = MIN_FREE_BYTES,
        trap: TrapIdentity | None = None,
        deployment: Deployment | None = None,
    ) -> None:
        self.root = Path(root)
        self.quota_bytes = int(quota_bytes)
        self.min_free_bytes = int(min_free_bytes)
        self.fault: str | None = None  # the last save's storage error; None once one succeeds
        self.jpeg_quality = jpeg_quality
        self._write = writer
        self.trap = trap
        self.deployment = deployment if deployment is not None and deployment.configured else None
        private_dir(self.root)
        self._remove_stale_tmp()
        self._scanned: dict[str, StoredBurst] | None = None

    @property
    def _index(self) -> dict[str, StoredBurst]:
        """What the store holds, read on first use: after the burst, not between PIR and frame."""
        if self._scanned is None:
            self._scanned = {b.key: b for b in self._scan()}
        return self._scanned

    # ----------------------------------------------------------------------------------------

    def save(
        self,
        event_id: str,
        meta: BurstMeta,
        verdict: Verdict,
        frames: Sequence[Frame],
        *,
        time: BurstTime | None = None,
        target_label: str = "",
        model: str = "",
        target: str = "",
    ) -> Path:
        """Store a burst atomically, then enforce the quota. Returns the burst directory.

        ``time`` says where the trigger time came from (unset: a trusted clock, as before
        time sources were recorded); ``target_label`` (the model label that scored),
        ``target`` (the target or label group it scored for) and ``model`` go into the record."""
        extra = Extra(time, target_label, model, target)
        files = self._files(event_id, meta, verdict, frames, extra)
        day = _day(meta.trigger_time) if extra.dated else UNDATED
        final = self.root / day / _safe_name(event_id)
        try:
            self._write_or_free(final, files)
        except StorageError as e:
            if self.fault is None:
                log.error("store: degraded: %s", e)
            self.fault = str(e)
            raise
        if self.fault is not None:
            log.warning("store: recovered: a burst was stored again after: %s", self.fault)
            self.fault = None
        entry = StoredBurst(
            self._key(final), meta.trigger_time, _dir_size(final), verdict.decision == "hit"
        )
        self._index[entry.key] = entry
        self._enforce_quota(protect=(entry.key,) if entry.is_hit else ())
        self._keep_free(protect=entry.key)
        return final

    def health(self) -> dict[str, str | int | None]:
        """For telemetry and doctor: the store's fault (None when healthy), free bytes."""
        return {"store_fault": self.fault, "store_free_bytes": self._free_bytes()}

    def usage_bytes(self) -> int:
        return sum(b.size for b in self._index.values())

    def bursts(self) -> list[StoredBurst]:
        """What the store holds, oldest first."""
        return sorted(self._index.values(), key=lambda b: (b.created, b.key))

    def hit_times(self) -> list[float]:
        """Trigger times of the hit bursts it holds (the service's hits_today after a boot)."""
        return [b.created for b in self.bursts() if b.is_hit]

    # ----------------------------------------------------------------------------------------

    def _files(
        self,
        event_id: str,
        meta: BurstMeta,
        verdict: Verdict,
        frames: Sequence[Frame],
        extra: Extra,
    ) -> dict[str, bytes]:
        encoded = [(f, self._frame_bytes(f, event_id, meta, extra)) for f in frames]
        files = {frame_name(data, f.index): data for f, data in encoded}
        names = {f.index: frame_name(data, f.index) for f, data in encoded}
        times = {f.index: f.t for f in frames}
        sidecar = burst_record(event_id, meta, verdict, self.deployment, extra, names, times)
        files[SIDECAR] = (json.dumps(sidecar, indent=1) + "\n").encode()
        return files

    def _frame_bytes(self, frame: Frame, event_id: str, meta: BurstMeta, extra: Extra) -> bytes:
        trap = self.trap or TrapIdentity(meta.device_id)
        stamp = FrameStamp(event_id, frame.index, meta.trigger_time + frame.t, extra.dated)
        spec = frame_exif(stamp, trap, self.deployment)
        if not frame.image:  # frames without stored bytes are encoded here, with the EXIF
            return encode_jpeg(frame.pixels, self.jpeg_quality, spec)
        try:
            return with_exif(frame.image, spec)
        except (OSError, ValueError, SyntaxError) as e:  # bytes Pillow cannot parse: as they came
            log.warning("store: %s frame %d stored without EXIF: %s", event_id, frame.index, e)
            return frame.image

    def _write_or_free(self, final: Path, files: dict[str, bytes]) -> None:
        try:
            self._write_burst(final, files)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise StorageError(f"store {final}: {e}") from None
            self._free_for(sum(len(b) for b in files.values()))
            try:
                self._write_burst(final, files)
            except OSError as e2:
                raise StorageError(f"store {final}: still failing after eviction: {e2}") from None

    def _free_bytes(self) -> int | None:
        try:
            st = os.statvfs(self.root)
        except OSError:
            return None
        return st.f_bavail * st.f_frsize

    def _keep_free(self, protect: str) -> None:
        """Evict non-hit bursts, oldest first, until ``min_free_bytes`` are free (or none left)."""
        free = self._free_bytes()
        if free is None or free >= self.min_free_bytes:
            return
        candidates = [b for b in self._index.values() if b.key != protect]
        victims = plan_free(candidates, self.min_free_bytes - free)
        if victims:
            log.warning(
                "store: %d bytes free, under the %d kept for the outbox: evicting %d burst(s)",
                free,
                self.min_free_bytes,
                len(victims),
            )
            self._evict(victims)

    def _write_burst(self, final: Path, files: dict[str, bytes]) -> None:
        private_dir(final.parent)
        tmp = final.parent / f"{TMP_PREFIX}{final.name}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tmp.mkdir(mode=0o700)
            os.chmod(tmp, 0o700)
            for name, data in files.items():  # burst.json last: it marks a complete burst
                self._write(tmp / name, data)
            fsync_dir(tmp)
            if final.exists():
                log.warning("store: replacing existing burst %s", final)
                self._index.pop(self._key(final), None)
                shutil.rmtree(final)
            os.rename(tmp, final)
            fsync_dir(final.parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _enforce_quota(self, protect: tuple[str, ...]) -> None:
        plan = plan_eviction(list(self._index.values()), self.quota_bytes, protect)
        if plan.evicts_hits:
            hits = [b.key for b in plan.evict if b.is_hit]
            log.warning(
                "store: over quota with no non-hit bursts left: evicting %d hit burst(s): %s",
                len(hits),
                ", ".join(hits),
            )
        self._evict(plan.evict)
        if not plan.fits:
            log.warning(
                "store: %d bytes kept, over the %d-byte quota (the newest hit is kept)",
                plan.total_after,
                self.quota_bytes,
            )

    def _free_for(self, need_bytes: int) -> None:
        victims = plan_free(list(self._index.values()), need_bytes + ENOSPC_MARGIN)
        log.warning(
            "store: disk full: evicting %d non-hit burst(s) and retrying once", len(victims)
        )
        self._evict(victims)

    def _evict(self, victims: Sequence[StoredBurst]) -> None:
        for b in victims:
            path = self.root / b.key
            log.info("store: evicting %s burst %s (%d bytes)", _kind(b), b.key, b.size)
            shutil.rmtree(path, ignore_errors=True)
            self._index.pop(b.key, None)
            with contextlib.suppress(OSError):
                path.parent.rmdir()  # the day directory, once empty

    def _key(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _scan(self) -> list[StoredBurst]:
        found = []
        for sidecar in sorted(self.root.glob(f"*/*/{SIDECAR}")):
            entry = self._read_entry(sidecar.parent)
            if entry is not None:
                found.append(entry)
        return found

    def _read_entry(self, burst_dir: Path) -> StoredBurst | None:
        try:
            record = json.loads((burst_dir / SIDECAR).read_text(encoding="utf-8"))
            created = datetime.fromisoformat(record["trigger_time"]).timestamp()
            is_hit = record.get("verdict", {}).get("verdict") == "hit"
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            log.warning("store: ignoring %s: unreadable %s: %s", burst_dir, SIDECAR, e)
            return None
        return StoredBurst(self._key(burst_dir), created, _dir_size(burst_dir), bool(is_hit))

    def _remove_stale_tmp(self) -> None:
        for tmp in self.root.glob(f"*/{TMP_PREFIX}*"):
            log.info("store: removing incomplete burst %s", tmp)
            shutil.rmtree(tmp, ignore_errors=True)


def _day(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y%m%d")


def _safe_name(event_id: str) -> str:
    if not event_id or "/" in event_id or event_id.startswith("."):
        raise ValueError(f"event id {event_id!r} cannot be a directory name")
    return event_id


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def _kind(b: StoredBurst) -> str:
    return "hit" if b.is_hit else "non-hit"
