"""Shared fixtures: a real Mosquitto broker on a free loopback port, and a bounded poll.

``mosquitto``: Mosquitto 2 started as ``mosquitto -p PORT`` (no config: loopback only,
anonymous allowed). ``stop()`` and ``start()`` take it down and bring it back on the same port;
``kill()`` crashes it; ``proc`` is the process. ``mosquitto_factory(conf_text)`` starts one with
a config file, ``password_broker`` one that only admits user ``trap`` / ``s3cret-pw``, and
``mqtt_subscriber(host, port, topic)`` is a real paho subscriber.
Skipped when the binary is missing, except under ``CI=true``, where it fails (CI installs it).

``wait_for(condition, timeout=5.0, what="...")``: poll until ``condition()`` is true or fail
with ``what``; waits for a state, never asserts a timing.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest


def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)),
        None,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], object], timeout: float = 5.0, what: str = "condition"):
    """Poll ``condition`` every 20 ms; return its truthy value, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class Mosquitto:
    """A real broker process; ``args`` are extra arguments (e.g. ``["-c", conf]``)."""

    def __init__(self, binary: str, port: int, args: Sequence[str] = (), log: Path | None = None):
        self.binary, self.host, self.port, self.args, self.log = (
            binary,
            "127.0.0.1",
            port,
            args,
            log,
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.proc is None, "already running"
        cmd = [self.binary, *(self.args or ["-p", str(self.port)])]
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        wait_for(self._accepts, 10.0, f"mosquitto to accept on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None

    def kill(self) -> None:
        """Crash the broker (SIGKILL): no clean shutdown, no persistence saved."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None

    def _accepts(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            pytest.fail(f"mosquitto exited with status {self.proc.returncode} (see {self.log})")
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False


def _mosquitto_binary() -> str:
    binary = find_mosquitto()
    if binary is None:
        reason = "mosquitto binary not found (apt-get install mosquitto)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must install it")
        pytest.skip(reason)
    return binary


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A running broker on a free loopback port, stopped after the test."""
    broker = Mosquitto(_mosquitto_binary(), free_port(), log=tmp_path / "mosquitto.log")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    """Start brokers with a config: ``mosquitto_factory(conf_text)`` (``{port}`` filled in).

    A ``user`` line keeps mosquitto, when started as root, from dropping to a user that cannot
    read the test's files (password file, certificates) or write its persistence.
    """
    brokers: list[Mosquitto] = []
    binary = _mosquitto_binary()

    def make(conf_text: str) -> Mosquitto:
        port = free_port()
        conf = tmp_path / f"mosquitto-{port}.conf"
        conf.write_text(f"user {getpass.getuser()}\n" + conf_text.format(port=port))
        broker = Mosquitto(binary, port, ["-c", str(conf)], log=tmp_path / f"mosquitto-{port}.log")
        broker.start()
        brokers.append(broker)
        return broker

    yield make
    for b in brokers:
        b.stop()


@pytest.fixture
def password_broker(mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path) -> Mosquitto:
    """A broker that only lets in user ``trap`` with password ``s3cret-pw``."""
    passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    if not os.access(passwd, os.X_OK):
        pytest.skip("mosquitto_passwd not found")
    pwfile = tmp_path / "passwd"
    subprocess.run([passwd, "-b", "-c", str(pwfile), "trap", "s3cret-pw"], check=True)
    return mosquitto_factory(
        f"listener {{port}} 127.0.0.1\nallow_anonymous false\npassword_file {pwfile}\n"
    )


@pytest.fixture(name="wait_for")
def wait_for_fixture() -> Callable[..., object]:
    return wait_for


class Subscriber:
    """A real paho subscriber that records every message it gets as (topic, payload, retain)."""

    def __init__(self, host: str, port: int, topic: str, client_id: str = "", clean: bool = True):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: list[tuple[str, bytes, bool]] = []
        self.subscribed = False
        self._topic = topic
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean
        )
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: setattr(self, "subscribed", True)
        self.client.on_message = lambda c, u, m: self.messages.append(
            (m.topic, bytes(m.payload), bool(m.retain))
        )
        self.client.reconnect_delay_set(0.1, 0.5)  # type: ignore[arg-type]
        self.client.connect(host, port)
        self.client.loop_start()
        wait_for(lambda: self.subscribed, 5.0, f"subscription to {topic}")

    def payloads(self, topic: str) -> list[bytes]:
        return [p for t, p, _ in list(self.messages) if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def mqtt_subscriber() -> Iterator[Callable[..., Subscriber]]:
    """``mqtt_subscriber(host, port, topic="#")`` -> a subscribed `Subscriber`, closed after."""
    subs: list[Subscriber] = []

    def make(host: str, port: int, topic: str = "#", **kw: object) -> Subscriber:
        sub = Subscriber(host, port, topic, **kw)  # type: ignore[arg-type]
        subs.append(sub)
        return sub

    yield make
    for s in subs:
        s.close()
