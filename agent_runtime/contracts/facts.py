"""Call facts: what the agent knows about the account when the call opens."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator


class CallFacts(BaseModel):
    model_config = ConfigDict(frozen=True)

    debtor_name: str = Field(min_length=1, max_length=120)
    balance: float = Field(gt=0, le=1_000_000)
    days_overdue: int = Field(ge=0, le=10_000)
    due_date: date
    timezone: str = "America/New_York"
    creditor: str = Field(min_length=1, max_length=120)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
