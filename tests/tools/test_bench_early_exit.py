"""`python -m tools.bench_early_exit`: bad input is one line and exit status 2, as the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import bench_early_exit


def test_a_missing_burst_path_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_early_exit.main([str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"bench_early_exit: {tmp_path / 'nowhere'}: no such file or directory"]
