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
    """Answers mpremote like a board with MicroPython loading .mpy ``version``; its files are
    ``copied`` (device path -> bytes, ``:`` first), stale ones included."""

    def __init__(
        self, version: int = 6, verify_bad: str = "", stale=(), deaf: int = 0, corrupt: str = ""
    ) -> None:
        self.version, self.verify_bad, self.deaf, self.corrupt = version, verify_bad, deaf, corrupt
        self.calls: list[list[str]] = []
        self.copied: dict[str, bytes] = {":" + p: b"old" for p in stale}
        self.copied[":state0.bin"] = b"CT state"  # data files must survive a re-flash

    def __call__(self, cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
        cmd = list(cmd)
        self.calls.append(cmd)
        args = cmd[cmd.index("connect") + 2 :]
        out = ""
        if args[0] == "exec" and "safemode" in args[1]:
            if self.deaf > 0:  # asleep or resetting: no answer yet
                self.deaf -= 1
                return subprocess.CompletedProcess(cmd, 1, "", "could not enter raw repl")
            self.copied[":safemode"] = b"flashing"
            out = "SAFE\n"
        elif args[0] == "exec" and "_mpy" in args[1]:
            out = f"MPY {self.version} 0\n"
        elif args[0] == "exec" and "PRUNE" in args[1]:
            keep = set(json.loads(self.copied[":manifest.json"])["files"])
            gone = [
                p[1:]
                for p in list(self.copied)
                if p[1:] not in keep and (p.startswith(":trapfw/") or p.endswith((".py", ".mpy")))
            ]
            for p in gone:
                del self.copied[":" + p]
            out = f"PRUNE {' '.join(gone) or '-'}\n"
        elif args[0] == "exec":
            man = json.loads(self.copied[":manifest.json"])
            bad = [
                p
                for p, h in man["files"].items()
                if hashlib.sha256(self.copied[":" + p]).hexdigest() != h
            ]
            out = f"VERIFY {len(man['files'])} {' '.join(bad) or self.verify_bad or '-'}\n"
        elif args[0] == "cp":
            data = Path(args[1]).read_bytes()
            self.copied[args[2]] = data + (b" " if args[2] == ":" + self.corrupt else b"")
        elif args[0] == "rm":
            self.copied.pop(args[1], None)
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
    assert len(verbs) - 1 - verbs[::-1].index("reset") > max(
        i for i, v in enumerate(verbs) if v == "exec"
    )
    settings = json.loads(board.copied[":settings.json"])
    assert settings["device_id"] == "trap-07" and settings["board"] == "rp2"
    assert settings["app_key"] == KEY
    man = json.loads(board.copied[":manifest.json"])
    assert set(man["files"]) >= {"trapfw/link.mpy", "trapfw/fsm.mpy", "main.py", "boot.py"}
    assert KEY not in capsys.readouterr().out


def test_a_reflash_removes_files_the_manifest_does_not_list_and_keeps_the_state(secrets, capsys):
    stale = ["trapfw/radio.py", "trapfw/old_module.mpy", "oldmain.py"]
    board = FakeBoard(stale=stale)
    rc = flash.main(["--board", "esp32", "--port", "p", "--secrets", str(secrets)], run=board)
    assert rc == 0, capsys.readouterr().err
    assert not any(":" + p in board.copied for p in stale)  # x.py would shadow x.mpy
    assert board.copied[":state0.bin"] == b"CT state"
    assert ":trapfw/radio.mpy" in board.copied
    assert "removed stale files: trapfw/radio.py" in capsys.readouterr().out


def test_settings_json_is_hash_verified_on_the_device(secrets, capsys):
    board = FakeBoard(corrupt="settings.json")
    rc = flash.main(["--board", "esp32", "--port", "p", "--secrets", str(secrets)], run=board)
    assert rc == 1 and "sha256 mismatch on the device: settings.json" in capsys.readouterr().err
    man = json.loads(board.copied[":manifest.json"])
    assert "settings.json" in man["files"]


def test_flashing_happens_in_safe_mode_and_leaves_it_at_the_end(secrets, capsys):
    board = FakeBoard(deaf=2)  # asleep or in its app: the first tries get no answer
    rc = flash.main(["--board", "esp32", "--port", "p", "--secrets", str(secrets)], run=board)
    assert rc == 0, capsys.readouterr().err
    verbs = [c[c.index("connect") + 2 :] for c in board.calls]
    safe = [i for i, v in enumerate(verbs) if v[0] == "exec" and "safemode" in v[1]]
    assert len(safe) == 3 and verbs[safe[-1] + 1] == ["reset"]  # into safe mode first
    assert verbs[-2] == ["rm", ":safemode"] and verbs[-1] == ["reset"]
    assert ":safemode" not in board.copied


def test_a_board_that_never_answers_fails_with_the_way_out(secrets, capsys):
    board = FakeBoard(deaf=99)
    rc = flash.main(["--board", "esp32", "--port", "p", "--secrets", str(secrets)], run=board)
    assert rc == 1 and "reset button" in capsys.readouterr().err
    assert all(c[c.index("connect") + 2] == "exec" for c in board.calls)  # nothing copied


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


def test_a_data_rate_the_region_cannot_carry_11_bytes_at_fails_naming_the_key(tmp_path, capsys):
    p = tmp_path / "s.toml"
    p.write_text('device_id = "trap-07"\n[settings]\nlora_region = "AS923"\nlora_dr = 0\n')
    p.chmod(0o600)
    rc = flash.main(["--board", "esp32", "--port", "p", "--secrets", str(p), "--dry-run"])
    assert rc == 2 and f"{p}: lora_dr: AS923 DR0 cannot carry 11 bytes" in capsys.readouterr().err


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


@pytest.mark.node
def test_the_prune_and_verify_scripts_run_on_micropython(tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from mpvm import require_vm, run_micropython

    require_vm()
    good = b"current bytecode"
    files = {"trapfw/link.mpy": good, "main.py": b"x", "settings.json": b"{}"}
    man = {"files": {p: hashlib.sha256(d).hexdigest() for p, d in files.items()}}
    setup = ["import os", "os.mkdir('/trapfw')"]
    for p, d in {
        **files,
        "trapfw/link.py": b"stale",
        "old.py": b"stale",
        "state0.bin": b"s",
    }.items():
        setup.append(f"open('/{p}', 'wb').write({d!r})")
    setup.append(f"open('/manifest.json', 'w').write({json.dumps(man)!r})")
    code = "\n".join(setup) + "\n" + flash.PRUNE_SCRIPT + flash.VERIFY_SCRIPT
    code += "\nprint('LEFT', sorted(os.listdir('/')), sorted(os.listdir('/trapfw')))\n"
    proc = run_micropython(code, [])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (
        "PRUNE trapfw/link.py old.py" in proc.stdout or "PRUNE old.py trapfw/link.py" in proc.stdout
    )
    assert "VERIFY 3 -" in proc.stdout
    left = next(x for x in proc.stdout.splitlines() if x.startswith("LEFT"))
    assert "'state0.bin'" in left and "'old.py'" not in left and "'link.py'" not in left
