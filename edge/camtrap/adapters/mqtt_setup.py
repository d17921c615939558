"""The MQTT connection's setup, shared by the publisher, `camtrap validate-config` and the
doctor's broker probe: the ``[mqtt]`` rules across keys, the password, the TLS context, the
paho client, and one connect that reports the broker's answer (`probe_broker`).

    check_mqtt(cfg.mqtt, cfg.device.id, "trap.toml")          # ConfigError(s) naming the keys
    probe_broker(cfg.mqtt, cfg.device.id, "trap.toml", 5.0)   # "Success", a reason, or None
"""

from __future__ import annotations

import ssl
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from camtrap.adapters.secrets import SecretFileError, read_private
from camtrap.config import MqttConfig
from camtrap.core.messages import Topics, topics
from camtrap.errors import ConfigError, Problems


def check_mqtt(cfg: MqttConfig, device_id: str, source: str = "<config>") -> Topics:
    """The ``[mqtt]`` rules across keys, reading no file: the publisher, the doctor and
    ``camtrap validate-config`` all apply them (every broken rule is reported). Returns the
    device's topics."""
    found = Problems()
    if cfg.backoff_min_s > cfg.backoff_max_s:
        found.add(ConfigError(source, "mqtt.backoff_min_s", "must be <= mqtt.backoff_max_s"))
    if cfg.password and cfg.password_file:
        found.add(ConfigError(source, "mqtt.password", "set password or password_file, not both"))
    if cfg.ca_file and not cfg.tls:
        found.add(ConfigError(source, "mqtt.ca_file", "set, but mqtt.tls is false"))
    device_topics: Topics | None = None
    try:
        device_topics = topics(cfg.topic_prefix, device_id)
    except ValueError as e:
        found.add(ConfigError(source, "mqtt.topic_prefix / device.id", str(e)))
    found.raise_any()
    assert device_topics is not None  # else raise_any raised
    return device_topics


def read_password(cfg: MqttConfig, source: str = "<config>") -> str | None:
    """The password from ``password`` or ``password_file`` (first line), or None (after
    `check_mqtt`)."""
    if not cfg.password_file:
        return cfg.password or None
    try:  # refused when group or others may read it, as ssh refuses such a key
        text = read_private(cfg.password_file, "password file")
    except SecretFileError as e:
        fixed = e.problem.replace("chmod 600 it", f"chmod 600 {e.path}")
        problem = fixed if fixed != e.problem else f"{e.problem} ({e.path})"
        raise ConfigError(source, "mqtt.password_file", problem) from None
    return text.splitlines()[0] if text.strip() else None


def tls_context(cfg: MqttConfig, source: str = "<config>") -> ssl.SSLContext | None:
    """A verifying TLS context (``ca_file``, or the system CAs), or None without TLS."""
    if not cfg.tls:
        return None
    if cfg.ca_file and not Path(cfg.ca_file).is_file():
        raise ConfigError(source, "mqtt.ca_file", f"not a file: {cfg.ca_file}")
    try:
        return ssl.create_default_context(cafile=cfg.ca_file or None)
    except (ssl.SSLError, OSError) as e:
        raise ConfigError(source, "mqtt.ca_file", f"not a usable CA bundle: {e}") from None


def new_client(
    cfg: MqttConfig, client_id: str, password: str | None, tls: ssl.SSLContext | None
) -> mqtt.Client:
    """A paho client as the service connects: MQTT 5, the credentials, TLS."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if cfg.username:
        c.username_pw_set(cfg.username, password)
    if tls is not None:
        c.tls_set_context(tls)
    return c


def probe_broker(cfg: MqttConfig, device_id: str, source: str, timeout_s: float) -> str | None:
    """Connect once with the service's own password and TLS handling; the CONNACK reason
    (``"Success"`` when admitted), or None when nothing answered in ``timeout_s``."""
    check_mqtt(cfg, device_id, source)
    password = read_password(cfg, source) if cfg.username else None
    client = new_client(cfg, f"camtrap-doctor-{device_id}", password, tls_context(cfg, source))
    answered = threading.Event()
    reason: list[str] = []

    def on_connect(_c: Any, _u: Any, _f: Any, rc: Any, _p: Any = None) -> None:
        reason.append(str(rc))
        answered.set()

    client.on_connect = on_connect
    try:
        client.connect(cfg.host, cfg.port, keepalive=10)
    except OSError:
        return None
    client.loop_start()
    try:
        answered.wait(timeout_s)
    finally:
        client.disconnect()
        client.loop_stop()
    return reason[0] if reason else None
