"""The MCU state machine: the exhaustive table test and the behaviour of each mode.

Portable: runs under CPython (pytest) and under the MicroPython VM (test_fw_micropython.py).
"""

from fwkit import HIT, booted, cfg, powers, run, sends

from trapfw import fsm, link

SAMPLES = {
    "boot": ("cold", "wake"),
    "tick": (None,),
    "pir": (None,),
    "battery": (3000, 3400, 4000),
    "hello": ((1, 1, "pi"),),
    "ready": (None,),
    "result": ((1, link.VERDICT_HIT), (99, link.VERDICT_MISS)),
    "hit": (HIT,),
    "shutdown_ack": (None,),
    "halt": (None,),
    "uplinked": (HIT, None),
    "link_fail": (None,),
    "time": ((1795000000, 2, link.TIME_SRC_NETWORK), (1795000000, None, link.TIME_SRC_NTP)),
    "status_req": (None,),
    "temp": (21, None),
    "health": (0, link.HEALTH_STORAGE, 0xFF),
}
ACTION_KINDS = ("power", "send", "save", "heartbeat", "fault")


def _reachable(mode):
    """One state per state name, reached by real events where the mode allows it."""
    s = booted(mode)
    out = {s.name: s}
    if mode == "power-gated":
        b, _ = fsm.step(s, ("pir", None), 2000)
        r, _ = fsm.step(b, ("ready", None), 6000)
        r2, _ = fsm.step(r, ("hit", HIT), 7000)
        d, _ = fsm.step(r2, ("result", (1, 1)), 8000)
        out.update({"booting": b, "burst": r2, "shutdown": d})
    else:
        d, _ = fsm.step(s, ("battery", 3000), 2000)
        out["shutdown"] = d
    low, _ = fsm.step(booted(mode, mv=3000), ("tick", None), 1500)
    out[low.name] = low
    f, _ = fsm.step(s, ("no-such-event", None), 2000)
    out["fault"] = f
    for name in fsm.STATES:
        if name not in out:
            out[name] = s.replace(name=name, deadline=5000, pi_on_at=1000)
    return out


def test_every_state_event_pair_is_in_the_table():
    table = fsm.table()
    missing = [(s, e) for s in fsm.STATES for e in fsm.EVENTS if table.get((s, e)) is None]
    assert missing == []
    assert len(table) == len(fsm.STATES) * len(fsm.EVENTS)


def test_every_pair_steps_to_a_known_state_with_well_formed_actions():
    checked = 0
    for mode in ("power-gated", "always-on"):
        states = _reachable(mode)
        for name in fsm.STATES:
            st = states[name]
            assert st.name == name
            for kind in fsm.EVENTS:
                for value in SAMPLES[kind]:
                    for now in (st.deadline or 3000, 10_000_000):
                        new, acts = fsm.step(st, (kind, value), now)
                        assert new.name in fsm.STATES, (name, kind, new.name)
                        for a in acts:
                            assert a[0] in ACTION_KINDS, a
                        if 1 in powers(acts):
                            assert new.battery_mv >= new.cfg.battery_cutoff_mv, (name, kind)
                        checked += 1
    assert checked > 500


def test_an_unknown_event_is_an_explicit_fault_with_a_reason():
    s = booted()
    new, acts = fsm.step(s, ("bogus", 1), 2000)
    assert new.name == "fault"
    assert acts == [("fault", "undefined:sleep:bogus")]
    assert new.faults == 1
    back, acts = fsm.step(new, ("tick", None), 2001)
    assert back.name == "sleep" and 0 in powers(acts)


def test_an_unknown_state_is_an_explicit_fault():
    s = booted().replace(name="limbo")
    new, acts = fsm.step(s, ("tick", None), 2000)
    assert new.name == "fault" and acts[0][1] == "undefined:limbo:tick"


def test_power_gated_event_runs_pir_ready_trigger_result_shutdown_halt():
    s = booted()
    s, acts = fsm.step(s, ("pir", None), 2000)
    assert s.name == "booting" and powers(acts) == [1] and s.event_seq == 1
    assert acts.index(("save",)) < acts.index(("power", 1))  # sequence durable first
    s, acts = fsm.step(s, ("ready", None), 8000)
    assert s.name == "burst"
    assert [link.parse_trigger(a[2]) for a in sends(acts)] == [(1, 0, 3900)]
    s, acts = fsm.step(s, ("hit", HIT), 9000)
    assert s.queue == (HIT,) and ("save",) in acts
    s, acts = fsm.step(s, ("result", (1, link.VERDICT_HIT)), 9500)
    assert s.name == "shutdown"
    assert sends(acts, link.SHUTDOWN)[0][2] == link.shutdown_body(link.SHUTDOWN_REQUEST)
    s, _ = fsm.step(s, ("shutdown_ack", None), 9600)
    s, acts = fsm.step(s, ("halt", None), 15000)
    assert s.name == "sleep" and powers(acts) == [0] and s.pi_on_at is None
    assert s.triggers == 1 and s.hits == 1 and s.faults == 0


