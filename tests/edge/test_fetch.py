"""Checked downloads: a real HTTP server on 127.0.0.1 serves a shared model file."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from camtrap.adapters.fetch import FetchError, check_url, fetch

SHARED = Path(__file__).parents[2].parent / "shared" / "models"
SMALL = SHARED / "mobilenet_v1_0.25_128_quant" / "mobilenet_v1_0.25_128_quant.tflite"


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server over a directory; yields (base URL, directory)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", root
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def test_only_https_or_loopback_http_is_allowed():
    check_url("https://example.org/m.tflite")
    check_url("http://127.0.0.1:8000/m.tflite")
    with pytest.raises(FetchError, match="want an https:// URL"):
        check_url("http://example.org/m.tflite")


def test_a_file_with_the_right_hash_is_installed(server, tmp_path):
    base, root = server
    (root / "x.bin").write_bytes(b"model bytes" * 1000)
    sha = hashlib.sha256(b"model bytes" * 1000).hexdigest()
    dest = fetch(base + "x.bin", tmp_path / "out" / "x.bin", sha, progress=False)
    assert dest.read_bytes() == b"model bytes" * 1000


def test_a_wrong_hash_leaves_nothing_installed(server, tmp_path):
    base, root = server
    (root / "x.bin").write_bytes(b"tampered")
    with pytest.raises(FetchError, match="is not the catalogue's"):
        fetch(base + "x.bin", tmp_path / "out" / "x.bin", "0" * 64, progress=False)
    assert list((tmp_path / "out").iterdir()) == []


def test_a_missing_file_is_one_error_line(server, tmp_path):
    base, _ = server
    with pytest.raises(FetchError, match="download failed"):
        fetch(base + "nope.bin", tmp_path / "nope.bin", "0" * 64, progress=False)


@pytest.mark.shared
@pytest.mark.skipif(not SMALL.is_file(), reason="../shared/models is not on this machine")
def test_a_shared_model_file_comes_through_intact(server, tmp_path):
    base, root = server
    (root / SMALL.name).write_bytes(SMALL.read_bytes())
    sha = hashlib.sha256(SMALL.read_bytes()).hexdigest()
    dest = fetch(base + SMALL.name, tmp_path / SMALL.name, sha, progress=False)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == sha
