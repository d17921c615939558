"""The strict config parser: unknown keys, wrong types and ranges name the file and key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from camtrap.cli import main
from camtrap.config import Config, load_config, parse_config, reference
from camtrap.errors import ConfigError


def test_no_file_gives_the_defaults_and_an_empty_table_too():
    assert load_config(None) == Config() == parse_config({})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"mqtt": {"prot": 1883}}, "t.toml: mqtt.prot: unknown key (known here: "),
        ({"sensor": {}}, "t.toml: sensor: unknown key"),
        ({"mqtt": {"port": 0}}, "t.toml: mqtt.port: must be in 1..65535, got 0"),
        ({"mqtt": {"port": "1883"}}, "t.toml: mqtt.port: must be an integer, got a string"),
        ({"mqtt": {"port": True}}, "t.toml: mqtt.port: must be an integer, got a boolean"),
        ({"mqtt": {"enabled": 1}}, "t.toml: mqtt.enabled: must be true or false, got an integer"),
        ({"mqtt": 5}, "t.toml: mqtt: must be a table, got an integer"),
        ({"device": {"mode": "sleepy"}}, "t.toml: device.mode: must be one of 'always-on'"),
        ({"verdict": {"targets": "leopard"}}, "t.toml: verdict.targets: must be an array"),
        ({"verdict": {"targets": [1]}}, "t.toml: verdict.targets[0]: must be a string"),
        ({"camera": {"main_size": [640]}}, "t.toml: camera.main_size: must have 2 items, got 1"),
        ({"link": {"mqtt_linger_s": 61}}, "t.toml: link.mqtt_linger_s: must be in 0..60, got 61"),
        ({"link": {"mqtt_linger_s": -1}}, "t.toml: link.mqtt_linger_s: must be in 0..60"),
    ],
)
def test_bad_values_are_refused_naming_the_key_path(raw, message):
    with pytest.raises(ConfigError) as e:
        parse_config(raw, "t.toml")
    assert str(e.value).startswith(message)


def test_values_are_typed_and_optional_fields_stay_unset_unless_given():
    cfg = parse_config({"trigger": {"cooldown_s": 2}, "verdict": {"targets": ["leopard"]}})
    assert cfg.trigger.cooldown_s == 2.0 and isinstance(cfg.trigger.cooldown_s, float)
    assert cfg.verdict.targets == ("leopard",) and cfg.verdict.k is None


def test_file_errors_name_the_file(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"none\.toml: \(file\): not found"):
        load_config(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[mqtt\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: \(syntax\): "):
        load_config(bad)


def test_the_mqtt_password_never_shows_in_a_config_repr():
    cfg = parse_config({"mqtt": {"username": "trap", "password": "s3cret-pw"}})
    assert cfg.mqtt.password == "s3cret-pw"
    assert "s3cret-pw" not in repr(cfg) and "s3cret-pw" not in repr(cfg.mqtt)


def test_the_reference_lists_every_key_with_a_description():
    rows = reference()
    assert ("mqtt.port", "int", "1883", "1883 plain, 8883 TLS [1..65535]") in rows
    assert all(description for _key, _type, _default, description in rows), [
        key for key, _t, _d, description in rows if not description
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[device]\nmode = "power-gated"\n', 'trigger.source: must be "mcu" when device.mode'),
        ("[mqtt]\nbackoff_min_s = 100\nbackoff_max_s = 10\n", "mqtt.backoff_min_s: must be <="),
        ('[mqtt]\npassword = "a"\npassword_file = "b"\n', "mqtt.password: set password or"),
        ('[mqtt]\nca_file = "ca.crt"\n', "mqtt.ca_file: set, but mqtt.tls is false"),
        ('[device]\nid = "trap/07"\n', "device.id: must be 1 to 64 ASCII letters, digits"),
    ],
)
def test_validate_config_applies_the_rules_across_keys_that_run_applies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
):
    cfg = tmp_path / "t.toml"
    cfg.write_text(text)
    assert main(["validate-config", str(cfg)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"camtrap validate-config: error: {cfg}: {message}")


def test_validate_config_accepts_the_shipped_examples(capsys: pytest.CaptureFixture[str]):
    root = Path(__file__).parents[2] / "examples"
    for name in ("camtrap.toml", "demo.toml"):
        assert main(["validate-config", str(root / name)]) == 0
    assert capsys.readouterr().out.count(": ok (device ") == 2


def test_every_problem_in_a_file_is_reported_at_once_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    cfg = tmp_path / "t.toml"
    cfg.write_text(
        "[mqtt]\nprot = 1883\nport = 0\nenabled = 1\n"  # three mistakes in one table
        '[camera]\nframes = "five"\n'  # one in another
        "[sensor]\n"  # and an unknown section
    )
    assert main(["validate-config", str(cfg)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert sorted(line.split(": ")[3] for line in lines) == [
        "camera.frames",
        "mqtt.enabled",
        "mqtt.port",
        "mqtt.prot",
        "sensor",
    ]
    assert all(line.startswith(f"camtrap validate-config: error: {cfg}: ") for line in lines)


def test_the_rules_across_keys_are_all_reported_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    cfg = tmp_path / "t.toml"
    cfg.write_text(
        '[device]\nmode = "power-gated"\n'
        '[mqtt]\nbackoff_min_s = 100\nbackoff_max_s = 10\nca_file = "ca.crt"\n'
    )
    assert main(["validate-config", str(cfg)]) == 2
    keys = [line.split(": ")[3] for line in capsys.readouterr().err.splitlines()]
    assert keys == ["trigger.source", "mqtt.backoff_min_s", "mqtt.ca_file"]


def test_a_single_problem_is_a_plain_config_error_and_several_keep_each_one():
    with pytest.raises(ConfigError) as one:
        parse_config({"mqtt": {"port": 0}}, "t.toml")
    assert str(one.value) == "t.toml: mqtt.port: must be in 1..65535, got 0"
    with pytest.raises(ConfigError) as many:
        parse_config({"mqtt": {"port": 0, "tls": "yes"}}, "t.toml")
    assert [p.key for p in many.value.problems] == ["mqtt.port", "mqtt.tls"]  # pyright: ignore
    assert str(many.value).splitlines()[0] == "t.toml: mqtt.port: must be in 1..65535, got 0"
