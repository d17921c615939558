"""Download one file over HTTPS with a progress bar, checking its size and sha256.

Used only by `camtrap models fetch`, a download the user asks for (never by tests against the
internet, nor by the demo: the tests serve a file from 127.0.0.1). The file is written to a
temporary name beside the target and renamed only once its hash matches, so an interrupted
or tampered download never leaves a model that looks installed.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from camtrap.errors import UsageError

CHUNK = 64 * 1024
TIMEOUT_S = 30.0


class FetchError(UsageError):
    """The download failed, or what came is not the file the catalogue names."""


def fetch(
    url: str, dest: Path, sha256: str, size: int | None = None, progress: bool = True
) -> Path:
    """Download ``url`` to ``dest`` unless ``dest`` already has the right hash."""
    check_url(url)
    if dest.is_file() and file_sha256(dest) == sha256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _download(url, out, size, progress)
        if digest != sha256:
            raise FetchError(
                f"{url}: sha256 {digest[:12]}... is not the catalogue's {sha256[:12]}..."
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dest


def check_url(url: str) -> None:
    """HTTPS, or plain HTTP to this machine only (a local mirror, the tests' server)."""
    parts = urllib.parse.urlsplit(url)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise FetchError(f"{url}: want an https:// URL (or http:// to 127.0.0.1)")


def _download(url: str, out: Any, size: int | None, progress: bool) -> str:
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as r:
            total = int(r.headers.get("Content-Length") or size or 0) or None
            with _bar(total, Path(url).name, progress) as bar:
                while chunk := r.read(CHUNK):
                    h.update(chunk)
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise FetchError(f"{url}: download failed: {getattr(e, 'reason', e)}") from None
    return h.hexdigest()


def _bar(total: int | None, name: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total, unit="B", unit_scale=True, desc=name, file=sys.stderr, disable=not enabled
    )


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()
