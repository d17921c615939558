"""sd_notify over a real AF_UNIX datagram socket, as systemd would listen on it."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from camtrap.adapters import systemd


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, dict[str, str]]]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    yield sock, {"NOTIFY_SOCKET": str(path)}
    sock.close()


def test_ready_sends_ready_and_status_in_one_datagram(listener) -> None:
    sock, env = listener
    assert systemd.ready("watching\nthe PIR", env=env)
    assert sock.recv(4096) == b"READY=1\nSTATUS=watching the PIR"


def test_watchdog_status_and_stopping_messages(listener) -> None:
    sock, env = listener
    assert systemd.watchdog(env=env)
    assert systemd.status("2 hits pending", env=env)
    assert systemd.stopping(env=env)
    got = [sock.recv(4096) for _ in range(3)]
    assert got == [b"WATCHDOG=1", b"STATUS=2 hits pending", b"STOPPING=1"]


def test_abstract_namespace_socket() -> None:
    name = f"camtrap-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        assert systemd.watchdog(env={"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(64) == b"WATCHDOG=1"


def test_without_notify_socket_every_call_is_a_no_op() -> None:
    assert systemd.ready(env={}) is False
    assert systemd.watchdog(env={"NOTIFY_SOCKET": ""}) is False


def test_a_vanished_socket_is_not_an_error(tmp_path: Path) -> None:
    assert systemd.watchdog(env={"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}) is False


def test_watchdog_period_is_half_of_watchdog_usec_for_this_process() -> None:
    me = str(os.getpid())
    assert systemd.watchdog_period_s({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": me}) == 30.0
    assert systemd.watchdog_period_s({"WATCHDOG_USEC": "60000000"}) == 30.0
    assert systemd.watchdog_period_s({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}) is None
    assert systemd.watchdog_period_s({}) is None
