"""`camtrap evaluate` and `camtrap calibrate` end to end on real bursts and a real .tflite.

Each test runs with the project's demo model (``models/camtrap-demo/``) and with the shared
MobileNetV2 (``../shared/models``, with a model card written by the test); each skips where
its model is absent. Bursts are a few of the bundled ``demo/bursts`` plus a corrupt one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from camtrap.adapters.classifier import load_model
from camtrap.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEMO_MODEL = ROOT / "models" / "camtrap-demo"
DEMO_BURSTS = ROOT / "demo" / "bursts"
MOBILENET = ROOT.parent / "shared" / "models" / "mobilenet_v2_imagenet_quant"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.skipif(not DEMO_BURSTS.is_dir(), reason="demo/bursts not present")


def mobilenet_card(tflite: Path) -> dict[str, Any]:
    return {
        "schema": "camtrap-model-card/1",
        "name": "mobilenet-v2-test",
        "version": "1",
        "file": "model.tflite",
        "sha256": hashlib.sha256(tflite.read_bytes()).hexdigest(),
        "labels_file": "labels.txt",
        "background_class": True,
        "input": {
            "width": 224,
            "height": 224,
            "channels": 3,
            "dtype": "uint8",
            "scale": 0.0078125,
            "zero_point": 128,
            "resize": "squash",
        },
        "output": {"dtype": "uint8", "classes": 1001},
        "targets": ["leopard"],
        "decision": {"rule": "k_of_n", "k": 2, "threshold": 0.5, "early_exit": True},
        "metrics": {"note": "kept as it is"},
        "training": {"data": "ImageNet"},
    }


@pytest.fixture(params=["demo", pytest.param("mobilenet", marks=pytest.mark.shared)])
def model(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A writable copy of a model directory with its card; returns the .tflite path."""
    out = tmp_path / "model"
    if request.param == "demo":
        if not (DEMO_MODEL / "model.json").is_file():
            pytest.skip("models/camtrap-demo not present")
        shutil.copytree(DEMO_MODEL, out)
        return out / "model.tflite"
    if not (MOBILENET / "mobilenet_v2_1.0_224_quant.tflite").is_file():
        pytest.skip("shared MobileNet not present (../shared/models)")
    out.mkdir()
    tflite = out / "model.tflite"
    shutil.copyfile(MOBILENET / "mobilenet_v2_1.0_224_quant.tflite", tflite)
    shutil.copyfile(MOBILENET / "imagenet_labels.txt", out / "labels.txt")
    (out / "model.json").write_text(json.dumps(mobilenet_card(tflite), indent=2))
    return tflite


