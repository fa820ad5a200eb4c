"""Signed events on the wire: the producer signs each payload with an HMAC (SHA-256) under a per-deployment key, the
recorder checks it, so a client that can reach the broker but does not hold the key cannot plant events.

A signed message is `sig1:<64 hex digits>\\n<event JSON>`: the event's JSON stays byte for byte what the producer
stored (the recorder stores it as it came), and the signature covers exactly those bytes. The key comes from
EVENTS_SIGNING_KEY (agent_runtime.settings) and is never logged.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = b"sig1:"
_DIGEST_CHARS = 64
_HEADER = len(PREFIX) + _DIGEST_CHARS + 1  # prefix, hex digest, newline


class SignatureError(ValueError):
    """A message that is not signed, or whose signature does not match the payload under the key."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason  # unsigned | bad_signature


def _digest(payload: bytes, key: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).hexdigest().encode()


def sign(payload: bytes, key: bytes) -> bytes:
    return PREFIX + _digest(payload, key) + b"\n" + payload


def is_signed(message: bytes) -> bool:
    return message.startswith(PREFIX) and message[_HEADER - 1 : _HEADER] == b"\n"


def signed_payload(message: bytes, key: bytes | None) -> bytes:
    """The payload of a message: checked against `key`, or, without a key, taken as it is (a signature header is
    dropped unchecked). Raises SignatureError when a key is given and the message is unsigned or mis-signed."""
    if not is_signed(message):
        if key is not None:
            raise SignatureError("unsigned", "the event is not signed")
        return message
    payload = message[_HEADER:]
    if key is not None and not hmac.compare_digest(message[len(PREFIX) : _HEADER - 1], _digest(payload, key)):
        raise SignatureError("bad_signature", "the event's signature does not match (another key, or altered)")
    return payload
