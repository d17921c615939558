"""MQTT publisher against a real Mosquitto: delivery, outages, availability, auth, TLS."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from camtrap.adapters.clock import SystemClock
from camtrap.adapters.mqtt import MqttPublisher, check_mqtt, read_password, tls_context
from camtrap.adapters.outbox import Outbox
from camtrap.config import DeviceConfig, MqttConfig
from camtrap.core.outbox_policy import backoff_delay
from camtrap.core.types import Hit
from camtrap.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
DEVICE = DeviceConfig(id="trap-07")
HIT_TOPIC = "camtrap/trap-07/hit"
AVAIL_TOPIC = "camtrap/trap-07/availability"


def hit(seq: int) -> Hit:
    return Hit(f"trap-07-{seq}", seq, "trap-07", 1795500000.0, "leopard", 0.93, 3, 4, "m@1")


def cfg(broker, **kw) -> MqttConfig:
    base = dict(enabled=True, host=broker.host, port=broker.port, backoff_min_s=0.1)
    return MqttConfig(**(base | {"backoff_max_s": 0.5} | kw))  # type: ignore[arg-type]


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(tmp_path / "outbox.db")
    yield box
    box.close()


@pytest.fixture
def publisher_factory(outbox):
    made: list[MqttPublisher] = []

    def make(mqtt_cfg: MqttConfig, **kw) -> MqttPublisher:
        pub = MqttPublisher(mqtt_cfg, DEVICE, outbox, SystemClock(), **kw)
        made.append(pub)
        pub.start()
        return pub

    yield make
    for p in made:
        p.stop()


def event_ids(sub) -> list[str]:
    return [json.loads(p)["event_id"] for p in sub.payloads(HIT_TOPIC)]


# --------------------------------------------------------------------------------------------


@pytest.mark.broker
def test_hit_is_published_as_json_at_qos1_and_marked_sent_on_puback(
    mosquitto, mqtt_subscriber, publisher_factory, outbox, wait_for
):
    sub = mqtt_subscriber(mosquitto.host, mosquitto.port, "camtrap/#")
    pub = publisher_factory(cfg(mosquitto))
    assert pub.wait_connected(10)
    outbox.add(hit(1))
    assert pub.drain() == 1
    assert pub.drain() == 0  # handed to this connection already: not sent twice
    wait_for(lambda: outbox.count_pending() == 0, 10, "the PUBACK to clear the outbox")
    wait_for(lambda: sub.payloads(HIT_TOPIC), 10, "the hit at the subscriber")
    body = json.loads(sub.payloads(HIT_TOPIC)[0])
    assert body["v"] == 1 and body["type"] == "hit" and body["event_id"] == "trap-07-1"
    assert [r for t, _, r in sub.messages if t == HIT_TOPIC] == [False]  # not retained


@pytest.mark.broker
def test_hits_queued_while_the_broker_is_down_arrive_after_it_returns_none_lost(
    mosquitto_factory, mqtt_subscriber, publisher_factory, outbox, tmp_path, wait_for
):
    # A persistent session (clean=False) on a broker with persistence: the consumer gets
    # everything published while either side was away, as a real backend would.
    broker = mosquitto_factory(
        f"listener {{port}} 127.0.0.1\nallow_anonymous true\n"
        f"persistence true\npersistence_location {tmp_path}/\n"
    )
    sub = mqtt_subscriber(broker.host, broker.port, HIT_TOPIC, client_id="consumer", clean=False)
    pub = publisher_factory(cfg(broker))
    assert pub.wait_connected(10)
    outbox.add(hit(0))
    pub.drain()
    wait_for(lambda: outbox.count_pending() == 0, 10, "hit 0 acknowledged")

    broker.stop()
    wait_for(lambda: not pub.connected, 10, "the publisher to notice the outage")
    for seq in range(1, 6):
        outbox.add(hit(seq))
        assert pub.drain() == 0  # nowhere to send: they wait in the outbox
    assert outbox.count_pending("mqtt") == 5

    broker.start()
    wait_for(lambda: outbox.count_pending() == 0, 20, "the queued hits to be acknowledged")
    expected = {f"trap-07-{s}" for s in range(6)}
    wait_for(lambda: set(event_ids(sub)) == expected, 20, "all hits at the consumer")
    deduped = set(event_ids(sub))
    assert deduped == expected  # none lost; a consumer deduping by event_id sees each once


@pytest.mark.broker
def test_a_hit_whose_puback_never_came_is_sent_again_on_the_next_connection(
    mosquitto, publisher_factory, outbox, caplog, wait_for
):
    caplog.set_level(logging.INFO, "camtrap.adapters.mqtt")
    pub = publisher_factory(cfg(mosquitto))
    assert pub.wait_connected(10)
    assert mosquitto.proc is not None
    mosquitto.proc.send_signal(signal.SIGSTOP)  # the broker takes the PUBLISH, never answers
    try:
        outbox.add(hit(1))
        assert pub.drain() == 1
    finally:
        mosquitto.kill()  # the connection dies with the hit unacknowledged
    wait_for(lambda: not pub.connected, 10, "the publisher to notice the crash")
    assert outbox.count_pending("mqtt") == 1 and "acknowledged" not in caplog.text
    mosquitto.start()
    # mark_sent comes before its log line: wait for both, not just for the empty outbox
    wait_for(
        lambda: (
            outbox.count_pending() == 0
            and "hit trap-07-1 acknowledged by the broker" in caplog.text
        ),
        20,
        "the re-sent hit acknowledged",
    )


@pytest.mark.broker
def test_hits_added_before_start_are_sent_on_first_connect(
    mosquitto, mqtt_subscriber, publisher_factory, outbox, wait_for
):
    sub = mqtt_subscriber(mosquitto.host, mosquitto.port, HIT_TOPIC)
    for seq in range(3):
        outbox.add(hit(seq))
    publisher_factory(cfg(mosquitto))
    wait_for(lambda: outbox.count_pending() == 0, 10, "the backlog to drain")
    wait_for(lambda: len(set(event_ids(sub))) == 3, 10, "3 hits at the subscriber")
    assert event_ids(sub) == ["trap-07-0", "trap-07-1", "trap-07-2"]  # oldest first


@pytest.mark.broker
def test_broker_down_at_start_is_no_error_and_hits_flow_once_it_is_up(
    mosquitto, publisher_factory, outbox, wait_for
):
    mosquitto.stop()
    outbox.add(hit(1))
    pub = publisher_factory(cfg(mosquitto))
    assert pub.drain() == 0 and not pub.connected
    mosquitto.start()
    wait_for(lambda: outbox.count_pending() == 0, 20, "the hit to go out after the broker came up")


@pytest.mark.broker
def test_availability_is_retained_and_clean_stop_publishes_offline(
    mosquitto, mqtt_subscriber, publisher_factory, wait_for
):
    live = mqtt_subscriber(mosquitto.host, mosquitto.port, AVAIL_TOPIC)
    pub = publisher_factory(cfg(mosquitto))
    wait_for(lambda: live.payloads(AVAIL_TOPIC) == [b"online"], 10, "online")
    late = mqtt_subscriber(mosquitto.host, mosquitto.port, AVAIL_TOPIC)
    wait_for(lambda: late.messages, 10, "retained availability")
    assert late.messages[0] == (AVAIL_TOPIC, b"online", True)
    pub.stop()
    wait_for(lambda: late.payloads(AVAIL_TOPIC)[-1:] == [b"offline"], 10, "offline on stop")
    later = mqtt_subscriber(mosquitto.host, mosquitto.port, AVAIL_TOPIC)
    wait_for(lambda: later.messages, 10, "retained offline")
    assert later.messages == [(AVAIL_TOPIC, b"offline", True)]


@pytest.mark.broker
def test_last_will_says_offline_when_the_publisher_process_is_killed(
    mosquitto, mqtt_subscriber, tmp_path, wait_for
):
    script = textwrap.dedent(
        f"""
        import time
        from camtrap.adapters.clock import SystemClock
        from camtrap.adapters.mqtt import MqttPublisher
        from camtrap.adapters.outbox import Outbox
        from camtrap.config import DeviceConfig, MqttConfig
        cfg = MqttConfig(enabled=True, host={mosquitto.host!r}, port={mosquitto.port})
        pub = MqttPublisher(cfg, DeviceConfig(id="trap-07"), Outbox({str(tmp_path / "o.db")!r}),
                            SystemClock())
        pub.start()
        print("connected" if pub.wait_connected(10) else "not connected", flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "connected"
        sub = mqtt_subscriber(mosquitto.host, mosquitto.port, AVAIL_TOPIC)
        wait_for(lambda: sub.messages, 10, "retained online")
        assert sub.messages[0] == (AVAIL_TOPIC, b"online", True)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    wait_for(lambda: sub.payloads(AVAIL_TOPIC)[-1:] == [b"offline"], 10, "the last will")
    later = mqtt_subscriber(mosquitto.host, mosquitto.port, AVAIL_TOPIC)
    wait_for(lambda: later.messages, 10, "the retained will")
    assert later.messages == [(AVAIL_TOPIC, b"offline", True)]


@pytest.mark.broker
def test_telemetry_given_while_disconnected_goes_out_retained_on_connect(
    mosquitto, mqtt_subscriber, publisher_factory, outbox, wait_for
):
    mosquitto.stop()
    pub = MqttPublisher(cfg(mosquitto), DEVICE, outbox, SystemClock())
    pub.publish_telemetry({"triggers": 4, "misses": 3, "hits_today": 1, "battery_mv": 3700})
    pub.start()
    try:
        mosquitto.start()
        live = mqtt_subscriber(mosquitto.host, mosquitto.port, "camtrap/trap-07/telemetry")
        wait_for(lambda: live.messages, 20, "telemetry after connect")
        sub = mqtt_subscriber(mosquitto.host, mosquitto.port, "camtrap/trap-07/telemetry")
        wait_for(lambda: sub.messages, 10, "retained telemetry")
        body = json.loads(sub.messages[0][1])
        assert body["misses"] == 3 and body["battery_mv"] == 3700 and sub.messages[0][2]
        hits = mqtt_subscriber(mosquitto.host, mosquitto.port, HIT_TOPIC)
        outbox.add(hit(1))
        pub.drain()
        pub.publish_telemetry({"battery_mv": 3650})
        outbox.add(hit(2))
        pub.drain()
        wait_for(lambda: len(hits.payloads(HIT_TOPIC)) == 2, 10, "hits 1 and 2")
        battery = {
            json.loads(p)["event_id"]: json.loads(p)["battery_mv"] for p in hits.payloads(HIT_TOPIC)
        }
        assert battery == {"trap-07-1": 3700, "trap-07-2": 3650}  # the latest known reading
    finally:
        pub.stop()


@pytest.mark.broker
def test_reconnect_delays_follow_the_backoff_policy(mosquitto, outbox, caplog, wait_for):
    mosquitto.stop()  # a free port nobody listens on: every connect is refused at once
    caplog.set_level(logging.INFO, "camtrap.adapters.mqtt")
    c = cfg(mosquitto, backoff_min_s=0.1, backoff_max_s=0.4)
    pub = MqttPublisher(c, DEVICE, outbox, SystemClock(), jitter=lambda: 1.0)
    pub.start()
    try:
        wait_for(lambda: caplog.text.count("reconnecting in") >= 4, 10, "four retries")
    finally:
        pub.stop()
    delays = [line.split("reconnecting in ")[1].split(" s")[0] for line in caplog.messages
              if "reconnecting in" in line]  # fmt: skip
    assert delays[:4] == ["0.1", "0.2", "0.4", "0.4"]
    assert "cannot connect to broker" in caplog.text


@pytest.mark.broker
def test_wrong_password_is_logged_with_the_reason_code_and_never_the_password(
    password_broker, publisher_factory, outbox, caplog, wait_for
):
    broker = password_broker
    caplog.set_level(logging.DEBUG)
    pub = publisher_factory(cfg(broker, username="trap", password="wrong-pw-123"))
    wait_for(lambda: "refused the connection" in caplog.text, 10, "the refusal log line")
    assert "reason code 135" in caplog.text and "Not authorized" in caplog.text
    outbox.add(hit(1))
    assert pub.drain() == 0 and outbox.count_pending() == 1  # kept, not dropped
    assert "wrong-pw-123" not in caplog.text and "wrong-pw-123" not in repr(pub)


@pytest.mark.broker
def test_password_file_authenticates(
    password_broker, publisher_factory, outbox, tmp_path, caplog, wait_for
):
    broker = password_broker
    secret = tmp_path / "mqtt-password"
    secret.write_text("s3cret-pw\n")
    secret.chmod(0o600)  # a password file others may read is refused
    caplog.set_level(logging.DEBUG)
    pub = publisher_factory(cfg(broker, username="trap", password_file=str(secret)))
    assert pub.wait_connected(10)
    outbox.add(hit(1))
    pub.drain()
    wait_for(lambda: outbox.count_pending() == 0, 10, "the hit acknowledged")
    assert "s3cret-pw" not in caplog.text


def make_tls_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl not found")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=tmp_path)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
        "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    (tmp_path / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt")  # fmt: skip
    return tmp_path / "ca.crt", tmp_path / "server.crt", tmp_path / "server.key"


