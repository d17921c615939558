"""`camtrap airtime`, `camtrap decode` and `camtrap encode` through the real CLI entry point."""

from __future__ import annotations

import json

import pytest

from camtrap.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_airtime_prints_phy_bytes_and_time_on_air(capsys) -> None:
    code, out, _ = run(capsys, "airtime", "--region", "EU868", "--sf", "12", "--payload", "11")
    assert code == 0
    assert "24 B PHY" in out and "1482.752 ms" in out
    assert "closed 146.8 s after" in out and "20 uplinks" in out


@pytest.mark.parametrize(
    ("sf", "app", "ms"),
    [
        ("7", "0", "46.336"),
        ("9", "20", "246.784"),
        ("10", "51", "698.368"),
        ("12", "4", "1318.912"),
    ],
)
def test_airtime_matches_facts_vectors(capsys, sf: str, app: str, ms: str) -> None:
    code, out, _ = run(capsys, "airtime", "--sf", sf, "--payload", app)
    assert code == 0 and f"{ms} ms" in out


def test_airtime_table_lists_every_usable_data_rate(capsys) -> None:
    code, out, _ = run(capsys, "airtime", "--region", "AS923", "--table")
    assert code == 0
    assert "DR0 SF" not in out and "DR2 SF10/125 kHz" in out and "max 11 B (fits)" in out
    assert "dwell time: at most 400 ms" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--region", "XX1"], "unknown region"),
        (["--region", "US915", "--sf", "12"], "no usable uplink data rate SF12/125"),
        (["--region", "AS923", "--dr", "0"], "no usable LoRa uplink data rate DR0"),
        (["--region", "US915", "--dr", "0", "--payload", "12"], "exceeds US915 DR0's maximum"),
        (["--sf", "13"], "spreading factor"),
        (["--payload", "300", "--sf", "7"], "--payload"),
        ([], "give --sf"),
    ],
)
def test_airtime_bad_input_exits_2_with_the_reason(capsys, argv: list[str], message: str) -> None:
    code, _, err = run(capsys, "airtime", *argv)
    assert code == 2 and message in err and err.count("\n") == 1


def test_encode_then_decode_round_trips(capsys) -> None:
    code, out, _ = run(
        capsys,
        "encode",
        "hit",
        "--event-seq",
        "42",
        "--label",
        "leopard",
        "--score",
        "0.93",
        "--agreeing",
        "3",
        "--classified",
        "4",
        "--battery-mv",
        "3710",
        "--age-s",
        "12",
    )
    assert code == 0 and out.strip() == "--fport 10 0100002a01ba030456000c"
    code, out, _ = run(capsys, "decode", *out.split(), "--recv-time", "2026-11-24T06:19:45Z")
    assert code == 0
    assert json.loads(out) == {
        "v": 1,
        "type": "hit",
        "event_seq": 42,
        "class_code": 1,
        "label": "leopard",
        "score": 0.93,
        "frames_agreeing": 3,
        "frames_classified": 4,
        "battery_mv": 3720,
        "age_s": 12,
        "time": "2026-11-24T06:19:33Z",
    }


def test_encode_heartbeat_decodes(capsys) -> None:
    code, out, _ = run(
        capsys, "encode", "heartbeat", "--triggers", "17", "--hits", "2", "--hits-unsent", "1"
    )
    assert code == 0
    code, out, _ = run(capsys, "decode", *out.split())
    d = json.loads(out)
    assert code == 0 and d["type"] == "heartbeat" and d["hits_unsent"] == 1


def test_a_storage_fault_heartbeat_decodes_with_its_status(capsys) -> None:
    code, out, _ = run(capsys, "encode", "heartbeat", "--storage-fault", "--triggers", "3")
    assert code == 0 and out.split()[2].startswith("12")  # v2, storage bit in the high nibble
    code, out, _ = run(capsys, "decode", *out.split())
    d = json.loads(out)
    assert code == 0 and d["v"] == 2 and d["storage_fault"] is True
    assert d["clock_unset"] is False and d["low_battery"] is False and d["triggers"] == 3
    # a v1 heartbeat (older firmware) still decodes, without the status fields
    code, out, _ = run(capsys, "decode", "--fport", "11", "015500002a00110100ff80")
    assert code == 0 and "storage_fault" not in json.loads(out)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fport", "10", "01 00 2a"], "must be 11 bytes, got 3"),
        (["--fport", "10", "0200002a01ba030456000c"], "version 2 is not supported"),
        (["--fport", "3", "0100002a01ba030456000c"], "unknown FPort 3"),
        (["--fport", "10", "zz"], "not hex"),
        (["--fport", "10", "0100002a01ba030456000c", "--recv-time", "noon"], "ISO 8601"),
    ],
)
def test_decode_bad_input_exits_2_naming_why(capsys, argv: list[str], message: str) -> None:
    code, out, err = run(capsys, "decode", *argv)
    assert code == 2 and message in err and out == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--label", "unicorn"], "not in the class table"),
        (["--label", "leopard", "--class-code", "1"], "exactly one of"),
        (["--label", "leopard", "--agreeing", "5"], "frames_agreeing"),
        (["--label", "leopard", "--score", "2"], "score"),
    ],
)
def test_encode_bad_input_exits_2(capsys, argv: list[str], message: str) -> None:
    base = {"--event-seq": "1", "--score": "0.9", "--agreeing": "1", "--classified": "4"}
    for i in range(0, len(argv) - 1, 2):
        base.pop(argv[i], None)
    args = [x for kv in base.items() for x in kv]
    code, _, err = run(capsys, "encode", "hit", *args, *argv)
    assert code == 2 and message in err
