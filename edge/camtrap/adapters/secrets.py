"""Secret files and the warnings about secrets in the config, as ssh treats its keys.

* `read_private(path)`: the text of a password or key file, refused (`SecretFileError`, exit
  2, naming the file and its mode) when group or others may read or write it, or when it is
  not a regular file. ``chmod 600`` (or 0400, owner the service user) is the fix.
* `secret_warnings(cfg, config_path)`: one line per risky choice that is still allowed (an
  inline password, a password over plain MQTT, a config holding a password that others may
  read); ``camtrap validate-config`` and ``camtrap doctor`` print them.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "pw"); _ = open(p, "w").write("s3cret\\n")
    >>> os.chmod(p, 0o644)
    >>> try:
    ...     read_private(p)
    ... except SecretFileError as e:
    ...     print(str(e).split(": ", 1)[1])
    mode 0644: readable by group or others; chmod 600 it
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from camtrap.errors import UsageError

PRIVATE_MASK = 0o077  # no bit for group or others, like ssh's check on a private key


class SecretFileError(UsageError):
    """A password or key file that others may read (or that is not a regular file)."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"{path}: {problem}")


def read_private(path: str | Path, what: str = "secret file") -> str:
    """The text of ``path``, only when no one but its owner may read or write it."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == 40:  # ELOOP: a symlink; check where it points instead
            return read_private(p.resolve(), what)
        raise SecretFileError(p, f"cannot read: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SecretFileError(p, f"{what} is not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        if mode & PRIVATE_MASK:
            raise SecretFileError(p, f"mode {mode:04o}: readable by group or others; chmod 600 it")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(64 * 1024)
    finally:
        os.close(fd)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretFileError(p, f"{what} is not UTF-8 text") from None


def secret_warnings(cfg: Any, config_path: str | Path | None = None) -> list[str]:
    """Risky secret handling that is allowed but should be fixed, one line each."""
    m = cfg.mqtt
    out: list[str] = []
    source = str(config_path) if config_path is not None else "<config>"
    has_password = bool(m.password or m.password_file)
    if m.password:
        out.append(
            f"{source}: mqtt.password: inline password; move it to mqtt.password_file "
            "(mode 0600, owner camtrap)"
        )
    if m.enabled and has_password and not m.tls:
        out.append(
            f"{source}: mqtt.tls: false: the password goes over plain MQTT, readable on the "
            "network; set mqtt.tls = true (port 8883)"
        )
    if m.password and config_path is not None:
        try:
            mode = stat.S_IMODE(os.stat(config_path).st_mode)
        except OSError:
            mode = 0
        if mode & PRIVATE_MASK:
            out.append(
                f"{source}: mode {mode:04o}: holds mqtt.password and is readable by group or "
                "others; chmod 600 it"
            )
    return out
