"""tools/flash.py with a recording mpremote stand-in: dry run, version check, verify, secrets."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from tools import flash

KEY = "2b7e151628aed2a6abf7158809cf4f3c"
SECRETS = f"""
device_id = "trap-07"
[lorawan]
dev_eui = "70b3d57ed0000001"
join_eui = "0000000000000000"
app_key = "{KEY}"
[settings]
mode = "power-gated"
"""


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    p = tmp_path / "trap-07.secrets.toml"
    p.write_text(SECRETS)
    p.chmod(0o600)  # it holds the LoRaWAN keys: a file others may read is refused
    return p


class FakeBoard:
    """Answers mpremote like a board with MicroPython loading .mpy ``version``."""

    def __init__(self, version: int = 6, verify_bad: str = "") -> None:
        self.version, self.verify_bad = version, verify_bad
        self.calls: list[list[str]] = []
        self.copied: dict[str, bytes] = {}

    def __call__(self, cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
        cmd = list(cmd)
        self.calls.append(cmd)
        args = cmd[cmd.index("connect") + 2 :]
        out = ""
        if args[0] == "exec" and "_mpy" in args[1]:
            out = f"MPY {self.version} 0\n"
        elif args[0] == "exec":
            man = json.loads(self.copied[":manifest.json"])
            bad = [
                p
                for p, h in man["files"].items()
                if hashlib.sha256(self.copied[":" + p]).hexdigest() != h
            ]
            out = f"VERIFY {len(man['files'])} {' '.join(bad) or self.verify_bad or '-'}\n"
        elif args[0] == "cp":
            self.copied[args[2]] = Path(args[1]).read_bytes()
        return subprocess.CompletedProcess(cmd, 0, out, "")


def test_dry_run_prints_every_mpremote_command_and_touches_no_board(secrets, capsys):
    def no_board(cmd):
        raise AssertionError(f"dry run ran {cmd}")

    rc = flash.main(["--board", "esp32", "--port", "/dev/ttyUSB0", "--secrets", str(secrets),
                     "--dry-run"], run=no_board)  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    lines = [x for x in out.splitlines() if x.startswith("mpremote connect /dev/ttyUSB0")]
    assert any(x.endswith(":trapfw/fsm.mpy") for x in lines)
    assert any(x.endswith(":main.py") for x in lines) and any(":settings.json" in x for x in lines)
    assert lines[-1].endswith(" reset")
    assert KEY not in out


def test_flashes_copies_verifies_on_the_device_writes_settings_and_resets(secrets, capsys):
    board = FakeBoard()
    rc = flash.main(["--board", "rp2", "--port", "p", "--secrets", str(secrets)], run=board)
    assert rc == 0, capsys.readouterr().err
    verbs = [c[c.index("connect") + 2] for c in board.calls]
    assert verbs[0] == "exec" and verbs[-1] == "reset"
    assert verbs.index("reset") > max(i for i, v in enumerate(verbs) if v == "exec")
    settings = json.loads(board.copied[":settings.json"])
    assert settings["device_id"] == "trap-07" and settings["board"] == "rp2"
    assert settings["app_key"] == KEY
    man = json.loads(board.copied[":manifest.json"])
    assert set(man["files"]) >= {"trapfw/link.mpy", "trapfw/fsm.mpy", "main.py", "boot.py"}
    assert KEY not in capsys.readouterr().out


def test_refuses_a_board_whose_micropython_loads_another_mpy_version(secrets, capsys):
    board = FakeBoard(version=5)
    rc = flash.main(["--board", "esp32", "--port", "p", "--secrets", str(secrets)], run=board)
    err = capsys.readouterr().err
    assert rc == 2
    assert ".mpy v5" in err and ".mpy v6" in err
    assert all("cp" not in c for c in board.calls)  # nothing was copied


def test_a_hash_mismatch_on_the_device_fails(secrets, capsys):
    board = FakeBoard(verify_bad="trapfw/fsm.mpy")
    rc = flash.main(["--board", "esp32", "--port", "p", "--secrets", str(secrets)], run=board)
    assert rc == 1 and "sha256 mismatch" in capsys.readouterr().err


def test_a_bad_setting_in_the_secrets_file_fails_naming_file_and_key(tmp_path, capsys):
    p = tmp_path / "s.toml"
    p.write_text('device_id = "trap-07"\n[settings]\nlockout = 5\n')
    p.chmod(0o600)
    rc = flash.main(["--board", "esp32", "--port", "p", "--secrets", str(p), "--dry-run"])
    assert rc == 2
    assert f"{p}: lockout: unknown key" in capsys.readouterr().err


def test_the_example_secrets_file_is_valid_and_the_real_ones_are_ignored_by_git(tmp_path):
    root = Path(flash.ROOT)
    copy = tmp_path / "trap-07.secrets.toml"  # as a user makes theirs: a private copy
    copy.write_bytes((root / "firmware" / "secrets.example.toml").read_bytes())
    copy.chmod(0o600)
    settings = flash.load_settings(copy, "esp32")
    assert settings["device_id"] == "trap-07"
    assert "*.secrets.toml" in (root / ".gitignore").read_text()


def test_a_secrets_file_others_may_read_is_refused_naming_file_and_mode(secrets, capsys):
    secrets.chmod(0o644)
    rc = flash.main(["--board", "esp32", "--port", "p", "--secrets", str(secrets), "--dry-run"])
    assert rc == 2
    err = capsys.readouterr().err
    assert f"{secrets}: mode 0644: readable by group or others; chmod 600 it" in err
