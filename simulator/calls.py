"""Simulated debtors on the phone: a seeded debtor talks to the agent's own `CallController`, in text.

The debtor of seed `s` is the one `DebtorEnv.reset(seed=s)` draws (the same generator, the same draws in the same
order), so a simulated call and a training episode of the same seed meet the same person. Before the debtor, the
call meets whoever picks up (simulator.contact: sometimes someone else, a wrong number or an answering machine),
drawn from a separate stream. The controller owns the call and its events; the simulated people only supply the
words. `simulate --text`, `training.call_log` and the demo run their calls through `talk`; the voice simulation
speaks the same words through the audio path instead, with `next_line` choosing who says what.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from agent_runtime.call import CallController
from agent_runtime.contracts.events import TurnEvent
from agent_runtime.contracts.facts import CallFacts
from agent_runtime.contracts.guard import CONTACT_RULES, GuardRule
from agent_runtime.contracts.stages import LatencyStage
from agent_runtime.engine import Decision
from agent_runtime.nlg import describe_terms
from agent_runtime.services import CallServices
from simulator.contact import Answerer, PhoneAnswerer, contact_stream, draw_contact
from simulator.debtor import Reply, SimulatedDebtor
from simulator.personas import SIMULATION_EPOCH, DebtorTraits, Persona, sample_debtor


@dataclass(frozen=True)
class SimulatedDebtorCall:
    """Who is called: the debtor's hidden traits, the call facts the agent gets, and the debtor who answers."""

    seed: int
    traits: DebtorTraits
    facts: CallFacts
    debtor: SimulatedDebtor
    answerer: PhoneAnswerer  # who picks up: the debtor, or someone (something) else

    def next_line(self, event: TurnEvent | None) -> Reply:
        """What is said after the agent's turn `event` (None: after the opening): the contact phase's answers, then,
        once the disclosure has been given, the debtor's (who says a line again when asked, and confirms terms)."""
        rule = event.guard_rule if event is not None else None
        if event is None or (rule in CONTACT_RULES and rule is not GuardRule.DISCLOSURE):
            return self.answerer.reply(rule)
        if rule is GuardRule.DISCLOSURE:
            return self.debtor.opening()
        if rule in (GuardRule.ASK_AGAIN, GuardRule.ASK_AMOUNT):
            return self.debtor.repeat()
        if rule is GuardRule.CONFIRM_TERMS:
            return self.debtor.confirm(event.offer)
        return self.debtor.respond(decision_of(event))

    def controller(self, services: CallServices, call_id: str, **options) -> CallController:
        """The agent's call to this debtor, as the process's services build every call: on the simulation's
        calendar, seeded by the debtor's seed, with the hidden persona recorded (never shown to the policy)."""
        persona = self.traits.persona.value
        return services.new_call(
            self.facts, today=SIMULATION_EPOCH, channel="simulated", call_id=call_id, seed=self.seed, persona=persona,
            **options,
        )


def simulated_debtor(
    seed: int, persona: Persona | None = None, stt_noise: float = 0.0, *, reached: bool = False
) -> SimulatedDebtorCall:
    """The call of `seed`; `reached` makes the debtor answer (no third party, wrong number or voicemail)."""
    rng, contact_rng = np.random.default_rng(seed), contact_stream(seed)
    traits, facts = sample_debtor(rng, persona)
    answered_by, zip_code = draw_contact(contact_rng)
    if reached:
        answered_by = Answerer.DEBTOR
    facts = facts.model_copy(update={"zip_code": zip_code})
    answerer = PhoneAnswerer(answered_by, facts.first_name, zip_code, contact_rng, stt_noise)
    return SimulatedDebtorCall(seed, traits, facts, SimulatedDebtor(traits, facts.balance, rng, stt_noise), answerer)


def decision_of(event: TurnEvent) -> Decision:
    """What the debtor reacts to: the executed strategy and its concrete terms, as the turn event recorded them."""
    return Decision(event.proposed_action, event.executed_action, event.guard_rule, event.offer)


def describe_turn(event: TurnEvent) -> str:
    """`[strategy, guard rule]` of one turn, for transcripts (the contact phase and closings have no strategy)."""
    parts = [event.executed_action.label] if event.executed_action is not None else []
    if event.ends_call and event.executed_action is None:
        parts.append("close")
    if event.guard_rule:
        parts.append(f"guard {event.guard_rule.value}")
    return ", ".join(parts)


def describe_reading(event: TurnEvent) -> str:
    """What the DST read from the debtor's words (the demo's explanation)."""
    if not event.user_text.strip():
        return "(hung up)"
    reading = event.dst
    amount = f"${reading.amount:,.0f}" if reading.amount is not None else "-"
    flags = ",".join(sorted(f.value for f in reading.flags)) or "-"
    period = reading.period.value if reading.period else "-"
    return f"{reading.intent.value} sentiment {reading.sentiment:+.2f} amount {amount} period {period} flags {flags}"


def heard_line(reply: Reply) -> str:
    return f"debtor: {reply.text}" + (" [hangs up]" if reply.hang_up else "")


async def talk(
    call: CallController,
    who: SimulatedDebtorCall,
    *,
    explain: bool = False,
    between_turns: Callable[[], Awaitable[None]] | None = None,
    on_line: Callable[[str, str], Awaitable[None]] | None = None,
) -> list[str]:
    """Run the call in text until it ends; the transcript (with the DST's reading of every debtor line and the offer
    terms when `explain`). No timings in it: the same seed gives the same transcript. `between_turns` is awaited
    after each reply before the debtor answers (a pace for people watching); `on_line(speaker, text)` hears every
    line as it is said ("agent" or "debtor"), to speak it aloud."""
    opening = await call.open()
    lines = [f"agent : {opening}"]
    if on_line is not None:
        await on_line("agent", opening)
    heard = who.next_line(None)
    while True:
        lines.append(heard_line(heard))
        if on_line is not None and heard.text:
            await on_line("debtor", heard.text)
        reply = await call.respond(heard.text, hang_up=heard.hang_up)
        event = reply.event
        # No audio: the debtor's last word to the agent's first is the engine's time (DST, policy, guard, NLG).
        call.record_latency(LatencyStage.E2E, event.latencies_ms[LatencyStage.ENGINE])
        if explain:
            lines.append(f"  DST : {describe_reading(event)}")
        if reply.text:
            lines.append(f"agent : [{describe_turn(event)}] {reply.text}")
            if on_line is not None:
                await on_line("agent", reply.text)
        if explain and event.offer is not None:
            lines.append(f"  offer: {event.offer.kind.value}, {describe_terms(event.offer)}")
        if reply.ends_call:
            return lines
        if between_turns is not None:
            await between_turns()
        heard = who.next_line(event)
