"""The web console (python -m agent_runtime web) in a real browser: Debian's Chromium driven by Playwright, with a
fake microphone fed from a WAV file; and its WebSocket, security and LiveKit parts without a browser."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import wave
from html.parser import HTMLParser
from pathlib import Path

import jwt
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from agent_runtime.contracts.actions import ACTION_NAMES
from agent_runtime.events.store import read_events
from agent_runtime.web.messages import PERSONAS
from simulator.personas import Persona
from tests.services import free_port, wait_for_port

CHROMIUM = "/usr/bin/chromium"
BROWSER_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
SPOKEN = "I lost my job, I can only pay fifty dollars a month."


class Console:
    """`python -m agent_runtime web` on a free port, stopped by PID."""

    def __init__(self, tmp_path: Path, port: int | None = None, **environment: str):
        self.port = port or free_port()
        self.events = tmp_path / "events.db"
        self.log = tmp_path / f"console-{self.port}.log"
        self.environment = environment
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *options: str) -> Console:
        # calls still open when a test stops the console wait one second, not the default minute
        env = {**os.environ, "EVENTS_DB": str(self.events), "DRAIN_SECONDS": "1", **self.environment}
        command = [sys.executable, "-m", "agent_runtime", "web", "--port", str(self.port), *options]
        self.process = subprocess.Popen(command, env=env, stdout=self.log.open("a"), stderr=subprocess.STDOUT)
        wait_for_port(self.port, timeout=60)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where the views' screenshots go: CONSOLE_SCREENSHOTS=docs/console refreshes the committed ones."""
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def console(tmp_path):
    server = Console(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def playwright_driver():
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver) -> Browser:
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS)
    yield browser
    browser.close()


def open_console(browser: Browser, url: str) -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(url)
    expect(page.get_by_test_id("connection")).to_have_text(re.compile("connected"), timeout=20_000)
    return page


def agent_audio_bytes(page: Page) -> int:
    return int(page.evaluate("document.body.dataset.agentAudioBytes || 0"))


def wait_for_agent_audio(page: Page, more_than: int, timeout_s: float = 30) -> int:
    """Poll (the page's CSP forbids the eval that page.wait_for_function needs) until more agent audio arrived."""
    deadline = time.monotonic() + timeout_s
    while (received := agent_audio_bytes(page)) <= more_than:
        assert time.monotonic() < deadline, f"agent audio: {received} bytes, waited for more than {more_than}"
        page.wait_for_timeout(100)
    return received


def say(page: Page, text: str) -> None:
    page.get_by_test_id("text-input").fill(text)
    page.get_by_test_id("send-text").click()


def test_a_typed_call_shows_every_turn_and_a_cease_request_ends_it(console, browser, shots):
    page = open_console(browser, console.url)
    page.check("input[name=mode][value=text]")
    page.get_by_test_id("start-call").click()
    expect(page.get_by_test_id("agent-line")).to_contain_text("Jordan")
    expect(page.get_by_test_id("agent-line")).not_to_contain_text("debt")  # not before the debtor is verified
    say(page, "Yes, speaking.")
    verified = page.get_by_test_id("turn-card").first
    expect(verified.get_by_test_id("reply")).to_contain_text("attempt to collect a debt")
    expect(verified.get_by_test_id("guard-rule")).to_contain_text("disclosure")
    say(page, SPOKEN)
    card = page.get_by_test_id("turn-card").nth(1)
    expect(card.get_by_test_id("heard")).to_have_text(SPOKEN)
    expect(card.get_by_test_id("intent")).to_have_text(re.compile("^(willing|hardship)$"))
    expect(card.get_by_test_id("amount")).to_have_text("50")
    bars = card.get_by_test_id("q-values").locator("li")
    expect(bars).to_have_count(9)
    assert [bars.nth(i).get_attribute("data-action") for i in range(9)] == list(ACTION_NAMES)
    assert all(np.isfinite(float(bars.nth(i).get_attribute("data-q"))) for i in range(9))
    executed = card.get_by_test_id("executed-action").inner_text()
    assert executed.replace(" ", "_") in ACTION_NAMES
    expect(card.get_by_test_id("expected-reply")).to_contain_text(re.compile(r"expects to hear .+ \d+ % · call ends"))
    expect(card.get_by_test_id("latency")).to_contain_text("engine")
    expect(page.get_by_test_id("state-strip").locator(".feature")).to_have_count(64)
    page.screenshot(path=str(shots / "talk-text.png"))
    say(page, "stop calling me")
    outcome = page.get_by_test_id("call-outcome")
    expect(outcome).to_have_attribute("data-outcome", "cease")
    expect(page.get_by_test_id("turn-card").nth(2).get_by_test_id("reply")).to_contain_text(
        re.compile("stop calling you|not receive further calls")
    )
    expect(page.get_by_test_id("turn-card").nth(2).get_by_test_id("guard-rule")).to_contain_text("cease request")
    expect(outcome).to_contain_text("return")
    expect(page.get_by_test_id("text-input")).to_be_disabled()
    page.close()
    events = list(read_events(console.events))
    assert [e.type for e in events].count("call_closed") == 1
    stored = [e.user_text for e in events if e.type == "turn"]  # redacted by default: the amount is a number
    assert stored == ["Yes, speaking.", SPOKEN.replace("fifty", "[number]"), "stop calling me"]


