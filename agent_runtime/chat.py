"""A scripted text call: `python -m agent_runtime chat [--facts JSON] [--policy SPEC] [--events PATH]`.

Reads the debtor's lines from stdin, one utterance per line, and prints one JSON object per agent turn on stdout:
the opening first, then the reply to each line, with `text`, `executed_action`, `proposed_action`, `guard_rule`,
`offer`, `ends_call`, and `outcome` on the last one. It drives the same CallController as every other path (the
events go to the outbox), so a compliance scenario written as a text file can be replayed by anyone. The call ends
when the agent closes it; at the end of the input an open call ends as a hang-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date
from pathlib import Path

from agent_runtime.contracts.facts import CallFacts
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.policy_source import load_policy
from agent_runtime.services import CallServices, event_outbox
from agent_runtime.settings import load_settings

DEFAULT_FACTS = CallFacts(
    debtor_name="Sam Rivera",
    balance=1200.0,
    days_overdue=90,
    due_date=date(2025, 10, 1),
    timezone="America/Chicago",
    creditor="Northwind Bank",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--facts", help="the call facts as JSON (default: CALL_FACTS, else a sample account)")
    parser.add_argument("--policy", help="policy spec (default: POLICY_CHECKPOINT)")
    parser.add_argument("--events", type=Path, help="events database (default: EVENTS_DB)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the wording's paraphrase choice")


def _turn(text: str, event=None, outcome=None) -> dict:
    line = {"text": text, "executed_action": None, "proposed_action": None, "guard_rule": None, "offer": None}
    if event is not None:
        line.update(
            executed_action=event.executed_action.label if event.executed_action is not None else None,
            proposed_action=event.proposed_action.label if event.proposed_action is not None else None,
            guard_rule=event.guard_rule.value if event.guard_rule else None,
            offer=event.offer.model_dump(mode="json") if event.offer else None,
            heard=event.user_text,
            intent=event.dst.intent.value,
        )
    line["ends_call"] = outcome is not None
    if outcome is not None:
        line["outcome"] = outcome.kind.value
    return line


async def chat(args: argparse.Namespace, lines, out) -> int:
    from prometheus_client import CollectorRegistry

    from telemetry.metrics import RuntimeMetrics

    settings = load_settings()
    facts = CallFacts.model_validate_json(args.facts) if args.facts else settings.call_facts or DEFAULT_FACTS
    policy = load_policy(args.policy or settings.policy_checkpoint)
    async with event_outbox(args.events or settings.events_db, settings=settings) as outbox:
        services = CallServices(
            policy, DialogueStateTracker(warm=True), RuntimeMetrics(CollectorRegistry()), sinks=(outbox,)
        )
        call = services.new_call(facts, today=date.today(), channel="text", seed=args.seed)
        print(json.dumps(_turn(await call.open())), file=out, flush=True)
        for line in lines:
            reply = await call.respond(line.rstrip("\n"))
            print(json.dumps(_turn(reply.text, reply.event, call.engine.outcome)), file=out, flush=True)
            if reply.ends_call:
                return 0
        await call.hang_up()  # the input ended: the debtor left
        if call.last_event is not None and call.last_event.ends_call:
            print(json.dumps(_turn("", call.last_event, call.engine.outcome)), file=out, flush=True)
    return 0


def main(args: argparse.Namespace) -> int:
    return asyncio.run(chat(args, sys.stdin, sys.stdout))
