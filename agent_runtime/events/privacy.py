"""Privacy by default for stored events: what reaches a store carries no identity in clear and no personal data in
its texts, while everything training needs stays as it was.

- Identity: the call facts' debtor name becomes a keyed reference, `person:` + HMAC-SHA256(key, the name as spoken,
  case-folded), the number called becomes one too (`phone_ref`: what the do-not-contact list matches on), and the
  identifiers used to verify the debtor (ZIP code, year of birth) are dropped. A keyed
  reference rather than an encrypted field, because nothing downstream needs the name back: training, reports and the
  console need only to tell calls of one person apart, the creditor's own system holds who the person is, and a key
  that only hashes cannot leak a name through a decryption. The key comes from EVENTS_IDENTITY_KEY; without one a key
  is drawn per process, so references still protect but no longer match across runs.
- Texts: the debtor's words, the agent's lines and a failed call's reason go through the redactor
  (agent_runtime.events.redaction), which also masks the call's own known names, learnt from its call_opened event.
- Numbers: balance, days overdue, amounts heard, offer terms, state vectors, actions and outcomes are untouched, so
  replay builds the same transitions from protected events as from clear ones.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from functools import cache

from agent_runtime.contracts.events import CallClosed, CallOpened, Event, TurnEvent
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.events.redaction import redact

log = logging.getLogger(__name__)
REFERENCE_PREFIX = "person:"
PHONE_PREFIX = "phone:"


def identity_reference(value: str, key: bytes, prefix: str = REFERENCE_PREFIX) -> str:
    digest = hmac.new(key, " ".join(value.casefold().split()).encode(), hashlib.sha256).hexdigest()
    return prefix + digest[:32]


def phone_reference(number: str, key: bytes) -> str:
    return identity_reference(number, key, PHONE_PREFIX)


def protect_facts(facts: CallFacts, key: bytes) -> CallFacts:
    if facts.identity_protected:
        return facts
    phone_ref = phone_reference(facts.phone_number, key) if facts.phone_number else facts.phone_ref
    return facts.model_copy(
        update={
            "debtor_name": identity_reference(facts.debtor_name, key),
            "zip_code": None,
            "birth_year": None,
            "phone_number": None,
            "phone_ref": phone_ref,
            "identity_protected": True,
        }
    )


@cache
def _process_key() -> bytes:
    """One key drawn per process, for a process without EVENTS_IDENTITY_KEY (said once)."""
    log.warning("EVENTS_IDENTITY_KEY is not set: identity references hold only within this process")
    return secrets.token_bytes(32)


class EventProtector:
    """Protects each event of a producer before it is stored; one per process (it remembers each open call's names).
    `redact_text=False` keeps texts in clear (research recordings with the speakers' consent); identity is always
    protected."""

    def __init__(self, identity_key: bytes | None = None, *, redact_text: bool = True):
        if identity_key is None:
            identity_key = _process_key()
        self._key, self.redact_text = identity_key, redact_text
        self._names: dict[str, tuple[str, ...]] = {}  # call id -> the names its texts may contain

    def protect(self, event: Event) -> Event:
        if isinstance(event, CallOpened):
            facts = event.facts
            if not facts.identity_protected:
                self._names[event.call_id] = (facts.debtor_name, *facts.debtor_name.split())
            return event.model_copy(update={"facts": protect_facts(facts, self._key)})
        if not self.redact_text:
            return event
        names = self._names.get(event.call_id, ())
        if isinstance(event, TurnEvent):
            update = {"user_text": redact(event.user_text, names), "agent_text": redact(event.agent_text, names)}
            if (cut := event.interrupted_reply) is not None and cut.heard_text:
                update["interrupted_reply"] = cut.model_copy(update={"heard_text": redact(cut.heard_text, names)})
            return event.model_copy(update=update)
        if isinstance(event, CallClosed):
            self._names.pop(event.call_id, None)
            if event.reason:
                return event.model_copy(update={"reason": redact(event.reason, names)})
        return event
