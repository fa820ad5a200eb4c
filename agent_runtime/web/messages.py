"""What the page may send over the console's WebSocket (JSON text messages; audio goes as binary messages).

Every message is validated here; anything else closes that socket with the reason, and the server goes on.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from agent_runtime.contracts.facts import CallFacts

MAX_TEXT_MESSAGE_BYTES = 16_384
MAX_AUDIO_MESSAGE_BYTES = 64_000  # 2 s of 16 kHz 16-bit mono: the page sends about 20 ms at a time
MAX_UTTERANCE_CHARS = 2_000
PERSONAS = ("cooperative", "sad", "avoidant", "angry")  # simulator.personas.Persona, which the live path may not load


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FactsForm(_Message):
    """The call facts the page's form sets; the due date follows from the days overdue."""

    debtor_name: str = Field("Sam Rivera", min_length=1, max_length=120)
    creditor: str = Field("Northwind Bank", min_length=1, max_length=120)
    balance: float = Field(1200.0, gt=0, le=1_000_000)
    days_overdue: int = Field(90, ge=0, le=10_000)
    timezone: str = "America/Chicago"
    zip_code: str | None = Field(None, pattern=r"^[0-9]{5}$")  # the identifier the debtor must confirm, if any

    def facts(self, today: date) -> CallFacts:
        fields = self.model_dump()
        return CallFacts(**fields, due_date=today - timedelta(days=self.days_overdue))


class StartCall(_Message):
    type: Literal["start"]
    mode: Literal["voice", "text"] = "text"
    facts: FactsForm = FactsForm()
    policy: str | None = None  # one of the console's offered specs; None: the default


class WatchSimulated(_Message):
    type: Literal["simulate"]
    persona: Literal[PERSONAS] | None = None  # None: drawn from the seed, hidden
    seed: int = Field(0, ge=0, le=1_000_000_000)
    pace: float = Field(1.0, ge=0.0, le=10.0)  # seconds between turns
    audio: bool = False  # speak both sides to the page
    policy: str | None = None


class SetPace(_Message):
    type: Literal["pace"]
    pace: float = Field(ge=0.0, le=10.0)


class TypedLine(_Message):
    type: Literal["text"]
    text: str = Field(min_length=1, max_length=MAX_UTTERANCE_CHARS)


class EndCall(_Message):
    type: Literal["end"]


class Played(_Message):
    type: Literal["played"]  # the page's speaker buffer ran dry after a reply


ClientMessage = StartCall | WatchSimulated | SetPace | TypedLine | EndCall | Played
_ADAPTER: TypeAdapter[ClientMessage] = TypeAdapter(Annotated[ClientMessage, Field(discriminator="type")])


class BadMessage(ValueError):
    pass


def parse_message(payload: str) -> ClientMessage:
    if len(payload.encode()) > MAX_TEXT_MESSAGE_BYTES:
        raise BadMessage(f"message over {MAX_TEXT_MESSAGE_BYTES} bytes")
    try:
        return _ADAPTER.validate_json(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadMessage(f"{first['msg']} at {'.'.join(map(str, first['loc'])) or 'the message'}") from None
