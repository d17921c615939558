"""Fixtures of the cross tests (the Pi and the MCU firmware together)."""

from __future__ import annotations

import os
import tty
from collections.abc import Iterator

import pytest


@pytest.fixture
def link_pty() -> Iterator[tuple[int, str]]:
    """The Pi <-> MCU UART: the MCU on the master fd, the Pi opens the slave by name."""
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    try:
        yield master, os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)