@pytest.fixture(scope="module")
def fake_microphone(tmp_path_factory) -> Path:
    """14 s of silence (the agent's opening plays meanwhile), "yes, speaking", 18 s for the disclosure, the debtor's
    line, then silence."""
    from agent_runtime.voice_sim import synthesise

    path = tmp_path_factory.mktemp("microphone") / "debtor.wav"
    silence = [np.zeros(16_000 * seconds, np.int16) for seconds in (14, 18, 15)]
    pcm = np.concatenate([silence[0], synthesise("Yes, speaking."), silence[1], synthesise(SPOKEN), silence[2]])
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(16_000)
        file.writeframes(pcm.tobytes())
    return path


def test_a_spoken_line_is_heard_valued_and_answered_aloud(console, playwright_driver, fake_microphone, shots):
    flags = [*BROWSER_FLAGS, f"--use-file-for-fake-audio-capture={fake_microphone}%noloop"]
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=flags)
    try:
        page = open_console(browser, console.url)
        page.get_by_test_id("start-call").click()  # voice is the default
        expect(page.get_by_test_id("mic-toggle")).to_have_attribute("aria-pressed", "true")
        expect(page.get_by_test_id("agent-line")).to_contain_text("Jordan")
        opening_bytes = wait_for_agent_audio(page, 32_000)
        verified = page.get_by_test_id("turn-card").first
        expect(verified.get_by_test_id("guard-rule")).to_contain_text("disclosure", timeout=40_000)
        card = page.get_by_test_id("turn-card").nth(1)
        expect(card.get_by_test_id("heard")).to_contain_text(re.compile("lost my job", re.IGNORECASE), timeout=60_000)
        expect(card.get_by_test_id("amount")).to_have_text("50")
        expect(card.get_by_test_id("intent")).not_to_be_empty()
        expect(card.get_by_test_id("q-values").locator("li")).to_have_count(9)
        expect(card.get_by_test_id("latency")).to_contain_text("stt")
        # the page times the first agent audio after the debtor's last speech: the reply's audio reached it
        deadline = time.monotonic() + 20
        while len(latencies := page.evaluate("window.consoleStats.latenciesMs")) < 2 and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert agent_audio_bytes(page) > opening_bytes
        assert len(latencies) == 2 and all(0 < latency < 5000 for latency in latencies)  # the disclosure, the reply
        page.screenshot(path=str(shots / "talk-voice.png"))
        page.get_by_test_id("end-call").click()
        expect(page.get_by_test_id("end-call")).to_be_disabled()
    finally:
        browser.close()
    closed = [e for e in read_events(console.events) if e.type == "call_closed"]
    assert len(closed) == 1 and closed[0].outcome.kind.value == "interrupted"


def test_the_page_says_when_the_server_goes_away_and_when_it_is_back(tmp_path, browser):
    server = Console(tmp_path).start()
    try:
        page = open_console(browser, server.url)
        server.stop()
        expect(page.get_by_test_id("connection")).to_contain_text("connection lost", timeout=10_000)
        server.start()
        expect(page.get_by_test_id("connection")).to_have_text("reconnected", timeout=20_000)
        page.close()
    finally:
        server.stop()