@pytest.fixture
def bursts(tmp_path: Path) -> Path:
    """Two leopard bursts, two others, and one burst with a frame that does not decode."""
    root = tmp_path / "bursts"
    picks = [("leopard", 0), ("leopard", 1), ("tiger", 0), ("empty", 0)]
    for label, i in picks:
        src = sorted((DEMO_BURSTS / label).iterdir())[i]
        shutil.copytree(src, root / label / src.name)
    broken = root / "deer" / "broken"
    shutil.copytree(sorted((DEMO_BURSTS / "deer").iterdir())[0], broken)
    (broken / "001.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    return root


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def without_errors(record: dict[str, Any]) -> dict[str, Any]:
    """A record without its error texts (Pillow's messages name object addresses)."""
    frames = [{**f, "error": f["error"] is not None} for f in record["frames"]]
    return {**record, "error": record["error"] is not None, "frames": frames}


def evaluate(model: Path, bursts: Path, out: Path, *extra: str) -> int:
    return main(["evaluate", str(bursts), "--model", str(model), "--out", str(out), *extra])


def test_evaluate_writes_report_metrics_records_and_pr_curve(
    model: Path, bursts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eval"
    assert evaluate(model, bursts, out) == 0
    for name in ("report.md", "report.html", "records.jsonl", "metrics.json", "pr_curve.png"):
        assert (out / name).is_file(), name
    assert (out / "pr_curve.png").read_bytes().startswith(PNG_MAGIC)
    metrics = json.loads((out / "metrics.json").read_text())
    ev = metrics["evaluation"]
    assert ev["bursts"] == 4
    assert (ev["skipped_bursts"], ev["skipped_frames"]) == (1, 1)
    assert ev["burst_confusion"]["rows"][0] == "leopard"
    assert sum(map(sum, ev["burst_confusion"]["matrix"])) == 4
    op = metrics["operating_point"]
    assert op["bursts"] == {"targets": 2, "non_targets": 2}
    assert op["early_exit"]["agreement"] == "4/4"
    report = (out / "report.md").read_text()
    assert "## Early exit" in report and "broken" in report and "cannot decode" in report
    assert "<table>" in (out / "report.html").read_text()
    printed = capsys.readouterr().out
    assert "evaluated 4 labelled bursts" in printed and "1 bursts with undecodable" in printed


def test_evaluate_classifies_every_frame_through_the_replay_pipeline(
    model: Path, bursts: Path, tmp_path: Path
) -> None:
    assert evaluate(model, bursts, tmp_path / "eval") == 0
    replayed = tmp_path / "replay.jsonl"
    argv = ["replay", str(bursts), "--model", str(model), "--no-early-exit"]
    assert main([*argv, "--json-out", str(replayed)]) == 0
    ours = read_jsonl(tmp_path / "eval" / "records.jsonl")
    theirs = read_jsonl(replayed)
    assert [without_errors(r) for r in ours] == [without_errors(r) for r in theirs]
    assert [r["error"] is None for r in ours] == [r["error"] is None for r in theirs]
    decided = [r for r in ours if r["verdict"] != "error"]
    assert all(r["frames_classified"] == r["frames_total"] for r in decided)


def test_calibrate_from_records_writes_decision_and_keeps_the_card_valid(
    model: Path, bursts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eval"
    assert evaluate(model, bursts, out) == 0
    card_path = model.parent / "model.json"
    card_path.chmod(0o644)
    before = json.loads(card_path.read_text())
    argv = ["calibrate", "--records", str(out / "records.jsonl"), "--model", str(model)]
    assert main([*argv, "--min-recall", "1", "--write-card", "--force"]) == 0  # 2 negatives
    after = json.loads(card_path.read_text())
    assert card_path.stat().st_mode & 0o777 == 0o644  # still readable by the service user
    assert "wrote decision" in capsys.readouterr().out
    op = after["metrics"]["operating_point"]
    assert after["decision"] == {
        "rule": op["rule"],
        "k": op["k"],
        "threshold": op["threshold"],
        "early_exit": before["decision"].get("early_exit", True),
    }
    assert op["recall"] == 1.0 and op["bursts"] == {"targets": 2, "non_targets": 2}
    unchanged = {k: v for k, v in before.items() if k not in ("decision", "metrics")}
    assert {k: after[k] for k in unchanged} == unchanged
    assert {k: v for k, v in after["metrics"].items() if k != "operating_point"} == {
        k: v for k, v in before.get("metrics", {}).items() if k != "operating_point"
    }
    loaded = load_model(model)  # the sha256 check still passes and the card parses
    assert loaded.card is not None and loaded.card.decision.threshold == op["threshold"]


def test_calibrate_refuses_records_made_with_early_exit(
    model: Path, bursts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = tmp_path / "early.jsonl"
    argv = ["replay", str(bursts), "--model", str(model), "--rule", "k_of_n", "--k", "1"]
    assert main([*argv, "--threshold", "0.0", "--json-out", str(records)]) == 0
    capsys.readouterr()
    argv = ["calibrate", "--records", str(records), "--model", str(model), "--min-recall", "1"]
    assert main(argv) == 2
    assert "early exit on cannot be calibrated" in capsys.readouterr().err


def test_evaluate_without_bursts_is_a_usage_error(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert evaluate(model, tmp_path / "nowhere", tmp_path / "eval") == 2
    assert "nowhere" in capsys.readouterr().err


def test_calibrate_wants_exactly_one_goal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = tmp_path / "r.jsonl"
    records.write_text("{}\n")
    argv = ["calibrate", "--records", str(records), "--target", "leopard"]
    assert main([*argv, "--min-recall", "0.9", "--cost-miss", "5", "--cost-false-alert", "1"]) == 2
    assert "either --min-recall" in capsys.readouterr().err
    assert main([*argv, "--min-recall", "0.9", "--max-recall"]) == 2
    assert "either --min-recall R, --max-recall" in capsys.readouterr().err
    assert main([*argv, "--cost-miss", "5", "--cost-false-alert", "1", "--wilson"]) == 2
    assert "--wilson goes with --min-recall or --max-recall" in capsys.readouterr().err
    assert main([*argv, "--min-recall", "0.9"]) == 2
    assert f"{records}: line 1: source" in capsys.readouterr().err  # names the file


def test_calibrate_max_recall_spends_the_stated_false_alert_budget(
    model: Path, bursts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eval"
    assert evaluate(model, bursts, out) == 0
    capsys.readouterr()
    argv = ["calibrate", "--records", str(out / "records.jsonl"), "--model", str(model)]
    argv += ["--max-recall", "--max-false-alerts-per-day", "2", "--triggers-per-day", "20"]
    assert main([*argv, "--force"]) == 0  # 2 negatives cannot show 10 %: calibrate anyway
    printed = capsys.readouterr().out
    assert "goal: max_recall at false alert rate <= 10 %" in printed
    assert "false alerts 0/2" in printed  # a budget of 10 % of 2 bursts allows none
    assert main([*argv, "--force", "--wilson"]) == 2  # 0 of 2 still bounds the rate at 66 %
    assert "upper bound of 66 %; label more non-target bursts" in capsys.readouterr().err


def test_calibrate_runs_the_bursts_itself_when_given_no_records(
    model: Path, bursts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["calibrate", str(bursts), "--model", str(model)]
    argv += ["--force"]  # 2 negatives cannot show 1 false alert a day: calibrate anyway
    assert main([*argv, "--cost-miss", "100", "--cost-false-alert", "1", "--k", "1,2"]) == 0
    out = capsys.readouterr().out
    assert "goal: min_cost (miss 100, false alert 1)" in out
    assert "recall 2/2" in out and "false alerts 0/2" in out


def test_calibrate_refuses_negatives_too_few_for_the_asked_rate(
    model: Path, bursts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eval"
    assert evaluate(model, bursts, out) == 0
    capsys.readouterr()
    argv = ["calibrate", "--records", str(out / "records.jsonl"), "--model", str(model)]
    argv += ["--min-recall", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "2 non-target bursts cannot show a false alert rate of 5 %" in err
    assert "label at least 59 non-target bursts" in err and "--force" in err
    assert main([*argv, "--force"]) == 0
    captured = capsys.readouterr()
    assert "WARNING: 2 non-target bursts" in captured.err and "decision:" in captured.out
    # 2 false alerts a day at 2 triggers a day is a rate of 100 %: anything supports that
    assert main([*argv, "--max-false-alerts-per-day", "2", "--triggers-per-day", "2"]) == 0


def test_report_escapes_html_and_markdown_table_cells() -> None:
    from camtrap.core.report import Section, Table, to_html, to_markdown

    doc = (Section("<b>", (Table(("a|b",), (("<script>",),)), "use `x < y`")),)
    html = to_html("t & u", doc)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<title>t &amp; u</title>" in html and "<code>x &lt; y</code>" in html
    assert "| a\\|b |" in to_markdown("t", doc)


def test_unlabelled_bursts_still_get_early_exit_figures_but_no_recall(
    model: Path, tmp_path: Path
) -> None:
    burst = tmp_path / "unlabelled" / "b0"
    shutil.copytree(sorted((DEMO_BURSTS / "deer").iterdir())[0], burst)
    meta = json.loads((burst / "burst.json").read_text())
    del meta["label"]
    (burst / "burst.json").write_text(json.dumps(meta))
    out = tmp_path / "eval"
    assert evaluate(model, burst.parent, out) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["evaluation"]["unlabelled_bursts"] == 1
    assert metrics["operating_point"] is None
    assert metrics["early_exit"]["bursts"] == 1 and metrics["early_exit"]["agreements"] == 1
    report = (out / "report.md").read_text()
    assert "## Early exit" in report and "Target detection" not in report
