"""Secret files refused when others may read them; warnings on risky secrets; one service per
data directory (the second exits 2 naming the holder)."""

from __future__ import annotations

import doctest
import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from camtrap.adapters.datalock import DataDirBusy, DataDirLock
from camtrap.adapters.secrets import SecretFileError, read_private, secret_warnings
from camtrap.config import parse_config
from camtrap.errors import UsageError

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mode", [0o666, 0o644, 0o640, 0o604, 0o620])
def test_a_password_file_others_may_read_is_refused_naming_file_and_mode(tmp_path, mode):
    pw = tmp_path / "mqtt.password"
    pw.write_text("s3cret\n")
    pw.chmod(mode)
    with pytest.raises(SecretFileError) as e:
        read_private(pw)
    assert str(e.value) == f"{pw}: mode {mode:04o}: readable by group or others; chmod 600 it"


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_private_password_file_is_read(tmp_path, mode):
    pw = tmp_path / "mqtt.password"
    pw.write_text("s3cret\n")
    pw.chmod(mode)
    assert read_private(pw) == "s3cret\n"


def test_a_symlink_is_checked_at_its_target_and_a_fifo_is_refused(tmp_path):
    target = tmp_path / "real"
    target.write_text("x")
    target.chmod(0o644)
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(SecretFileError, match="real: mode 0644"):
        read_private(tmp_path / "link")
    os.mkfifo(tmp_path / "fifo", 0o600)
    with pytest.raises(SecretFileError, match="not a regular file"):
        read_private(tmp_path / "fifo")


def test_warnings_for_inline_password_plain_mqtt_and_a_readable_config(tmp_path):
    conf = tmp_path / "camtrap.toml"
    conf.write_text("")
    conf.chmod(0o644)
    cfg = parse_config({"mqtt": {"enabled": True, "username": "u", "password": "pw"}})
    lines = secret_warnings(cfg, conf)
    assert any("mqtt.password: inline password" in w for w in lines)
    assert any("mqtt.tls: false: the password goes over plain MQTT" in w for w in lines)
    assert any("mode 0644: holds mqtt.password" in w for w in lines)
    good = parse_config(
        {"mqtt": {"enabled": True, "tls": True, "port": 8883, "password_file": "/etc/x"}}
    )
    assert secret_warnings(good, conf) == []


def test_a_second_holder_of_the_data_dir_is_refused_naming_the_first(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys, time
        from camtrap.adapters.datalock import DataDirLock
        lock = DataDirLock({str(tmp_path)!r})
        lock.acquire()
        print("locked", flush=True)
        sys.stdin.readline()
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, "camtrap-run-probe"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(DataDirBusy) as e:
            DataDirLock(tmp_path).acquire()
        assert f"pid {holder.pid}" in str(e.value) and "camtrap-run-probe" in str(e.value)
        assert isinstance(e.value, UsageError)  # the CLI's exit status 2
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(30)
    with DataDirLock(tmp_path):  # the holder is gone: free again (no stale file to clean)
        pass
    assert (tmp_path / "camtrap.lock").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("name", ["camtrap.adapters.secrets", "camtrap.adapters.outbox"])
def test_docstring_examples(name: str):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0


def test_the_mqtt_password_file_is_refused_when_others_may_read_it(tmp_path):
    from camtrap.adapters.mqtt import read_password
    from camtrap.errors import ConfigError

    pw = tmp_path / "mqtt.password"
    pw.write_text("s3cret\n")
    pw.chmod(0o666)
    cfg = parse_config({"mqtt": {"password_file": str(pw)}})
    with pytest.raises(ConfigError) as e:
        read_password(cfg.mqtt, "trap.toml")
    assert str(e.value) == (
        f"trap.toml: mqtt.password_file: mode 0666: readable by group or others; chmod 600 {pw}"
    )
    pw.chmod(0o600)
    assert read_password(cfg.mqtt, "trap.toml") == "s3cret"


def test_a_second_service_on_the_same_data_dir_exits_2_naming_the_first(tmp_path):
    model = REPO / "models" / "camtrap-demo" / "model.tflite"
    if not model.exists():
        pytest.skip("no demo model")
    cfg = tmp_path / "trap.toml"
    cfg.write_text(
        f'[device]\nid = "lock-01"\ndata_dir = "{tmp_path / "data"}"\n[model]\npath = "{model}"\n'
    )
    bursts = REPO / "demo" / "bursts" / "empty"
    argv = [sys.executable, "-m", "camtrap", "run", "--config", str(cfg), "--sim", str(bursts)]
    first = subprocess.Popen(
        [*argv, "--speed", "0.05"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=REPO,
    )  # fmt: skip
    try:
        assert first.stdout is not None
        for line in first.stdout:  # armed: it holds the lock
            if "armed" in line:
                break
        second = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=REPO)
        assert second.returncode == 2, second.stdout + second.stderr
        err = second.stderr.strip().splitlines()
        assert len(err) == 1, second.stderr
        assert f"data directory in use by pid {first.pid}" in err[0]
    finally:
        first.terminate()
        first.wait(60)
