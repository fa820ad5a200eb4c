"""The console's simulated calls: a seeded simulated debtor answers instead of a person (part of the harness).

Imported only when a tab asks to watch one, so the console's live path loads no simulator. With audio, both sides
are spoken to the page (the agent in its espeak-ng voice, the debtor in another), each line played before the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from agent_runtime.cards import CardSink
from agent_runtime.contracts.events import new_event_id
from agent_runtime.contracts.outcome import OutcomeKind
from agent_runtime.services import CallServices
from agent_runtime.speech.whisper import SAMPLE_RATE
from agent_runtime.voice_sim import DEBTOR_VOICE, synthesise
from simulator.calls import simulated_debtor, talk
from simulator.personas import Persona

VOICES = {"agent": "en-us", "debtor": DEBTOR_VOICE}
CHUNK_BYTES = 6400  # 200 ms of 16 kHz 16-bit audio per message


def speaker(send: Callable[[dict | bytes], Awaitable[None]]) -> Callable[[str, str], Awaitable[None]]:
    """`on_line` for talk(): synthesise the line in its speaker's voice, stream it to the page, wait while it plays."""

    async def speak(who: str, text: str) -> None:
        pcm = (await asyncio.to_thread(synthesise, text, VOICES[who])).tobytes()
        for start in range(0, len(pcm), CHUNK_BYTES):
            await send(pcm[start : start + CHUNK_BYTES])
        await send({"type": "flush"})
        await asyncio.sleep(len(pcm) / 2 / SAMPLE_RATE)

    return speak


async def watch_simulated_call(
    services: CallServices,
    seed: int,
    persona: str | None,
    sink: CardSink,
    between_turns: Callable[[], Awaitable[None]],
    speak: Callable[[str, str], Awaitable[None]] | None = None,
) -> None:
    """The call to the debtor of `seed` (of `persona`, or drawn from the seed), its cards going to `sink`."""
    who = simulated_debtor(seed, Persona(persona) if persona else None)
    call = who.controller(services, f"console-sim-{seed}-{new_event_id()[:8]}", sinks=(sink,))
    try:
        await talk(call, who, between_turns=between_turns, on_line=speak)
    finally:
        await call.close(OutcomeKind.INTERRUPTED, reason="stopped from the console")  # if still open
