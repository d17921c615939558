"""A tiny ``sd_notify``: tell systemd we are ready, alive, or what we are doing.

The unit is ``Type=notify`` with a ``WatchdogSec=``: the service sends ``READY=1`` once the
model is loaded and the camera started, then ``WATCHDOG=1`` at least every half watchdog period
(`watchdog_period_s`), from the main loop, so a hung loop gets the service restarted. Without
``$NOTIFY_SOCKET`` (a desktop, a test, a shell) every call is a no-op that returns False::

    from camtrap.adapters import systemd
    systemd.ready("watching PIR")          # READY=1 + STATUS=...
    period = systemd.watchdog_period_s()   # None when no watchdog is configured
    systemd.watchdog()                     # WATCHDOG=1, each loop turn
    systemd.status("3 hits pending")
    systemd.stopping()                     # STOPPING=1

The protocol: one datagram of newline-separated ``KEY=value`` lines to the AF_UNIX socket named
in ``$NOTIFY_SOCKET`` (a leading ``@`` means the abstract namespace).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence


def notify(message: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``message`` (e.g. ``"READY=1\\nSTATUS=ok"``); False when not run by systemd."""
    env = os.environ if env is None else env
    address = env.get("NOTIFY_SOCKET", "")
    if not address or address[0] not in "/@":
        return False
    if address[0] == "@":
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError:
        return False  # systemd went away or the socket is gone: nothing useful to do
    return True


def ready(status: str = "", env: Mapping[str, str] | None = None) -> bool:
    """Startup finished: systemd marks the unit active now."""
    return notify("READY=1" + (f"\nSTATUS={_one_line(status)}" if status else ""), env)


def watchdog(env: Mapping[str, str] | None = None) -> bool:
    """Keep-alive ping; must come at least every ``WatchdogSec``."""
    return notify("WATCHDOG=1", env)


def status(text: str, env: Mapping[str, str] | None = None) -> bool:
    """Free-form status shown by ``systemctl status camtrap``."""
    return notify(f"STATUS={_one_line(text)}", env)


def stopping(env: Mapping[str, str] | None = None) -> bool:
    """The service is shutting down on purpose."""
    return notify("STOPPING=1", env)


def watchdog_period_s(env: Mapping[str, str] | None = None) -> float | None:
    """How often to ping: half of ``$WATCHDOG_USEC``, or None without a watchdog for us."""
    env = os.environ if env is None else env
    usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None  # the watchdog is meant for another process
    return int(usec) / 2e6


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- probes for `camtrap doctor` ----------------------------------------------------------------


def command_output(argv: Sequence[str]) -> str | None:
    """A systemd tool's output (stdout and stderr), None when it is not installed or hangs."""
    import subprocess

    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):  # not installed, not runnable, hung
        return None
    return done.stdout + done.stderr


def ntp_synchronized() -> str | None:
    """timedatectl's NTPSynchronized ("yes" or "no"), None when it cannot say."""
    out = command_output(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    value = (out or "").strip()
    return value if value in ("yes", "no") else None