def test_a_tab_past_the_session_limit_is_told_the_console_is_busy(tmp_path, browser):
    server = Console(tmp_path, CONSOLE_MAX_SESSIONS="1").start()
    try:
        first = open_console(browser, server.url)
        second = browser.new_page()
        second.goto(server.url)
        expect(second.get_by_test_id("connection")).to_contain_text("busy", timeout=10_000)
        expect(first.get_by_test_id("connection")).to_have_text("connected")
        second.close()
        first.close()
    finally:
        server.stop()


def test_a_watched_simulated_call_reveals_the_hidden_persona_at_its_end(console, browser, shots):
    page = open_console(browser, console.url)
    page.get_by_test_id("tab-simulated").click()
    page.select_option("[data-testid=sim-persona]", "angry")
    page.fill("#sim-form [name=seed]", "3")
    page.get_by_test_id("sim-pace").fill("0")
    page.get_by_test_id("start-simulated").click()
    outcome = page.locator("#sim-cards [data-testid=call-outcome]")
    expect(outcome).to_contain_text("hidden persona: angry", timeout=20_000)
    assert page.locator("#sim-cards [data-testid=turn-card]").count() >= 1
    page.screenshot(path=str(shots / "simulated.png"))
    page.close()
    (opened,) = [e for e in read_events(console.events) if e.type == "call_opened"]
    assert opened.channel == "simulated" and opened.persona == "angry"


def test_a_watched_simulated_call_can_be_heard(console, browser):
    page = open_console(browser, console.url)
    page.get_by_test_id("tab-simulated").click()
    page.get_by_test_id("sim-audio").check()
    page.get_by_test_id("sim-pace").fill("0")
    page.get_by_test_id("start-simulated").click()
    wait_for_agent_audio(page, 64_000)
    expect(page.locator("#sim-cards [data-testid=turn-card]").first).to_be_visible(timeout=30_000)
    page.get_by_test_id("stop-simulated").click()
    expect(page.locator("#sim-cards [data-testid=call-outcome]")).to_be_visible()
    page.close()


def test_stored_calls_and_training_charts(console, browser, shots):
    page = open_console(browser, console.url)
    page.check("input[name=mode][value=text]")
    page.get_by_test_id("start-call").click()
    say(page, "stop calling me")
    expect(page.get_by_test_id("call-outcome")).to_be_visible()
    page.get_by_test_id("tab-calls").click()
    rows = page.get_by_test_id("call-row")
    expect(rows).to_have_count(1)
    rows.first.click()
    expect(page.locator("#call-cards [data-testid=call-outcome]")).to_have_attribute("data-outcome", "cease")
    page.screenshot(path=str(shots / "calls.png"))
    page.get_by_test_id("tab-training").click()
    expect(page.locator("#training .uplot").first).to_be_visible(timeout=20_000)
    assert page.locator("#training .heatmap td").count() > 0  # actions per persona of the example runs
    page.screenshot(path=str(shots / "training.png"), full_page=True)
    page.close()


def test_the_livekit_room_path_renders_the_workers_cards(console, browser):
    """No LiveKit server runs here: the page's handling of a card from the room's text stream."""
    page = open_console(browser, console.url)
    card = {"kind": "turn", "call_id": "room-1", "turn": 0, "heard": "who is this", "stt_confidence": None,
            "dst": {"intent": "question", "sentiment": 0.0, "amount": None, "period": None, "flags": [],
                    "confidence": 0.9},
            "q_values": [{"action": name, "q": float(i)} for i, name in enumerate(ACTION_NAMES)],
            "proposed": "gentle_urgency", "executed": "gentle_urgency", "guard_rule": None, "overridden": False,
            "offer": None, "reply": "Hello.", "latency_ms": {"engine": 1.0}, "state": {}, "ends_call": False,
            "interrupted_reply": {"heard_ms": 1250.0, "heard_text": "Hello, this is Jordan"}}
    page.evaluate(
        """async (text) => {
            const { handleCardText } = await import("/static/livekit.js");
            const { renderCard } = await import("/static/cards.js");
            handleCardText(text, (card) => document.querySelector("#talk-cards").append(renderCard(card)));
        }""",
        json.dumps(card),
    )
    rendered = page.get_by_test_id("turn-card")
    expect(rendered.get_by_test_id("heard")).to_have_text("who is this")
    expect(rendered.locator("[data-action=gentle_urgency].executed")).to_have_count(1)
    expect(rendered.get_by_test_id("interrupted-reply")).to_have_text(
        'spoke over the agent: its line stopped at 1.3 s after "Hello, this is Jordan"'
    )
    page.close()


