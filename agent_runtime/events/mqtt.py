"""MQTT connection settings, topic layout, and the reconnect loop both ends run in.

Topics: `{prefix}/events/{producer}/{type}/{call_id}` with type one of call_opened, turn, call_closed, and producer the
MQTT user name that publishes ("anonymous" without one), so the broker's ACL can let each producer write only under
its own name (infra/mosquitto/acl); QoS 1 everywhere (at-least-once; the stores are idempotent on event_id). The
recorder subscribes to `{prefix}/events/#` and checks every topic against its payload.
Credentials come from the settings (MQTT_USERNAME, MQTT_PASSWORD; agent_runtime.settings), never from a URL, and are
never logged; `mqtts://` turns on TLS (MQTT_CA_FILE for a private CA).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiomqtt
import paho.mqtt.client as mqtt
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.reasoncodes import ReasonCode

DEFAULT_PREFIX = "debtcollect/v1"
QOS = 1
MAX_IN_FLIGHT = 1000  # QoS 1 publishes awaiting PUBACK at once (paho's default of 20 caps throughput)
READS_PER_WAKEUP = 256  # packets a client reads before it lets the event loop run other work
PUBACK_TIMEOUT_SECONDS = 5.0  # a broker that acknowledges nothing for this long is treated as gone
BACKOFF_START, BACKOFF_MAX = 0.2, 5.0
# A session still running this long after its stop is stuck, most likely on a broker that never answers CONNECT
# (aiomqtt waits 10 s for the CONNACK): it is cancelled, so a stop never waits on the network.
STOP_GRACE_SECONDS = 2.0
# The refusals (MQTT 5 reason codes; paho maps 3.1.1's return codes onto them) that mean "try again later": server
# unavailable, server busy, quota exceeded, connection rate exceeded. Any other one (bad user name or password, not
# authorised, identifier rejected) comes back the same on every retry, so retrying would only hide it.
TRY_LATER = frozenset({136, 137, 151, 159})
CREDENTIALS_REFUSED = frozenset({134, 135})


class BrokerRefusedError(Exception):
    """The broker answered and refused the client for good: the configuration must change, not the timing."""


async def with_reconnects(session: Callable[[], Awaitable[None]], stop: asyncio.Event, log: logging.Logger) -> None:
    """Run `session` (connect, then serve until done); after a broker failure run it again, with exponential backoff,
    until `stop` is set. A broker that refuses the client for good raises BrokerRefusedError at once."""
    delay = BACKOFF_START
    while not stop.is_set():
        try:
            await _cancel_when_stuck(session(), stop)
            return
        except aiomqtt.MqttError as exc:
            if refusal := _final_refusal(exc):
                raise refusal from None
            log.warning("broker unavailable (%s); retrying in %.1f s", exc, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(2 * delay, BACKOFF_MAX)


async def _cancel_when_stuck(work: Awaitable[None], stop: asyncio.Event) -> None:
    """Await `work`, cancelling it if it has not ended STOP_GRACE_SECONDS after `stop` is set."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            await asyncio.wait({task}, timeout=STOP_GRACE_SECONDS)
    finally:
        stopped.cancel()
        task.cancel()  # a no-op once it has ended
        await asyncio.wait({task})
    if not task.cancelled():
        task.result()


def _final_refusal(exc: aiomqtt.MqttError) -> BrokerRefusedError | None:
    reason = exc.rc if isinstance(exc, MqttConnectError) else None  # a CONNACK's answer, not a later disconnect
    if not isinstance(reason, ReasonCode) or reason.value in TRY_LATER:
        return None
    hint = " (check MQTT_USERNAME and MQTT_PASSWORD)" if reason.value in CREDENTIALS_REFUSED else ""
    return BrokerRefusedError(f"the broker refused the connection: {reason}{hint}")


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

    @property
    def producer(self) -> str:
        return self.username or "anonymous"

    def topic(self, event_type: str, call_id: str) -> str:
        return f"{self.prefix}/events/{self.producer}/{event_type}/{call_id}"

    @property
    def subscription(self) -> str:
        return f"{self.prefix}/events/#"

    def client(
        self, identifier: str, *, clean_session: bool = True, max_inflight: int = MAX_IN_FLIGHT
    ) -> aiomqtt.Client:
        """`max_inflight`: QoS 1 publishes paho lets await their PUBACK (0: no limit, for a caller that bounds them
        itself; paho scans every message it holds on each PUBACK while a limit is set)."""
        tls_context = ssl.create_default_context(cafile=self.ca_file) if self.tls else None
        return _Client(
            self.host,
            self.port,
            identifier=identifier,
            username=self.username,
            password=self.password,
            clean_session=clean_session,
            tls_context=tls_context,
            keepalive=10,
            max_inflight_messages=max_inflight,
        )


class _Client(aiomqtt.Client):
    """aiomqtt's client, reading at each wake-up every whole packet the socket holds (up to READS_PER_WAKEUP), where
    aiomqtt asks paho for one packet (paho reads more only while messages of its own await an acknowledgement): a
    subscriber went through the event loop, epoll and all, once per message."""

    def _on_socket_open(self, client: mqtt.Client, userdata, sock) -> None:
        super()._on_socket_open(client, userdata, sock)  # schedules aiomqtt's reader, replaced below

        def read() -> None:
            try:
                for _ in range(READS_PER_WAKEUP):
                    # paho starts a new `_in_packet` once a packet is whole and handled (without one: a single read)
                    packet = getattr(client, "_in_packet", None)
                    if client.loop_read() != mqtt.MQTT_ERR_SUCCESS or packet is None:
                        break
                    tls_buffered = hasattr(client._sock, "pending") and client._sock.pending()  # decrypted, unread
                    if client._in_packet is packet and not tls_buffered:
                        break  # nothing more to read now, or only part of a packet
            except Exception as exc:  # as aiomqtt's reader: a broken connection ends the session
                if not self._disconnected.done():
                    self._disconnected.set_exception(exc)

        self._loop.call_soon_threadsafe(self._loop.add_reader, sock.fileno(), read)


async def until_disconnected(client: aiomqtt.Client) -> None:
    """Return never; raise aiomqtt.MqttError once the connection of `client` is lost (its message iterator ends on a
    disconnection). For a client whose messages are taken by a callback of its own, or that receives none."""
    async for _ in client.messages:
        pass
