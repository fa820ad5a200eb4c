"""Calls in a LiveKit room from the console page: a token to join a new room with the `collector` agent dispatched.

The page joins with livekit-client, publishes its microphone and renders the turn cards the worker publishes on the
room's `CARD_TOPIC` text stream (agent_runtime.cards). The job's metadata is the call facts from the page's form.
"""

from __future__ import annotations

from datetime import date

from livekit import api

from agent_runtime.contracts.events import new_event_id
from agent_runtime.settings import Settings
from agent_runtime.web.messages import FactsForm

AGENT_NAME = "collector"  # the worker's rtc_session agent_name


def room_token(settings: Settings, form: FactsForm) -> dict:
    room = f"call-{new_event_id()[:12]}"
    facts = form.facts(date.today()).model_dump_json()
    token = (
        api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret.get_secret_value())
        .with_identity(f"console-{new_event_id()[:8]}")
        .with_name("console")
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .with_room_config(api.RoomConfiguration(agents=[api.RoomAgentDispatch(agent_name=AGENT_NAME, metadata=facts)]))
        .to_jwt()
    )
    return {"url": settings.livekit_url, "room": room, "token": token}
