"""The console's simulated calls: a seeded simulated debtor answers instead of a person (part of the harness).

Imported only when a tab asks to watch one, so the console's live path loads no simulator.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from agent_runtime.cards import CardSink
from agent_runtime.contracts.events import new_event_id
from agent_runtime.contracts.outcome import OutcomeKind
from agent_runtime.services import CallServices
from simulator.calls import simulated_debtor, talk
from simulator.personas import Persona


async def watch_simulated_call(
    services: CallServices,
    seed: int,
    persona: str | None,
    sink: CardSink,
    between_turns: Callable[[], Awaitable[None]],
) -> None:
    """The call to the debtor of `seed` (of `persona`, or drawn from the seed), its cards going to `sink`."""
    who = simulated_debtor(seed, Persona(persona) if persona else None)
    call = who.controller(services, f"console-sim-{seed}-{new_event_id()[:8]}", sinks=(sink,))
    try:
        await talk(call, who.debtor, between_turns=between_turns)
    finally:
        await call.close(OutcomeKind.INTERRUPTED, reason="stopped from the console")  # if still open