@pytest.mark.broker
def test_tls_with_a_ca_file_delivers_hits(
    mosquitto_factory, publisher_factory, outbox, tmp_path, wait_for
):
    ca, cert, key = make_tls_files(tmp_path)
    broker = mosquitto_factory(
        f"listener {{port}} 127.0.0.1\nallow_anonymous true\n"
        f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
    )
    pub = publisher_factory(cfg(broker, tls=True, ca_file=str(ca)))
    assert pub.wait_connected(10)
    outbox.add(hit(1))
    pub.drain()
    wait_for(lambda: outbox.count_pending() == 0, 10, "the hit acknowledged over TLS")


@pytest.mark.broker
def test_tls_with_an_untrusted_broker_certificate_never_connects(
    mosquitto_factory, publisher_factory, outbox, tmp_path, caplog, wait_for
):
    ca, cert, key = make_tls_files(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    other_ca, _, _ = make_tls_files(other)
    broker = mosquitto_factory(
        f"listener {{port}} 127.0.0.1\nallow_anonymous true\n"
        f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
    )
    caplog.set_level(logging.WARNING)
    pub = publisher_factory(cfg(broker, tls=True, ca_file=str(other_ca)))
    wait_for(lambda: "CERTIFICATE_VERIFY_FAILED" in caplog.text, 10, "the TLS failure log")
    assert not pub.connected


# --------------------------------------------------------------------------------------------
# Configuration and the backoff policy (no broker)


def test_password_and_password_file_together_are_a_config_error(tmp_path, outbox):
    c = MqttConfig(password="a", password_file=str(tmp_path / "pw"))
    with pytest.raises(ConfigError, match=r"mqtt\.password: set password or password_file"):
        check_mqtt(c, "trap-07")


def test_missing_password_file_is_a_config_error_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"mqtt\.password_file: cannot read"):
        read_password(MqttConfig(password_file=str(tmp_path / "absent")))


