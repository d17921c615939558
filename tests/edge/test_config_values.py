"""Config values the probe got through `validate-config`: NaN and infinity in every float key,
list sizes and ranges, unsafe device ids. Each is now one line naming the key path, exit 2."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from camtrap.cli import main
from camtrap.config import parse_config, reference
from camtrap.errors import ConfigError

FLOAT_KEYS = [key for key, tp, _default, _doc in reference() if tp.startswith("number")]


def test_there_are_float_keys_to_check():
    assert len(FLOAT_KEYS) >= 10 and "trigger.cooldown_s" in FLOAT_KEYS


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "+nan"])
@pytest.mark.parametrize("key", FLOAT_KEYS)
def test_non_finite_numbers_are_refused_in_every_float_key(key: str, value: str):
    section, name = key.split(".", 1)
    raw = tomllib.loads(f"[{section}]\n{name} = {value}\n")
    with pytest.raises(ConfigError) as e:
        parse_config(raw, "t.toml")
    assert e.value.key == key
    assert str(e.value).startswith(f"t.toml: {key}: must be a finite number, got ")


def test_a_huge_integer_in_a_float_key_is_refused_not_a_traceback():
    with pytest.raises(ConfigError, match=r"camera\.lens_position: must be in"):
        parse_config({"camera": {"lens_position": 10**400}})


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ([-5, 0], r"camera\.main_size\[0\]: must be in 16\.\.9152, got -5"),
        ([1920, 0], r"camera\.main_size\[1\]: must be in 16\.\.9152, got 0"),
        ([1920], r"camera\.main_size: must have 2 items, got 1"),
        ([100000, 1080], r"camera\.main_size\[0\]: must be in 16\.\.9152"),
    ],
)
def test_main_size_has_a_size_and_a_range(size, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({"camera": {"main_size": size}})


def test_targets_have_a_size_limit_and_no_blank_labels():
    with pytest.raises(ConfigError, match=r"verdict\.targets: must have 0\.\.64 items, got 65"):
        parse_config({"verdict": {"targets": [f"t{i}" for i in range(65)]}})
    with pytest.raises(ConfigError, match=r"verdict\.targets\[1\]: must be a non-empty label"):
        parse_config({"verdict": {"targets": ["leopard", " "]}})
    assert parse_config({"verdict": {"targets": ["Amur leopard"]}}).verdict.targets == (
        "Amur leopard",
    )


@pytest.mark.parametrize(
    "device_id",
    [".hidden", "trap/07", "trap 07", "trap\n07", "trap\u202e70", "tråp", "", "x" * 65, "a.b",
     "+", "#", "..", "trap-07\x00"],
)  # fmt: skip
def test_unsafe_device_ids_are_refused_once_in_config(device_id: str):
    with pytest.raises(ConfigError) as e:
        parse_config({"device": {"id": device_id}}, "t.toml")
    assert e.value.key == "device.id"
    assert "1 to 64 ASCII letters, digits, '-' or '_'" in e.value.problem


@pytest.mark.parametrize("device_id", ["trap-07", "T_7", "a", "x" * 64, "2026-leopard-03"])
def test_safe_device_ids_pass(device_id: str):
    assert parse_config({"device": {"id": device_id}}).device.id == device_id


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[trigger]\ncooldown_s = nan\n", "trigger.cooldown_s"),
        ("[storage]\nquota_mb = nan\n", "storage.quota_mb"),
        ("[trigger]\nsample_rate = nan\n", "trigger.sample_rate"),
        ("[verdict]\nthreshold = nan\n", "verdict.threshold"),
        ('[device]\nid = ".hidden"\n', "device.id"),
        ("[camera]\nmain_size = [-5, 0]\n", "camera.main_size[0]"),
    ],
)
def test_validate_config_refuses_the_probes_values(tmp_path: Path, capsys, text: str, key: str):
    cfg = tmp_path / "t.toml"
    cfg.write_text(text)
    assert main(["validate-config", str(cfg)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert f"{cfg}: {key}: must be" in line


def test_validate_config_warns_on_an_inline_password_over_plain_mqtt(tmp_path: Path, capsys):
    cfg = tmp_path / "t.toml"
    cfg.write_text('[mqtt]\nenabled = true\nusername = "u"\npassword = "pw"\n')
    cfg.chmod(0o644)
    assert main(["validate-config", str(cfg)]) == 0  # allowed, with warnings
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{cfg}: ok")
    warnings = captured.err.splitlines()
    assert len(warnings) == 3, captured.err
    assert all(w.startswith("camtrap validate-config: warning: ") for w in warnings)
    assert "inline password" in warnings[0] and "plain MQTT" in warnings[1]
    assert "mode 0644: holds mqtt.password" in warnings[2]
