"""PrefetchCamera: the same frames and failures as ReplayCamera, decoded ahead on a thread."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from camtrap.errors import BadFrameError, CameraError
from camtrap.sim.bursts import discover
from camtrap.sim.prefetch import PrefetchCamera
from camtrap.sim.replay_camera import ReplayCamera
from tests.edge.burstkit import BLUE, GREEN, RED, corrupt, write_burst


def three_bursts(tmp_path: Path) -> list:
    write_burst(tmp_path / "a", [RED, GREEN, BLUE, RED])
    write_burst(tmp_path / "b", [GREEN, GREEN])
    write_burst(tmp_path / "c", [BLUE, RED, GREEN])
    return discover([tmp_path])


def served(camera, bursts, take: list[int]) -> list[list[tuple[str, tuple[int, ...]]]]:
    """What the camera serves when the consumer takes ``take[i]`` frames of burst i."""
    out = []
    for recorded, k in zip(bursts, take, strict=True):
        frames = camera.burst(recorded.n, 0.0)
        got = []
        for _ in range(k):
            f = next(frames, None)
            if f is None:
                break
            got.append((f.name, tuple(int(v) for v in f.pixels[0, 0])))
        frames.close()
        out.append(got)
    return out


@pytest.mark.parametrize("take", [[4, 2, 3], [1, 2, 3], [0, 1, 1], [4, 0, 3]])
def test_serves_what_the_replay_camera_serves_whatever_is_taken(tmp_path: Path, take):
    bursts = three_bursts(tmp_path)
    prefetch = PrefetchCamera(bursts, decode_size=(8, 8), depth=2)
    try:
        assert served(prefetch, bursts, take) == served(ReplayCamera(bursts, (8, 8)), bursts, take)
    finally:
        prefetch.stop()
    assert prefetch.exhausted


def test_a_corrupt_frame_raises_for_its_burst_and_the_next_burst_is_served(tmp_path: Path):
    bursts = three_bursts(tmp_path)
    corrupt(tmp_path / "a" / "001.jpg")
    camera = PrefetchCamera(bursts)
    try:
        frames = camera.burst(4, 0.0)
        assert next(frames).name == "000.jpg"
        with pytest.raises(BadFrameError, match=r"001\.jpg"):
            next(frames)
        assert [f.name for f in camera.burst(2, 0.0)] == ["000.jpg", "001.jpg"]
    finally:
        camera.stop()


def test_frames_are_decoded_ahead_on_another_thread(tmp_path: Path, monkeypatch):
    import camtrap.sim.prefetch as prefetch_module

    threads: set[str] = set()
    real = prefetch_module.read_frame

    def recording(*args, **kwargs):
        threads.add(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(prefetch_module, "read_frame", recording)
    bursts = three_bursts(tmp_path)
    camera = PrefetchCamera(bursts)
    try:
        assert len(list(camera.burst(4, 0.0))) == 4
    finally:
        camera.stop()
    assert threads == {"prefetch"}


def test_stop_ends_the_thread_even_with_a_full_queue(tmp_path: Path):
    bursts = three_bursts(tmp_path)
    camera = PrefetchCamera(bursts, depth=1)
    first = next(camera.burst(4, 0.0))  # the producer now blocks on the full queue
    assert isinstance(first.pixels, np.ndarray)
    camera.stop()
    assert camera._thread is None
    assert not any(t.name == "prefetch" and t.is_alive() for t in threading.enumerate())


def test_no_burst_left_is_a_camera_error(tmp_path: Path):
    write_burst(tmp_path / "a", [RED])
    camera = PrefetchCamera(discover([tmp_path]))
    try:
        assert len(list(camera.burst(1, 0.0))) == 1
        with pytest.raises(CameraError, match="no recorded burst left"):
            camera.burst(1, 0.0)
    finally:
        camera.stop()