def test_boot_timeout_counts_a_boot_failure_and_cuts_the_pi():
    s = booted(boot_timeout_s=30)
    s, _ = fsm.step(s, ("pir", None), 2000)
    s, acts = fsm.step(s, ("tick", None), 31999)
    assert s.name == "booting" and acts == []
    s, acts = fsm.step(s, ("tick", None), 32000)
    assert s.name == "sleep" and powers(acts) == [0]
    assert s.boot_failures == 1 and ("fault", fsm.BOOT_TIMEOUT) in acts


def test_burst_timeout_asks_the_pi_to_halt_then_grace_cuts_it():
    s = booted(burst_timeout_s=60, shutdown_grace_s=20)
    s, _ = run(s, [(("pir", None), 2000), (("ready", None), 5000)])
    s, acts = fsm.step(s, ("tick", None), 65000)
    assert s.name == "shutdown" and sends(acts, link.SHUTDOWN)
    assert fsm.next_deadline(s) == 85000
    s, acts = fsm.step(s, ("tick", None), 85000)
    assert s.name == "sleep" and powers(acts) == [0]
    assert ("fault", fsm.SHUTDOWN_TIMEOUT) in acts


def test_the_pi_is_never_on_longer_than_max_on_time():
    s = booted(max_on_s=120, burst_timeout_s=100, shutdown_grace_s=60)
    s, _ = run(s, [(("pir", None), 2000), (("ready", None), 5000)])
    for t in (50000, 90000):  # PIR storm: every extra trigger extends the burst
        s, _ = fsm.step(s, ("pir", None), t)
    assert fsm.next_deadline(s) == 122000
    s, acts = fsm.step(s, ("tick", None), 122000)
    assert s.name == "sleep" and powers(acts) == [0]
    assert ("fault", fsm.MAX_ON_TIME) in acts


def test_pir_during_a_burst_is_an_extra_trigger_with_a_new_sequence():
    s = booted()
    s, _ = run(s, [(("pir", None), 2000), (("ready", None), 5000)])
    s, acts = fsm.step(s, ("pir", None), 7000)
    assert [link.parse_trigger(a[2])[:2] for a in sends(acts)] == [(2, 1)]
    assert s.pending == (1, 2) and s.triggers == 2
    s, _ = fsm.step(s, ("result", (1, 0)), 8000)
    assert s.name == "burst"
    s, _ = fsm.step(s, ("result", (2, 0)), 9000)
    assert s.name == "shutdown"


def test_pir_while_booting_is_sent_after_ready():
    s = booted()
    s, _ = run(s, [(("pir", None), 2000), (("pir", None), 3000)])
    s, acts = fsm.step(s, ("ready", None), 6000)
    assert [link.parse_trigger(a[2])[:2] for a in sends(acts)] == [(1, 0), (2, 1)]


def test_retrigger_lockout_ignores_the_pir_after_a_power_off():
    s = booted(lockout_s=30)
    s, _ = run(s, [(("pir", None), 2000), (("halt", None), 3000)])
    assert s.name == "sleep"
    s, acts = fsm.step(s, ("pir", None), 32999)
    assert s.name == "sleep" and acts == []
    s, _ = fsm.step(s, ("pir", None), 33000)
    assert s.name == "booting"


def test_never_boots_below_the_cutoff_and_sends_one_low_battery_uplink():
    s = booted(battery_cutoff_mv=3300, battery_hysteresis_mv=150)
    s, acts = fsm.step(s, ("battery", 3250), 2000)
    assert s.name == "lowbat" and len([a for a in acts if a[0] == "heartbeat"]) == 1
    s, acts = fsm.step(s, ("pir", None), 3000)
    assert s.name == "lowbat" and acts == []
    s, acts = fsm.step(s, ("battery", 3200), 4000)
    assert [a for a in acts if a[0] == "heartbeat"] == []  # only one
    s, _ = fsm.step(s, ("battery", 3400), 5000)  # above cutoff, inside the hysteresis
    assert s.name == "lowbat"
    s, _ = fsm.step(s, ("battery", 3450), 6000)
    assert s.name == "sleep" and not s.lowbat
    s, _ = fsm.step(s, ("pir", None), 7000)
    assert s.name == "booting"


def test_unmeasured_battery_never_boots_the_pi():
    s = fsm.State(cfg())
    s, _ = fsm.step(s, ("boot", "cold"), 0)
    s, acts = fsm.step(s, ("pir", None), 10)
    assert s.name == "sleep" and acts == []


def test_low_battery_during_an_event_asks_the_pi_to_halt():
    s = booted()
    s, _ = run(s, [(("pir", None), 2000), (("ready", None), 5000)])
    s, acts = fsm.step(s, ("battery", 3100), 6000)
    assert s.name == "shutdown" and s.lowbat and sends(acts, link.SHUTDOWN)
    s, acts = fsm.step(s, ("halt", None), 7000)
    assert s.name == "lowbat" and powers(acts) == [0]


