"""The ES5 payload formatter under node against vectors the Python codec makes in the test.

The formatter runs in a fresh ``vm`` context (no require, no process: like the sandboxes of
The Things Stack and ChirpStack). Every case is built by ``trapfw.payload`` here, never copied
by hand; the JS result must equal the Python decode, and bad input must give the same error
message. Skipped without node, except under CI=true, where that fails.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from trapfw import payload

FORMATTER = Path(__file__).resolve().parents[2] / "edge" / "camtrap" / "data" / "lora_formatter.js"
PORTS = (payload.FPORT_HIT, payload.FPORT_HEARTBEAT)

HARNESS = r"""
const vm = require("vm");
const fs = require("fs");
const ctx = vm.createContext({});
vm.runInContext(fs.readFileSync(process.argv[1], "utf8"), ctx, { filename: "lora_formatter.js" });
ctx.__cases = fs.readFileSync(0, "utf8");
process.stdout.write(vm.runInContext(`(function () {
  var cs = JSON.parse(__cases), out = [];
  for (var i = 0; i < cs.length; i++) {
    var c = cs[i], input = { bytes: c.bytes, fPort: c.fPort };
    if (c.recvTime !== undefined) input.recvTime = c.date ? new Date(c.recvTime) : c.recvTime;
    if (c.variables) input.variables = c.variables;
    out.push(decodeUplink(input));
  }
  return JSON.stringify(out);
})()`, ctx));
"""


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node not found: CI must install nodejs")
        pytest.skip("node not found: the JS formatter tests need node")
    return node


def run_formatter(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [_node(), "-e", HARNESS, str(FORMATTER)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def python_decode(case: dict[str, Any]) -> dict[str, Any] | str:
    """Python's decode of a case, or its PayloadError message."""
    recv = case.get("recvTime")
    seconds = None if recv is None else datetime.fromisoformat(recv).timestamp()
    try:
        return payload.decode(case["fPort"], bytes(case["bytes"]), seconds)
    except payload.PayloadError as e:
        return str(e)


def random_hit(rng: random.Random) -> bytes:
    classified = rng.choice((0, 1, 4, 5, 60, 255, rng.randrange(256)))
    return payload.encode_hit(
        rng.choice((0, 42, 0xFFFFFF, rng.randrange(1 << 24))),
        rng.choice((0, 1, 3, 12, 254, rng.randrange(255))),
        rng.choice((0.0, 1.0, 0.93, rng.random())),
        rng.randint(0, classified),
        classified,
        rng.choice((None, 1500, 3710, 9999, rng.randrange(2000, 7100))),
        rng.choice((0, 12, 32767, 32768, 10**8, rng.randrange(10**6))),
    )


def random_heartbeat(rng: random.Random) -> bytes:
    hits = rng.choice((0, 1, 255, 300, rng.randrange(50)))
    return payload.encode_heartbeat(
        rng.choice((None, 3700, rng.randrange(2000, 7100))),
        rng.randrange(1 << 24),
        rng.choice((0, 17, 65535, 70000)),
        hits,
        rng.randint(0, hits),
        rng.choice((None, 1, 6, 200)),
        rng.choice((None, -30, 0, 45, -200)),
        rng.randrange(8),  # v2 status flags
    )


def v1_heartbeat(rng: random.Random) -> bytes:
    """What older firmware sent: the same fields under version byte 1, no flags."""
    return bytes((1,)) + random_heartbeat(rng)[1:]


def with_recv_time(rng: random.Random, case: dict[str, Any]) -> dict[str, Any]:
    pick = rng.randrange(4)
    if pick == 1:  # The Things Stack: an ISO string, sometimes with an offset
        case["recvTime"] = rng.choice(
            ("2026-11-24T06:19:45.123Z", "2026-11-24T11:19:45.999+05:00", "2030-01-01T00:00:00Z")
        )
    elif pick == 2:  # ChirpStack: a Date object
        case["recvTime"], case["date"] = "2026-11-24T06:19:45.500Z", True
    return case


def test_js_decoder_agrees_with_python_encoder_on_generated_uplinks() -> None:
    rng = random.Random(20261124)
    cases = []
    for _ in range(300):
        cases.append(with_recv_time(rng, {"fPort": 10, "bytes": list(random_hit(rng))}))
        cases.append({"fPort": 11, "bytes": list(random_heartbeat(rng))})
        cases.append({"fPort": 11, "bytes": list(v1_heartbeat(rng))})
    results = run_formatter(cases)
    for case, result in zip(cases, results, strict=True):
        want = python_decode(case)
        assert isinstance(want, dict), want
        assert result["errors"] == [], (case, result)
        assert result["data"] == want, case
    assert any("time" in r["data"] for r in results)


