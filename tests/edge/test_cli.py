"""`camtrap replay`, `run` and `bench` from the command line: output, records, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from burstkit import BLUE, RED, corrupt, write_burst

from camtrap.cli import main

ROOT = Path(__file__).parents[2]
DEMO = ROOT / "models" / "camtrap-demo"
pytestmark = pytest.mark.skipif(not (DEMO / "model.tflite").exists(), reason="no demo model")
MODEL = ["--model", str(DEMO / "model.tflite")]


@pytest.fixture
def bursts(tmp_path: Path) -> Path:
    """Solid colour bursts: whatever the demo model says, they run through the whole CLI."""
    write_burst(tmp_path / "b" / "1", [RED, RED, RED], label="leopard")
    write_burst(tmp_path / "b" / "2", [BLUE, BLUE], label="empty")
    return tmp_path / "b"


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_replay_prints_rows_and_a_summary_and_writes_records(bursts, tmp_path, capsys):
    out_file = tmp_path / "out" / "r.jsonl"
    assert main(["replay", str(bursts), *MODEL, "--json-out", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "2 bursts:" in out and "(targets: leopard)" in out and "labelled 2: precision" in out
    records = [json.loads(x) for x in out_file.read_text().splitlines()]
    assert [r["label"] for r in records] == ["leopard", "empty"]
    card = json.loads((DEMO / "model.json").read_text())["decision"]
    want = f"{card['rule']}:{card['k']}/{card['threshold']:.2f}"  # the card's operating point
    assert all(r["rule"] == want for r in records)


def test_command_line_overrides_the_card_rule(bursts, tmp_path, capsys):
    out_file = tmp_path / "r.jsonl"
    args = ["--rule", "mean_top_k", "--k", "3", "--threshold", "0.9", "--no-early-exit"]
    assert main(["replay", str(bursts), *MODEL, *args, "--json-out", str(out_file)]) == 0
    r = json.loads(out_file.read_text().splitlines()[0])
    assert r["rule"] == "mean_top_k:3/0.90" and r["frames_classified"] == 3


def test_a_corrupt_frame_fails_its_burst_only(bursts, tmp_path, capsys):
    corrupt(bursts / "1" / "001.jpg")
    out_file = tmp_path / "r.jsonl"
    every_frame = "--no-early-exit"  # the corrupt frame is read whatever frame 000 scores
    assert main(["replay", str(bursts), *MODEL, every_frame, "--json-out", str(out_file)]) == 0
    verdicts = [json.loads(x)["verdict"] for x in out_file.read_text().splitlines()]
    assert verdicts[0] == "error" and verdicts[1] in ("hit", "miss")
    assert "001.jpg: cannot decode" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "snow leopard"], "target 'snow leopard' matches no label"),
        (["--model", "/nonexistent/m.tflite"], r"m.tflite: model file not found"),
        (["--threshold", "1.5"], "verdict: rule threshold must be in 0..1"),
        (["--k", "0"], "verdict: rule k must be >= 1"),
    ],
)
def test_misuse_is_one_line_and_exit_2(bursts, capsys, args, message):
    assert main(["replay", str(bursts), *MODEL, *args]) == 2
    line = one_line_error(capsys)
    assert line.startswith("camtrap replay: error: ") and message in line


def test_an_error_after_the_model_loaded_is_one_line_on_the_real_stderr(bursts):
    """The runtime's own C++ log line would go to file descriptor 2, past capsys: a real process."""
    argv = [sys.executable, "-m", "camtrap", "replay", str(bursts), *MODEL, "--target", "zebra"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()  # no runtime banner before it
    assert line.startswith("camtrap replay: error: target 'zebra' matches no label")


def test_bad_config_is_one_line_naming_the_key(bursts, tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[verdict]\nthreshold = 3\n")
    assert main(["replay", str(bursts), *MODEL, "--config", str(cfg)]) == 2
    assert "c.toml: verdict.threshold: must be in 0..1, got 3" in one_line_error(capsys)


def test_a_tampered_model_is_refused_with_exit_2(bursts, tmp_path, capsys):
    folder = tmp_path / "m"
    folder.mkdir()
    for name in ("model.json", "labels.txt"):
        (folder / name).write_bytes((DEMO / name).read_bytes())
    (folder / "model.tflite").write_bytes((DEMO / "model.tflite").read_bytes() + b"\0")
    assert main(["replay", str(bursts), "--model", str(folder / "model.tflite")]) == 2
    assert "differs from the card's" in one_line_error(capsys)


def test_missing_burst_path_is_exit_2(tmp_path, capsys):
    assert main(["replay", str(tmp_path / "none"), *MODEL]) == 2
    assert "no such file or directory" in one_line_error(capsys)


def test_unwritable_json_out_is_exit_2_before_any_burst_runs(bursts, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["replay", str(bursts), *MODEL, "--json-out", str(blocker / "r.jsonl")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no rows: it failed before the bursts were run
    assert len(captured.err.splitlines()) == 1 and "r.jsonl: cannot write: " in captured.err


def test_run_refuses_a_non_positive_speed(bursts, capsys):
    assert main(["run", "--sim", str(bursts), "--speed", "0"]) == 2
    assert "--speed must be > 0" in one_line_error(capsys)


def test_bench_reports_stages_ratios_start_up_and_memory(capsys):
    assert main(["bench", *MODEL, "--frames", "4"]) == 0
    out = capsys.readouterr().out
    for word in (
        "quantize",
        "invoke",
        "verdict",
        "store",
        "publish",
        "at the model's input size",
        "process start to armed",
        "peak RSS",
    ):
        assert word in out
    assert "armed: nan" not in out


def test_bench_leaves_out_a_burst_with_a_corrupt_frame_and_goes_on(bursts, capsys):
    corrupt(bursts / "1" / "001.jpg")
    assert main(["bench", str(bursts), *MODEL]) == 0
    out = capsys.readouterr().out
    assert "skipped " in out and "001.jpg: cannot decode" in out
    assert "2 frames in 1 bursts" in out  # burst 2 (two frames) was measured


@pytest.mark.parametrize("frames", ["0", "-5"])
def test_bench_refuses_no_synthetic_frames(frames, capsys):
    assert main(["bench", *MODEL, "--frames", frames]) == 2
    assert f"--frames must be >= 1, got {frames}" in one_line_error(capsys)


def test_run_with_a_data_dir_it_cannot_create_is_one_line_naming_the_key(bursts, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[device]\ndata_dir = "{blocker / "data"}"\n')
    assert main(["run", "--sim", str(bursts), "--config", str(cfg)]) == 2
    assert f"c.toml: device.data_dir: cannot create {blocker / 'data'}: " in one_line_error(capsys)


def test_power_gated_mode_needs_mcu_triggers(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[device]\nmode = "power-gated"\n[model]\npath = "{DEMO / "model.tflite"}"\n')
    assert main(["run", "--config", str(cfg)]) == 2
    assert 'c.toml: trigger.source: must be "mcu"' in one_line_error(capsys)
