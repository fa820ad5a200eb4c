"""MQTT connection settings and topic layout.

Topics: `{prefix}/events/{type}/{call_id}` with type one of call_opened, turn, call_closed; QoS 1 everywhere
(at-least-once; the stores are idempotent on event_id). The recorder subscribes to `{prefix}/events/#`.
Credentials come from the settings (MQTT_USERNAME, MQTT_PASSWORD; agent_runtime.settings), never from a URL, and are
never logged; `mqtts://` turns on TLS (MQTT_CA_FILE for a private CA).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiomqtt
from tenacity import AsyncRetrying, before_sleep_log, retry_if_exception_type, wait_exponential

DEFAULT_PREFIX = "debtcollect/v1"
QOS = 1
MAX_IN_FLIGHT = 500  # QoS 1 publishes awaiting PUBACK at once (paho's default of 20 caps throughput)
BACKOFF_START, BACKOFF_MAX = 0.2, 5.0


async def with_reconnects(session: Callable[[], Awaitable[None]], log: logging.Logger) -> None:
    """Run `session` (connect, then serve until done); on a broker failure retry it with exponential backoff."""
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(aiomqtt.MqttError),
        wait=wait_exponential(multiplier=BACKOFF_START, max=BACKOFF_MAX),
        before_sleep=before_sleep_log(log, logging.WARNING),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            await session()


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None
    prefix: str = DEFAULT_PREFIX

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        prefix: str = DEFAULT_PREFIX,
    ) -> MqttSettings:
        """mqtt://[user@]host[:port] or mqtts://...; the password only from the settings, never in the URL."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"MQTT URL must start with mqtt:// or mqtts://, got {parts.scheme or 'no scheme'}")
        if parts.password:
            raise ValueError("put the MQTT password in MQTT_PASSWORD, not in the URL (URLs end up in logs)")
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            username=parts.username or username,
            password=password,
            tls=tls,
            ca_file=ca_file,
            prefix=prefix,
        )

    def topic(self, event_type: str, call_id: str) -> str:
        return f"{self.prefix}/events/{event_type}/{call_id}"

    @property
    def subscription(self) -> str:
        return f"{self.prefix}/events/#"

    def client(self, identifier: str, *, clean_session: bool = True) -> aiomqtt.Client:
        tls_context = ssl.create_default_context(cafile=self.ca_file) if self.tls else None
        return aiomqtt.Client(
            self.host,
            self.port,
            identifier=identifier,
            username=self.username,
            password=self.password,
            clean_session=clean_session,
            tls_context=tls_context,
            keepalive=10,
            max_inflight_messages=MAX_IN_FLIGHT,
        )
