"""The web console: `python -m agent_runtime web [--host 127.0.0.1] [--port 8080] [--policy SPEC] [--events PATH]`
`[--calls-from PATH|URL|database-url]` (the Calls view's store, by default the console's own events database).

One asyncio process serves the page, its WebSocket and a small JSON API with aiohttp, which livekit-agents already
depends on and which runs on the same event loop as the calls' AgentSessions (FastAPI and uvicorn would add two
dependencies and a second server model for no feature the console needs). Each tab's WebSocket carries one call at a
time (agent_runtime.web.console); the page is plain HTML and JavaScript with vendored, pinned libraries
(static/vendor, rebuilt by `make web-assets`): nothing is loaded from the internet.

Safe by default: it binds 127.0.0.1; another address needs CONSOLE_TOKEN, which every request then carries (the page
keeps it in a same-site cookie once opened as `/?token=...`). WebSocket messages are size-limited and validated; a bad
one closes that socket with the reason. At most CONSOLE_MAX_SESSIONS tabs at once; the next is told it is busy. The
Content-Security-Policy allows no inline script and no other origin. Logs name calls by id, never the debtor.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import ipaddress
import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import WSMsgType, web

from agent_runtime.cards import closed_card, opened_card, turn_card
from agent_runtime.contracts.events import CallClosed, CallOpened, TurnEvent
from agent_runtime.dst.tracker import DialogueStateTracker
from agent_runtime.logs import configure_logging
from agent_runtime.policy_source import PolicySource, load_policy
from agent_runtime.services import CallServices, event_outbox
from agent_runtime.settings import Settings, load_settings
from agent_runtime.web.console import ConsoleSession, VoiceStack
from agent_runtime.web.messages import MAX_AUDIO_MESSAGE_BYTES, PERSONAS, BadMessage, FactsForm, parse_message
from agent_runtime.web.runs import find_reports, find_runs

log = logging.getLogger("agent_runtime.web")
STATIC = Path(__file__).with_name("static")
TOKEN_COOKIE = "console_token"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
    "worker-src 'self' blob:; connect-src 'self' {livekit}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@dataclass
class ConsoleConfig:
    settings: Settings
    policy: str
    events: Path
    runs: list[Path] = field(default_factory=lambda: [Path("runs"), Path("docs/example-runs"), Path("results")])
    host: str = "127.0.0.1"
    calls_from: Path | str | None = None  # where the Calls view reads stored calls (a file or a URL); None: `events`

    @property
    def stored_calls(self) -> Path | str:
        return self.calls_from if self.calls_from is not None else self.events


def offered_policies(default: str) -> list[str]:
    """What the page may pick: the default checkpoint, the best-practice script and, where the checkpoint carries a
    world model of the next state, planning over it. Nothing else: the browser never names a file."""
    policies = [default, "scripted:best_practice"]
    path = default.partition("@")[0]
    if not default.startswith(("scripted:", "constant:", "random")) and "@" not in default:
        from policy.inference import load_weights

        world_model = load_weights(Path(path))[0].world_model
        if world_model is not None and world_model.predicts == "state":
            policies.append(f"{path}@tree:2")
    return list(dict.fromkeys(policies))


class Console:
    """What every tab shares: the policies, the DST, the outbox, the metrics, the voice models."""

    def __init__(self, config: ConsoleConfig):
        from livekit.plugins import silero  # noqa: F401  (livekit plugins register on the main thread only)
        from prometheus_client import CollectorRegistry

        from telemetry.metrics import RuntimeMetrics

        self.config = config
        self.policies = offered_policies(config.policy)
        self.sources: dict[str, PolicySource] = {}
        self.tracker = DialogueStateTracker(warm=True)
        self.registry = CollectorRegistry()
        self.metrics = RuntimeMetrics(self.registry)
        self.sessions: dict[web.WebSocketResponse, ConsoleSession | None] = {}  # None until the socket is open
        self.outbox = None
        self._voice: asyncio.Task | None = None

    def services(self, policy: str | None) -> CallServices:
        spec = policy or self.config.policy
        if spec not in self.policies:
            raise BadMessage(f"policy {spec!r} is not one the console offers")
        if spec not in self.sources:
            self.sources[spec] = load_policy(spec)
        return CallServices(self.sources[spec], self.tracker, self.metrics, sinks=(self.outbox,))

    async def voice(self) -> VoiceStack:
        """The VAD and recogniser (loaded once, off the event loop, on first use) and a voice per call."""
        if self._voice is None:
            self._voice = asyncio.create_task(asyncio.to_thread(self._load_voice))
        return await self._voice

    def _load_voice(self) -> VoiceStack:
        from livekit.plugins import silero

        from agent_runtime.speech.backends import SpeechSettings

        speech = SpeechSettings.of(self.config.settings)
        whisper = speech.load_local_models()
        vad = silero.VAD.load(min_silence_duration=0.2)
        return VoiceStack(vad, lambda: speech.speech_to_text(whisper), speech.text_to_speech)


CONSOLE = web.AppKey("console", Console)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@web.middleware
async def guard(request: web.Request, handler):
    """The token check (when one is configured) and the security headers of every response."""
    console = request.app[CONSOLE]
    token = console.config.settings.console_token
    set_cookie = None
    if token is not None:
        expected = token.get_secret_value()
        offered = (
            request.query.get("token")
            or request.headers.get("Authorization", "").removeprefix("Bearer ")
            or request.cookies.get(TOKEN_COOKIE, "")
        )
        if not hmac.compare_digest(offered.encode(), expected.encode()):
            raise web.HTTPUnauthorized(text="this console needs its token: open it as /?token=...")
        if request.query.get("token"):
            set_cookie = expected
    response = await handler(request)
    if response.prepared:  # a WebSocket: its headers are already sent
        return response
    if set_cookie is not None:
        response.set_cookie(TOKEN_COOKIE, set_cookie, httponly=True, samesite="Strict")
    livekit = console.config.settings.livekit_url or ""
    response.headers["Content-Security-Policy"] = CSP.format(livekit=livekit).replace(" ;", ";")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def config_view(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    return web.json_response(
        {
            "policies": console.policies,
            "default_policy": console.config.policy,
            "personas": list(PERSONAS),
            "facts": FactsForm().model_dump(),
            "livekit": console.config.settings.livekit_url is not None,
        }
    )


async def calls_view(request: web.Request) -> web.Response:
    from agent_runtime.events.store import recent_calls

    console = request.app[CONSOLE]
    calls = []
    # off the event loop: the calls' sessions share it, and a PostgreSQL store is a network round trip
    for opened, closed in await _stored(recent_calls, console.config.stored_calls):
        card = opened_card(opened)
        card["at"] = opened.at.isoformat()
        card["outcome"] = closed.outcome.kind.value if closed else None
        card["turns"] = closed.turns if closed else None
        calls.append(card)
    return web.json_response({"calls": calls})


async def _stored(read, *args):
    """A stored-calls reader in a thread; a database that cannot be reached answers 503, naming no URL."""
    try:
        return await asyncio.to_thread(read, *args)
    except ConnectionError:
        log.warning("the stored calls cannot be read: the events database is unavailable")
        raise web.HTTPServiceUnavailable(text="the events database is unavailable") from None


async def call_view(request: web.Request) -> web.Response:
    from agent_runtime.events.store import call_events

    events = await _stored(call_events, request.app[CONSOLE].config.stored_calls, request.match_info["call_id"])
    if not events:
        raise web.HTTPNotFound(text="no such call")
    cards = []
    for i, event in enumerate(events):
        if isinstance(event, CallOpened):
            cards.append(opened_card(event))
        elif isinstance(event, TurnEvent):
            cards.append(turn_card(event))
        elif isinstance(event, CallClosed):
            cards.append(closed_card(events[: i + 1]))
    return web.json_response({"cards": cards})


async def runs_view(request: web.Request) -> web.Response:
    roots = request.app[CONSOLE].config.runs
    runs, reports = await asyncio.to_thread(lambda: (find_runs(roots), find_reports(roots)))
    return web.json_response({"runs": runs, "reports": reports})


async def metrics_view(request: web.Request) -> web.Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    body = generate_latest(request.app[CONSOLE].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def livekit_token(request: web.Request) -> web.Response:
    """A token for this page to join a new room, with the `collector` agent dispatched into it."""
    from agent_runtime.web.livekit import room_token

    settings = request.app[CONSOLE].config.settings
    if settings.livekit_url is None or settings.livekit_api_key is None or settings.livekit_api_secret is None:
        raise web.HTTPNotFound(text="no LiveKit server configured (LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET)")
    form = FactsForm.model_validate(await request.json()) if request.can_read_body else FactsForm()
    return web.json_response(room_token(settings, form))


async def websocket(request: web.Request) -> web.WebSocketResponse:
    console = request.app[CONSOLE]
    socket = web.WebSocketResponse(max_msg_size=MAX_AUDIO_MESSAGE_BYTES, heartbeat=30)
    await socket.prepare(request)
    if len(console.sessions) >= console.config.settings.console_max_sessions:
        await socket.send_json({"kind": "busy", "text": "the console is busy: every session is in use, try later"})
        await socket.close(code=1013, message=b"busy")
        return socket
    console.sessions[socket] = None
    lock = asyncio.Lock()  # binary and text frames of one socket go out one at a time

    async def send(message: dict | bytes) -> None:
        if socket.closed:
            return
        async with lock:
            with contextlib.suppress(ConnectionResetError):
                await (socket.send_bytes(message) if isinstance(message, bytes) else socket.send_json(message))

    session = console.sessions[socket] = ConsoleSession(send, console.services, console.voice)
    try:
        async for message in socket:
            if message.type is WSMsgType.BINARY:
                if len(message.data) % 2:
                    await socket.close(code=1003, message=b"audio must be 16-bit PCM: an even number of bytes")
                    break
                session.audio(message.data)
            elif message.type is WSMsgType.TEXT:
                try:
                    await session.handle(parse_message(message.data))
                except BadMessage as exc:
                    await socket.close(code=1008, message=str(exc).encode()[:120])
                    break
    finally:
        console.sessions.pop(socket, None)
        await session.end("the page closed")
    return socket


def create_app(config: ConsoleConfig) -> web.Application:
    app = web.Application(middlewares=[guard], client_max_size=64 * 1024)
    console = Console(config)
    app[CONSOLE] = console

    async def outbox(app: web.Application):
        async with event_outbox(
            config.events, settings=config.settings, on_backlog=console.metrics.outbox_backlog.set
        ) as box:
            console.outbox = box
            yield  # the calls' events are flushed to the outbox before it closes

    async def goodbye(app: web.Application) -> None:
        """Shutdown waits for open handlers: close the pages' sockets, which ends their calls (`interrupted`)."""
        for socket in list(console.sessions):
            await socket.close(code=1001, message=b"the console is shutting down")

    app.cleanup_ctx.append(outbox)
    app.on_shutdown.append(goodbye)
    app.add_routes(
        [
            web.get("/", index),
            web.get("/ws", websocket),
            web.get("/api/config", config_view),
            web.get("/api/calls", calls_view),
            web.get("/api/calls/{call_id}", call_view),
            web.get("/api/runs", runs_view),
            web.post("/api/livekit/token", livekit_token),
            web.get("/metrics", metrics_view),
            web.static("/static", STATIC),
        ]
    )
    return app


