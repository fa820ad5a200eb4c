"""Hidden personas and domain-randomised traits of simulated debtors. The agent never sees these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import numpy as np

from agent_runtime.contracts.facts import CallFacts


class Persona(StrEnum):
    COOPERATIVE = "cooperative"
    SAD = "sad"  # sad / overwhelmed
    AVOIDANT = "avoidant"
    ANGRY = "angry"


PERSONAS: tuple[Persona, ...] = tuple(Persona)
LIFE_EVENTS = ("none", "job_loss", "illness", "divorce", "reduced_hours", "new_baby")
FIRST_NAMES = ("Alex", "Jordan", "Sam", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Drew")
LAST_NAMES = ("Rivera", "Nguyen", "Smith", "Okafor", "Kowalski", "Haddad", "Larsen", "Moreno", "Chen", "Baker")
CREDITORS = ("Northwind Bank", "Bluebird Credit Union", "Summit Medical Group", "Metro Utilities", "Acme Card Services")
TIMEZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
SIMULATION_EPOCH = date(2026, 1, 5)


@dataclass(frozen=True)
class PersonaProfile:
    rapport: float  # starting trust in the caller
    anger: float  # starting irritation
    patience: tuple[int, int]  # turns before hanging up
    rapport_needed: float  # rapport below which pressure backfires
    monthly_capacity: tuple[float, float]  # affordable monthly payment, as a fraction of the balance
    lump_capacity: tuple[float, float]  # affordable lump sum, as a fraction of the balance
    life_events: tuple[str, ...]
    soft_dispute: float  # chance of asking for proof early
    legal_dispute: float  # chance the debt is contested outright (wrong person, paid, bankruptcy)
    engagement_needed: float = 0.0  # engagement below which they will not agree to anything


PROFILES: dict[Persona, PersonaProfile] = {
    Persona.COOPERATIVE: PersonaProfile(
        0.50, 0.05, (9, 13), 0.00, (0.10, 0.30), (0.35, 1.10), ("none", "none", "reduced_hours"), 0.06, 0.03
    ),
    Persona.SAD: PersonaProfile(
        0.15,
        0.05,
        (8, 12),
        0.55,
        (0.03, 0.09),
        (0.05, 0.40),
        ("job_loss", "illness", "divorce", "new_baby"),
        0.04,
        0.02,
    ),
    Persona.AVOIDANT: PersonaProfile(
        0.30, 0.15, (4, 7), 0.20, (0.06, 0.18), (0.20, 0.80), ("none", "reduced_hours", "none"), 0.10, 0.03, 0.35
    ),
    Persona.ANGRY: PersonaProfile(
        0.05, 0.55, (6, 10), 0.45, (0.06, 0.20), (0.30, 0.95), ("none", "reduced_hours", "job_loss"), 0.12, 0.04
    ),
}


@dataclass(frozen=True)
class DebtorTraits:
    persona: Persona
    agreeableness: float  # [0, 1]: how readily rapport grows
    stability: float  # [0, 1]: how well they take pressure
    monthly_capacity: float  # dollars a month they can pay
    lump_capacity: float  # dollars they can pay at once
    patience: int
    life_event: str
    soft_dispute: bool
    legal_dispute: bool


def _pick(options: tuple[str, ...], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]


def sample_debtor(rng: np.random.Generator, persona: Persona | None = None) -> tuple[DebtorTraits, CallFacts]:
    persona = persona or PERSONAS[int(rng.integers(len(PERSONAS)))]
    profile = PROFILES[persona]
    balance = float(np.round(np.exp(rng.uniform(np.log(300), np.log(12_000))), 2))
    days_overdue = int(rng.integers(30, 540))
    traits = DebtorTraits(
        persona=persona,
        agreeableness=float(rng.uniform(0.2, 1.0)),
        stability=float(rng.uniform(0.0, 1.0)),
        monthly_capacity=balance * float(rng.uniform(*profile.monthly_capacity)),
        lump_capacity=balance * float(rng.uniform(*profile.lump_capacity)),
        patience=int(rng.integers(profile.patience[0], profile.patience[1] + 1)),
        life_event=_pick(profile.life_events, rng),
        soft_dispute=bool(rng.random() < profile.soft_dispute),
        legal_dispute=bool(rng.random() < profile.legal_dispute),
    )
    facts = CallFacts(
        debtor_name=f"{_pick(FIRST_NAMES, rng)} {_pick(LAST_NAMES, rng)}",
        balance=balance,
        days_overdue=days_overdue,
        due_date=SIMULATION_EPOCH - timedelta(days=days_overdue),
        timezone=_pick(TIMEZONES, rng),
        creditor=_pick(CREDITORS, rng),
    )
    return traits, facts