def test_js_decoder_gives_pythons_error_for_bad_input() -> None:
    rng = random.Random(7)
    good = random_hit(rng)
    cases: list[dict[str, Any]] = [
        {"fPort": 10, "bytes": []},
        {"fPort": 10, "bytes": list(good[:10])},
        {"fPort": 10, "bytes": list(good + b"\x00")},
        {"fPort": 11, "bytes": list(good[:3])},
        {"fPort": 10, "bytes": [2, *good[1:]]},
        {"fPort": 11, "bytes": [0, *good[1:]]},
        {"fPort": 11, "bytes": [0x11, *good[1:]]},  # v1 has no flags
        {"fPort": 11, "bytes": [0x23, *good[1:]]},
        {"fPort": 1, "bytes": list(good)},
        {"fPort": 224, "bytes": list(good)},
    ]
    for _ in range(400):  # random bytes: a message or the codec's own error, nothing else
        n = rng.choice((11, 11, 11, rng.randrange(0, 20)))
        data = [rng.choice((1, 2, 0x12, 0x72)) if rng.random() < 0.8 and n else rng.randrange(256)]
        data += [rng.randrange(256) for _ in range(n - 1)]
        cases.append({"fPort": rng.choice((10, 11, 10, 11, 3)), "bytes": data[:n]})
    results = run_formatter(cases)
    errors = 0
    for case, result in zip(cases, results, strict=True):
        want = python_decode(case)
        if isinstance(want, str):
            errors += 1
            assert result["errors"] == [want], case
            assert result["data"] == {"error": want}
        else:
            assert result["errors"] == [] and result["data"] == want, case
    assert errors > 50


def test_formatter_result_has_the_shape_both_servers_expect() -> None:
    ok, bad = run_formatter(
        [
            {"fPort": 10, "bytes": list(payload.encode_hit(1, 1, 0.5, 1, 1, None, 0))},
            {"fPort": 99, "bytes": [1]},
        ]
    )
    assert set(ok) == {"data", "warnings", "errors"} and ok["errors"] == []
    assert ok["data"]["type"] == "hit" and ok["data"]["label"] == "leopard"
    assert bad["errors"] == ["unknown FPort 99 (hit is 10, heartbeat is 11)"]


def test_a_storage_fault_heartbeat_decodes_with_a_warning() -> None:
    data = payload.encode_heartbeat(3700, 42, 3, 0, 0, None, 12, payload.HB_STORAGE_FAULT)
    (result,) = run_formatter([{"fPort": 11, "bytes": list(data)}])
    assert result["data"] == payload.decode(payload.FPORT_HEARTBEAT, data)
    assert result["data"]["storage_fault"] is True and result["data"]["clock_unset"] is False
    assert result["warnings"] == ["storage fault: the Pi's disk is full, read-only or failing"]


def test_unknown_class_code_gives_null_label_and_a_warning() -> None:
    (result,) = run_formatter(
        [{"fPort": 10, "bytes": list(payload.encode_hit(1, 200, 0.5, 1, 1, None, 0))}]
    )
    assert result["data"]["class_code"] == 200 and result["data"]["label"] is None
    assert result["warnings"] == ["class code 200 is not in this formatter's table"]


def test_chirpstack_device_variable_adds_device_and_event_id() -> None:
    data = list(payload.encode_hit(42, 1, 0.93, 3, 4, 3710, 12))
    (result,) = run_formatter([{"fPort": 10, "bytes": data, "variables": {"device_id": "trap-07"}}])
    assert result["data"]["event_id"] == "trap-07-42"
    assert result["data"]["device_id"] == "trap-07"


def test_formatter_time_is_receive_time_minus_age() -> None:
    data = list(payload.encode_hit(42, 1, 0.93, 3, 4, 3710, 12))
    (result,) = run_formatter([{"fPort": 10, "bytes": data, "recvTime": "2026-11-24T06:19:45Z"}])
    assert result["data"]["time"] == "2026-11-24T06:19:33Z"


def test_formatter_is_es5_and_under_the_size_limit() -> None:
    text = FORMATTER.read_text(encoding="utf-8")
    assert len(text) < 40960
    code = re.sub(r"//[^\n]*", "", text)  # comments may say anything
    code = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', code)  # so may strings
    for pattern in (r"\blet\b", r"\bconst\b", r"=>", r"`", r"\bclass\b", r"\.\.\."):
        assert not re.search(pattern, code), f"not ES5: {pattern}"
    assert "function decodeUplink(input)" in text


def test_formatter_parses_as_ecmascript_5() -> None:
    """node's bundled acorn with ecmaVersion 5: a real ES5 grammar check."""
    parse = (
        "const a = require('internal/deps/acorn/acorn/dist/acorn');"
        "a.parse(require('fs').readFileSync(process.argv[1], 'utf8'), {ecmaVersion: 5});"
    )
    proc = subprocess.run(
        [_node(), "--expose-internals", "-e", parse, str(FORMATTER)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "Cannot find module" in proc.stderr:
        pytest.skip("this node has no bundled acorn; the ES5 regex test still ran")
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_formatter_ships_as_package_data() -> None:
    shipped = files("camtrap") / "data" / "lora_formatter.js"
    assert shipped.is_file()
    assert shipped.read_text(encoding="utf-8") == FORMATTER.read_text(encoding="utf-8")
