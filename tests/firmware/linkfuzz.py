"""CRC-valid frames with random bodies, for fuzzing both ends of the link (portable).

Runs under CPython and in the MicroPython VM (no random module, no hypothesis: `fwkit.Lcg`), so
the MCU's `App` is fuzzed with the same frames on both interpreters. A frame here always passes
COBS and the CRC: what is random is its type, its seq and its body, which is exactly what the
CRC cannot protect against (a peer's bug, a different firmware version, a collision).
"""

from fwkit import Lcg, cfg

from trapfw import app, link, state

UNKNOWN_TYPE = 0x42
TYPES = tuple(link.DATA_TYPES) + (link.ACK, link.NACK, UNKNOWN_TYPE)  # noqa: RUF005 (MicroPython)


def random_body(rng, mtype):
    """Mostly random bytes; one time in three a body shaped like the type's, values random."""
    kind = rng.below(3)
    if kind == 0 and mtype == link.HELLO:
        text = bytes(0x20 + rng.below(95) for _ in range(rng.below(20)))
        return bytes((rng.below(3), rng.below(3))) + text
    if kind == 0:
        sizes = {link.TRIGGER: 6, link.RESULT: 4, link.STATUS: link.STATUS_LEN, link.TIME: 4}
        n = sizes.get(mtype, 1)
        return rng.bytes(n)
    return rng.bytes(rng.below(link.MAX_BODY + 1))


def random_frame(rng):
    """(mtype, seq, body, wire bytes) of one CRC-valid frame."""
    mtype = TYPES[rng.below(len(TYPES))]
    seq = rng.below(256)
    body = random_body(rng, mtype)
    return mtype, seq, body, link.encode_frame(mtype, seq, body)


def fuzz_app(n, seed=1):
    """Feed ``n`` random frames to a running `trapfw.app.App`, PIR and halt line toggling.

    Returns a dict: frames, uncaught (exceptions out of `App.poll`), handler (messages whose
    handler raised, caught by the guard), body (rejected by `link.body_error`), decoded.
    """
    from fwkit import FakeHw

    rng = Lcg(seed)
    hw = FakeHw()
    fw = app.App(hw, cfg(), state.Ring(state.MemSlots()), app.NullRadio())
    fw.start(0, "cold")
    uncaught = 0
    for i in range(n):
        hw.rx += random_frame(rng)[3]
        hw.t += 1 + rng.below(400)
        if i % 53 == 0:
            hw.pir = True
        if i % 71 == 0:
            hw.halt = not hw.halt
        try:
            fw.poll(hw.t)
        except Exception:
            uncaught += 1
        hw.tx = bytearray()
    stats = fw.link.stats
    return {
        "frames": n,
        "uncaught": uncaught,
        "handler": stats.get("handler", 0),
        "body": stats.get("body", 0),
        "decoded": stats["frames"],
    }


def test_app_survives_random_crc_valid_frames():
    """The smaller run, for the MicroPython VM (the CPython test runs 100,000)."""
    got = fuzz_app(2000, seed=7)
    assert got["uncaught"] == 0, got
    assert got["handler"] == 0, got
    assert got["body"] > 0, got
