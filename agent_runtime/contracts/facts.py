"""Call facts: what the agent knows about the account when the call opens.

Versions (FACTS_VERSION): facts.v1 is the account (debtor, balance, days overdue, due date, time zone, creditor);
facts.v2 adds who calls and how the debtor is verified: the agent's name, a business name that does not reveal debt
collection, the callback number, and optional identifiers (ZIP code, year of birth) the debtor must confirm before
anything about the debt is said. Their defaults keep v1 facts valid. facts.v3 adds `identity_protected`: stored
facts whose debtor name is a keyed reference (`person:<hex>`, agent_runtime.events.privacy) and whose identifiers are
gone; the account's numbers (balance, days overdue, dates) stay as they were. Older facts are unprotected (False).
facts.v4 adds what dialling needs: the creditor's `account_id` (an opaque reference, kept in clear: it links events
to the account), the `phone_number` to call (E.164; stored events hold only its keyed reference `phone_ref`), and
`account_flags` that forbid calling (bankruptcy, attorney representation, a time-barred debt). Older facts have none.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

FACTS_VERSION = "facts.v4"
# Words that would tell whoever hears the business name that this is about a debt (15 U.S.C. 1692b(1), 1692c(b)).
REVEALING_WORDS = ("debt", "collect", "recover", "credit", "loan", "arrears", "overdue", "bureau", "repossess")


class AccountFlag(StrEnum):
    """What the creditor's records say that forbids calling at all (facts.v4)."""

    BANKRUPTCY = "bankruptcy"  # the automatic stay of a bankruptcy filing
    ATTORNEY = "attorney"  # represented by an attorney: talk to the attorney, not the debtor (15 U.S.C. 1692c(a)(2))
    TIME_BARRED = "time_barred"  # past the statute of limitations where the state's rules forbid collection calls


class CallFacts(BaseModel):
    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    debtor_name: str = Field(min_length=1, max_length=120)
    balance: float = Field(gt=0, le=1_000_000)
    days_overdue: int = Field(ge=0, le=10_000)
    due_date: date
    timezone: str = "America/New_York"
    creditor: str = Field(min_length=1, max_length=120)
    # since facts.v2
    agent_name: str = Field("Jordan", min_length=1, max_length=60)
    business_name: str = Field("Fairway Partners", min_length=1, max_length=120)
    callback_number: str = Field("1-800-555-0142", pattern=r"^\+?[0-9][0-9 ().-]{5,18}[0-9]$")
    zip_code: str | None = Field(None, pattern=r"^[0-9]{5}$")
    birth_year: int | None = Field(None, ge=1900, le=2020)
    # since facts.v3
    identity_protected: bool = False
    # since facts.v4
    account_id: str | None = Field(None, pattern=r"^[A-Za-z0-9._:-]{1,64}$")
    phone_number: str | None = Field(None, pattern=r"^\+[1-9][0-9]{6,14}$")
    phone_ref: str | None = Field(None, max_length=64)  # the number's keyed reference, in stored events
    account_flags: frozenset[AccountFlag] = frozenset()

    @field_validator("business_name")
    @classmethod
    def _does_not_reveal_the_debt(cls, value: str) -> str:
        revealing = [word for word in REVEALING_WORDS if word in value.lower()]
        if revealing:
            raise ValueError(f"the business name {value!r} reveals debt collection ({', '.join(revealing)})")
        return value

    @property
    def first_name(self) -> str:
        return self.debtor_name.split()[0]

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if value not in _known_zones():  # never a path lookup: "America" is a folder, a long name an OSError
            raise ValueError(f"unknown IANA timezone {value[:80]!r}")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())