# ------------------------------------------------------------------------------------------ without a browser


class _Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.inline: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and "src" not in names:
            self.inline.append(tag)
        self.handlers += [name for name in names if name.startswith("on")]


def test_the_page_has_no_inline_script_and_a_strict_content_security_policy(console):
    import urllib.request

    with urllib.request.urlopen(console.url) as response:
        policy = response.headers["Content-Security-Policy"]
        page = response.read().decode()
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    scripts = _Scripts()
    scripts.feed(page)
    assert scripts.inline == [] and scripts.handlers == []


def test_a_console_beyond_loopback_needs_a_token_and_every_request_carries_it(tmp_path):
    refused = subprocess.run(
        [sys.executable, "-m", "agent_runtime", "web", "--host", "0.0.0.0", "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, env={**os.environ, "EVENTS_DB": str(tmp_path / "e.db")},
    )
    assert refused.returncode == 2 and "CONSOLE_TOKEN" in refused.stderr
    token = "s3cret-console-token"
    server = Console(tmp_path, CONSOLE_TOKEN=token).start("--host", "0.0.0.0")
    try:
        import urllib.error
        import urllib.request

        for path in ("/", "/api/config", "/static/app.js", "/ws"):
            with pytest.raises(urllib.error.HTTPError) as denied:
                urllib.request.urlopen(server.url + path)
            assert denied.value.code == 401
        with urllib.request.urlopen(f"{server.url}/?token={token}") as response:
            cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        request = urllib.request.Request(server.url + "/api/config", headers={"Cookie": cookie.split(";")[0]})
        assert json.load(urllib.request.urlopen(request))["personas"] == list(PERSONAS)
    finally:
        server.stop()
    assert token not in server.log.read_text()


def test_server_logs_name_calls_by_id_not_by_debtor(console, browser):
    page = open_console(browser, console.url)
    page.fill("#call-form [name=debtor_name]", "Zebulon Quintavalle")
    page.check("input[name=mode][value=text]")
    page.get_by_test_id("start-call").click()
    say(page, "my card is 4111 1111 1111 1111")
    expect(page.get_by_test_id("turn-card")).to_have_count(1)
    page.close()
    time.sleep(0.5)
    log = console.log.read_text()
    without_ids = re.sub(r"\b[0-9a-f]{32}\b", "<call id>", log)  # a random hex id may hold "4111" by chance
    assert "console call" in log and "Zebulon" not in log and "4111" not in without_ids


def test_the_console_offers_the_simulators_personas():
    assert list(PERSONAS) == [persona.value for persona in Persona]


def test_room_tokens_dispatch_the_agent_with_the_call_facts():
    from agent_runtime.settings import load_settings
    from agent_runtime.web.livekit import AGENT_NAME, room_token
    from agent_runtime.web.messages import FactsForm

    settings = load_settings(
        livekit_url="ws://127.0.0.1:7880", livekit_api_key="devkey", livekit_api_secret="secret" * 6
    )
    issued = room_token(settings, FactsForm(debtor_name="Ada Moss", balance=640))
    claims = jwt.decode(issued["token"], "secret" * 6, algorithms=["HS256"])
    assert issued["url"] == "ws://127.0.0.1:7880" and claims["video"]["room"] == issued["room"]
    assert claims["video"]["roomJoin"] is True and claims["iss"] == "devkey"
    (dispatch,) = claims["roomConfig"]["agents"]
    assert dispatch["agentName"] == AGENT_NAME == "collector"
    assert json.loads(dispatch["metadata"])["debtor_name"] == "Ada Moss"