def test_password_file_first_line_is_the_password(tmp_path):
    (tmp_path / "pw").write_text("hunter2\nignored\n")
    (tmp_path / "pw").chmod(0o600)
    assert read_password(MqttConfig(password_file=str(tmp_path / "pw"))) == "hunter2"


def test_tls_config_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"mqtt\.ca_file: not a file"):
        tls_context(MqttConfig(tls=True, ca_file=str(tmp_path / "absent.crt")))
    (tmp_path / "junk.crt").write_text("not a certificate")
    with pytest.raises(ConfigError, match=r"mqtt\.ca_file: not a usable CA bundle"):
        tls_context(MqttConfig(tls=True, ca_file=str(tmp_path / "junk.crt")))
    with pytest.raises(ConfigError, match=r"mqtt\.ca_file: set, but mqtt\.tls is false"):
        check_mqtt(MqttConfig(ca_file=str(tmp_path / "junk.crt")), "trap-07")


def test_publisher_refuses_backoff_min_above_max_and_bad_device_ids(outbox):
    with pytest.raises(ConfigError, match="backoff_min_s"):
        MqttPublisher(MqttConfig(backoff_min_s=10, backoff_max_s=5), DEVICE, outbox, SystemClock())
    with pytest.raises(ConfigError, match=r"device\.id"):
        MqttPublisher(MqttConfig(), DeviceConfig(id="a/b"), outbox, SystemClock())


def test_backoff_doubles_from_min_to_max():
    assert [backoff_delay(n, 1.0, 120.0, 1.0) for n in range(9)] == [
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        32.0,
        64.0,
        120.0,
        120.0,
    ]


def test_backoff_jitter_spreads_over_the_upper_half_and_never_below_min():
    assert backoff_delay(3, 1.0, 120.0, 0.0) == 4.0
    assert backoff_delay(3, 1.0, 120.0, 0.5) == 6.0
    assert backoff_delay(0, 1.0, 120.0, 0.0) == 1.0  # half of 1 s would be below the minimum
    assert backoff_delay(10_000, 0.1, 5.0, 0.999) <= 5.0


def test_backoff_refuses_jitter_outside_unit_interval():
    with pytest.raises(ValueError):
        backoff_delay(0, 1.0, 2.0, 1.5)