def test_daily_heartbeat_reports_counts_since_the_last_one():
    s = booted(heartbeat_s=86400)
    assert fsm.next_deadline(s) == 86400000
    s, _ = run(s, [(("pir", None), 2000), (("ready", None), 5000), (("hit", HIT), 6000)])
    s, acts = fsm.step(s, ("tick", None), 86400000)
    hb = [a[1] for a in acts if a[0] == "heartbeat"]
    assert len(hb) == 1 and hb[0]["triggers"] == 1 and hb[0]["hits"] == 1
    assert hb[0]["last_event_seq"] == 1
    s, acts = fsm.step(s, ("tick", None), 86400001)
    assert [a for a in acts if a[0] == "heartbeat"] == []
    assert fsm.next_deadline(s) <= 2 * 86400000


def test_hit_queue_full_is_refused_so_the_pi_keeps_it():
    s = booted(max_queue=2)
    for i in range(2):
        s, _ = fsm.step(s, ("hit", bytes([i]) * 11), 2000 + i)
    assert not fsm.can_accept_hit(s)
    s, acts = fsm.step(s, ("hit", b"\x09" * 11), 3000)
    assert len(s.queue) == 2 and ("fault", fsm.QUEUE_FULL) in acts
    s, _ = fsm.step(s, ("uplinked", b"\x01" * 11), 4000)
    assert s.queue == (b"\x00" * 11,)


def test_always_on_keeps_the_pi_powered_and_counts_its_results():
    s = fsm.State(cfg(mode="always-on"))
    s, acts = fsm.step(s, ("boot", "cold"), 0)
    assert powers(acts) == [1] and s.name == "on"
    s, _ = fsm.step(s, ("battery", 3900), 10)
    s, acts = fsm.step(s, ("pir", None), 20)
    assert acts == [] and s.name == "on"
    s, _ = fsm.step(s, ("result", (41, link.VERDICT_MISS)), 30)
    s, _ = fsm.step(s, ("hit", HIT), 40)
    assert s.triggers == 1 and s.event_seq == 41 and s.queue == (HIT,)
    s, acts = fsm.step(s, ("tick", None), 10_000_000)  # no on-time cap in always-on
    assert s.name == "on" and powers(acts) == []


def test_always_on_low_battery_halts_the_pi_and_restarts_it_above_hysteresis():
    s = fsm.State(cfg(mode="always-on"))
    s, _ = run(s, [(("boot", "cold"), 0), (("battery", 3900), 10), (("battery", 3100), 20)])
    assert s.name == "shutdown"
    s, acts = fsm.step(s, ("halt", None), 30)
    assert s.name == "lowbat" and powers(acts) == [0]
    s, acts = fsm.step(s, ("battery", 3500), 40)
    assert s.name == "on" and powers(acts) == [1]


def test_persistent_fields_survive_restore():
    s = booted()
    s, _ = run(s, [(("pir", None), 2000), (("hit", HIT), 3000)])
    again = fsm.restore(s.cfg, s.persistent())
    assert again.event_seq == 1 and again.queue == (HIT,) and again.triggers == 1
    assert again.name == "sleep"  # a reset never resumes with the Pi on


def test_wake_keeps_the_lockout_and_heartbeat_but_cold_boot_resets_them():
    s = booted(lockout_s=30)
    s, _ = run(s, [(("pir", None), 2000), (("halt", None), 3000)])
    woke, _ = fsm.step(fsm.restore(s.cfg, s.persistent()), ("boot", "wake"), 4000)
    assert woke.lockout_until == 33000 and woke.booted_at == 0
    cold, _ = fsm.step(fsm.restore(s.cfg, s.persistent()), ("boot", "cold"), 4000)
    assert cold.lockout_until == 0 and cold.booted_at == 4000


def test_status_request_reports_counters():
    s = booted()
    s, _ = run(s, [(("pir", None), 2000), (("hit", HIT), 3000)])
    s, acts = fsm.step(s, ("status_req", None), 61000)
    st = link.parse_status(sends(acts, link.STATUS)[0][2])
    assert st[0] == 3900 and st[3] == 61 and st[4] == 1 and st[5] == 1 and st[7] == 1


def test_temperature_reaches_status_and_heartbeat():
    s = booted(heartbeat_s=600)
    s, _ = fsm.step(s, ("temp", -12), 2000)
    s, acts = fsm.step(s, ("status_req", None), 3000)
    assert link.parse_status(sends(acts, link.STATUS)[0][2])[1] == -12
    s, acts = fsm.step(s, ("tick", None), 600_000)
    assert [a[1]["temp_c"] for a in acts if a[0] == "heartbeat"] == [-12]
