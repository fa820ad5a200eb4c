"""`python -m agent_runtime dispatch --calls ACCOUNTS.jsonl [--events DB|URL] [--dry-run]`: dial a campaign.

Each line of ACCOUNTS.jsonl is one account's call facts (facts.v4: with `account_id` and `phone_number`). Every
account passes the campaign rules first (agent_runtime.campaign: do-not-contact list, account flags, permitted hours,
Regulation F's frequency limits, read from the events store `--events`, default EVENTS_DB or DATABASE_URL); the
ones allowed get a LiveKit agent dispatch (agent `collector`, a new room, the job's metadata = the call facts as
JSON) and an outbound SIP participant in that room on the configured trunk (SIP_TRUNK_ID), which rings the number.
Each placed call counts as an attempt for the rest of the run. Printed: one line per account (by account id, never
its number), then the totals; exit 0 once every account was decided, 2 on a bad file or setting.

Nothing is sent with --dry-run (the requests are built and described). No LiveKit server or SIP trunk exists on the
development machines: the tests check the rules and the requests built, not a call placed.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from agent_runtime.campaign import ContactHistory, refusal
from agent_runtime.contracts.facts import CallFacts

AGENT_NAME = "collector"  # agent_runtime.worker's rtc_session


@dataclass(frozen=True)
class Dispatch:
    """What one allowed call sends to LiveKit."""

    room: str
    agent: object  # livekit.api.CreateAgentDispatchRequest
    dial: object | None  # livekit.api.CreateSIPParticipantRequest, None without a trunk


def requests_for(facts: CallFacts, trunk: str | None) -> Dispatch:
    from livekit import api

    room = f"call-{facts.account_id}-{secrets.token_hex(4)}"
    agent = api.CreateAgentDispatchRequest(agent_name=AGENT_NAME, room=room, metadata=facts.model_dump_json())
    dial = None
    if trunk:
        dial = api.CreateSIPParticipantRequest(
            sip_trunk_id=trunk,
            sip_call_to=facts.phone_number,
            room_name=room,
            participant_identity=f"debtor-{facts.account_id}",
            wait_until_answered=False,
        )
    return Dispatch(room, agent, dial)


def read_accounts(path: Path) -> list[CallFacts]:
    accounts = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            accounts.append(CallFacts.model_validate_json(line))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ValueError(f"{path}:{number}: {first['msg']} at {'.'.join(map(str, first['loc']))}") from None
    return accounts


def plan(
    accounts: list[CallFacts], history: ContactHistory, now: datetime, identity_key: bytes, trunk: str | None
) -> tuple[list[tuple[CallFacts, Dispatch]], list[tuple[CallFacts, str]]]:
    """(the calls to place, the accounts refused with why), in the file's order."""
    allowed, refused = [], []
    for facts in accounts:
        reason = refusal(facts, now, history, identity_key)
        if reason:
            refused.append((facts, reason))
            continue
        allowed.append((facts, requests_for(facts, trunk)))
        history.placed(facts.account_id, now)  # this run's own calls count against the limits
    return allowed, refused


async def send(dispatches: list[Dispatch], url: str, key: str, secret: str) -> None:
    from livekit import api

    async with api.LiveKitAPI(url, key, secret) as client:
        for dispatch in dispatches:
            await client.agent_dispatch.create_dispatch(dispatch.agent)
            if dispatch.dial is not None:
                await client.sip.create_sip_participant(dispatch.dial)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--calls", type=Path, required=True, help="accounts to call: one call-facts JSON per line")
    parser.add_argument("--events", help="events store for the rules (default: DATABASE_URL, else EVENTS_DB)")
    parser.add_argument("--dry-run", action="store_true", help="decide and build the requests; send nothing")


def main(args: argparse.Namespace) -> int:
    from agent_runtime.settings import SettingsError, load_settings

    try:
        settings = load_settings()
        key = settings.identity_key()
        if key is None:
            raise ValueError("set EVENTS_IDENTITY_KEY: the do-not-contact list matches numbers by keyed reference")
        if not args.dry_run and not (settings.livekit_url and settings.livekit_api_key and settings.livekit_api_secret):
            raise ValueError("set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET, or pass --dry-run")
        accounts = read_accounts(args.calls)
        history = ContactHistory.read(args.events or settings.central_store())
    except (SettingsError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    allowed, refused = plan(accounts, history, datetime.now(UTC), key, settings.sip_trunk_id)
    verb = "would dispatch" if args.dry_run else "dispatched"
    for facts, dispatch in allowed:
        dialling = ", dialling" if dispatch.dial else ", no SIP trunk"
        print(f"{verb} {facts.account_id}: room {dispatch.room}{dialling}")
    for facts, reason in refused:
        print(f"refused {facts.account_id}: {reason}")
    if allowed and not args.dry_run:
        secret = settings.livekit_api_secret.get_secret_value()
        asyncio.run(send([d for _, d in allowed], settings.livekit_url, settings.livekit_api_key, secret))
    print(f"{len(allowed)} {verb}, {len(refused)} refused of {len(accounts)} accounts")
    return 0