def calls_source(option: str | None, settings: Settings) -> Path | str | None:
    """`--calls-from`: a postgresql:// URL stays a str; `database-url` means DATABASE_URL (no password on a command
    line); anything else is a SQLite file."""
    from agent_runtime.events.store import is_database_url

    if option == "database-url":
        url = settings.database_url
        if url is None:
            raise ValueError("--calls-from database-url: DATABASE_URL is not set")
        return url.get_secret_value()
    return option if option is None or is_database_url(option) else Path(option)


def check_config(config: ConsoleConfig) -> None:
    if not _loopback(config.host) and config.settings.console_token is None:
        raise ValueError(f"the console would listen on {config.host}, beyond this machine: set CONSOLE_TOKEN first")
    load_policy(config.policy)  # a bad checkpoint fails here, not in the first call


def main(args: argparse.Namespace) -> int:
    configure_logging()
    settings = load_settings()
    config = ConsoleConfig(
        settings=settings,
        policy=args.policy or settings.policy_checkpoint,
        events=args.events or settings.events_db,
        calls_from=calls_source(getattr(args, "calls_from", None), settings),
        host=args.host,
    )
    if args.runs:
        config.runs = list(args.runs)
    check_config(config)
    print(f"web console on http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    asyncio.run(serve(create_app(config), args.host, args.port, settings.drain_seconds))
    return 0


async def serve(app: web.Application, host: str, port: int, drain_seconds: float) -> None:
    """Serve until SIGTERM or SIGINT; then take no new page, let the calls in progress run up to `drain_seconds`
    (their pages stay connected, so a debtor can finish), and shut down, which closes what is left."""
    # no access log: request lines can carry the console token, and logs must not hold what a call says
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
        await site.stop()  # no new connection; the open pages keep theirs
        deadline = loop.time() + drain_seconds
        sessions = app[CONSOLE].sessions
        while any(s is not None and s.in_call for s in sessions.values()) and loop.time() < deadline:
            await asyncio.sleep(0.1)
    finally:
        await runner.cleanup()
