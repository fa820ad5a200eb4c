// The console page: one WebSocket to the server carries the calls (JSON messages and 16 kHz PCM audio); the views
// render the turn cards the server sends. No framework: the DOM, two audio worklets and uPlot for the charts.
import { renderCard, renderState } from "/static/cards.js";
import { renderTraining } from "/static/training.js";

const $ = (selector, root = document) => root.querySelector(selector);
const stats = { latenciesMs: [], speechEndedAt: null, awaitingReply: false }; // read by the browser benchmark
window.consoleStats = stats;

// ---------------------------------------------------------------- the connection
let socket = null;
let config = null;
let retryMs = 1000;
let everConnected = false;
const handlers = [];

function status(text, kind = "") {
  const line = $("#connection");
  line.textContent = text;
  line.className = kind;
}

function connect() {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => {
    status(everConnected ? "reconnected" : "connected", "ok");
    everConnected = true;
    retryMs = 1000;
  };
  socket.onmessage = (event) => {
    if (event.data instanceof ArrayBuffer) return audio.play(event.data);
    const message = JSON.parse(event.data);
    if (message.kind === "busy") {
      status(message.text, "error");
      retryMs = 10000;
      return;
    }
    if (message.kind === "clear" || message.type === "clear") return audio.clear();
    if (message.type === "flush") return audio.flush();
    if (message.type === "pause" || message.type === "resume") return audio.hold(message.type);
    handlers.forEach((handle) => handle(message));
  };
  socket.onclose = (event) => {
    if (event.code !== 1013) status(`connection lost (${event.reason || event.code}): reconnecting…`, "error");
    setCallActive(false);
    setTimeout(connect, retryMs);
  };
}

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

// ---------------------------------------------------------------- audio: microphone in, agent's voice out
const audio = {
  context: null,
  player: null,
  micNode: null,
  micStream: null,
  micOn: false,

  async start() {
    if (this.context) return;
    this.context = new AudioContext();
    await this.context.audioWorklet.addModule("/static/mic-worklet.js");
    await this.context.audioWorklet.addModule("/static/player-worklet.js");
    this.player = new AudioWorkletNode(this.context, "player", { outputChannelCount: [1] });
    this.player.connect(this.context.destination);
    this.player.port.onmessage = (event) => {
      if (event.data === "drained") send({ type: "played" });
    };
    await this.context.resume();
  },

  async microphone(on) {
    await this.start();
    if (on && !this.micStream) {
      this.micStream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, channelCount: 1 },
      });
      const source = this.context.createMediaStreamSource(this.micStream);
      this.micNode = new AudioWorkletNode(this.context, "microphone");
      this.micNode.port.onmessage = (event) => this.captured(event.data);
      source.connect(this.micNode);
    }
    this.micOn = on;
  },

  captured(buffer) {
    if (!this.micOn || !socket || socket.readyState !== WebSocket.OPEN) return;
    const samples = new Int16Array(buffer);
    let energy = 0;
    for (let i = 0; i < samples.length; i++) energy += samples[i] * samples[i];
    if (Math.sqrt(energy / samples.length) > 300) {
      // speech in this block: the reply's latency is measured from the last such block
      stats.speechEndedAt = performance.now();
      stats.awaitingReply = true;
    }
    socket.send(buffer);
  },

  stopMicrophone() {
    this.micOn = false;
    if (this.micStream) this.micStream.getTracks().forEach((track) => track.stop());
    this.micStream = null;
    this.micNode = null;
  },

  play(buffer) {
    if (stats.awaitingReply && stats.speechEndedAt !== null) {
      stats.latenciesMs.push(performance.now() - stats.speechEndedAt);
      stats.awaitingReply = false;
    }
    document.body.dataset.agentAudioBytes = String(Number(document.body.dataset.agentAudioBytes || 0) + buffer.byteLength);
    if (this.player) this.player.port.postMessage(buffer, [buffer]);
  },
  clear() {
    if (this.player) this.player.port.postMessage("clear");
  },
  hold(pauseOrResume) {
    if (this.player) this.player.port.postMessage(pauseOrResume);
  },
  flush() {
    if (this.player) this.player.port.postMessage("flush");
    else send({ type: "played" });
  },
};

// ---------------------------------------------------------------- views
function showView(name) {
  document.querySelectorAll(".tab").forEach((tab) => tab.classList.toggle("active", tab.dataset.view === name));
  document.querySelectorAll(".view").forEach((view) => view.classList.toggle("active", view.id === `view-${name}`));
  if (name === "calls") loadCalls();
  if (name === "training") loadTraining();
}

function cardsInto(container, stateStrip) {
  return (card) => {
    if (card.kind === "turn") renderState(stateStrip, card.state);
    const element = renderCard(card);
    if (element) {
      container.append(element);
      element.scrollIntoView({ block: "nearest" });
    }
  };
}

let activeView = null; // "talk" or "simulated": where the cards of the call in progress go
const talkCards = cardsInto($("#talk-cards"), $("#talk-state"));
const simCards = cardsInto($("#sim-cards"), $("#sim-state"));
handlers.push((message) => {
  if (message.kind === "notice") return status(message.text);
  if (message.kind === "session_closed") return setCallActive(false);
  if (message.kind === "latency") return addLatency(message);
  if (!message.kind) return;
  (activeView === "simulated" ? simCards : talkCards)(message);
  if (message.kind === "closed") setCallActive(false);
});

function addLatency(message) {
  // a reply's speech-synthesis and end-to-end times arrive once it has been spoken
  const card = document.querySelector(`[data-testid=turn-card][data-turn="${message.turn}"] [data-testid=latency]`);
  if (!card) return;
  const parts = Object.entries(message.latency_ms).map(([stage, ms]) => `${stage} ${Math.round(ms)} ms`);
  card.textContent = [card.textContent, ...parts].filter((part) => part && part !== "-").join(" · ");
}

function setCallActive(active) {
  $("#end-call").disabled = !active;
  $("#text-input").disabled = !active;
  $("#send-text").disabled = !active;
  $("#mic-toggle").disabled = !active || !audio.micStream;
  if (!active) {
    audio.stopMicrophone();
    $("#mic-toggle").textContent = "Microphone off";
    $("#mic-toggle").setAttribute("aria-pressed", "false");
  }
}

function formValues(form) {
  const data = Object.fromEntries(new FormData(form));
  return data;
}

$("#call-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const values = formValues(event.target);
  const facts = {
    debtor_name: values.debtor_name,
    creditor: values.creditor,
    balance: Number(values.balance),
    days_overdue: Number(values.days_overdue),
    timezone: values.timezone,
    zip_code: values.zip_code || null,
  };
  $("#talk-cards").replaceChildren();
  activeView = "talk";
  if (values.mode === "livekit") {
    const { joinRoom } = await import("/static/livekit.js");
    await joinRoom(facts, talkCards, status);
    return;
  }
  if (values.mode === "voice") {
    try {
      await audio.microphone(true);
    } catch (error) {
      status(`microphone unavailable (${error.message}): using text`, "error");
      values.mode = "text";
    }
  } else {
    await audio.start();
  }
  send({ type: "start", mode: values.mode, facts, policy: values.policy });
  setCallActive(true);
  const mic = $("#mic-toggle");
  mic.textContent = audio.micOn ? "Microphone on" : "Microphone off";
  mic.setAttribute("aria-pressed", String(audio.micOn));
});

$("#end-call").addEventListener("click", () => send({ type: "end" }));
$("#mic-toggle").addEventListener("click", async (event) => {
  await audio.microphone(!audio.micOn);
  event.target.textContent = audio.micOn ? "Microphone on" : "Microphone off";
  event.target.setAttribute("aria-pressed", String(audio.micOn));
});
$("#text-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("#text-input");
  const text = input.value.trim();
  if (!text) return;
  send({ type: "text", text }); // the turn card shows it as heard
  input.value = "";
});

$("#sim-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const values = formValues(event.target);
  $("#sim-cards").replaceChildren();
  activeView = "simulated";
  if (values.audio) await audio.start();
  send({
    type: "simulate",
    persona: values.persona || null,
    seed: Number(values.seed),
    pace: Number(values.pace),
    audio: Boolean(values.audio),
    policy: values.policy,
  });
});
$("#sim-form [name=pace]").addEventListener("input", (event) => send({ type: "pace", pace: Number(event.target.value) }));
$("#sim-stop").addEventListener("click", () => send({ type: "end" }));

async function getJSON(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

async function loadCalls() {
  const { calls } = await getJSON("/api/calls");
  const table = $("#calls-table");
  table.replaceChildren();
  const head = table.insertRow();
  ["when", "call", "channel", "policy", "outcome", "turns"].forEach((title) => {
    const th = document.createElement("th");
    th.textContent = title;
    head.append(th);
  });
  for (const call of calls) {
    const row = table.insertRow();
    row.dataset.testid = "call-row";
    row.setAttribute("data-testid", "call-row");
    [call.at.replace("T", " ").slice(0, 19), call.call_id, call.channel, call.policy_version, call.outcome ?? "open", call.turns ?? "-"].forEach((value) => {
      row.insertCell().textContent = value;
    });
    row.addEventListener("click", async () => {
      const { cards } = await getJSON(`/api/calls/${encodeURIComponent(call.call_id)}`);
      const container = $("#call-cards");
      container.replaceChildren(...cards.map(renderCard).filter(Boolean));
    });
  }
}

async function loadTraining() {
  const data = await getJSON("/api/runs");
  renderTraining($("#training"), data);
}

// ---------------------------------------------------------------- start
document.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", () => showView(tab.dataset.view)));

async function init() {
  config = await getJSON("/api/config");
  const form = $("#call-form");
  for (const [name, value] of Object.entries(config.facts)) form.elements[name].value = value ?? "";
  for (const select of document.querySelectorAll("select[name=policy]")) {
    for (const policy of config.policies) select.append(new Option(policy, policy, policy === config.default_policy));
  }
  for (const persona of config.personas) $("#sim-form [name=persona]").append(new Option(persona, persona));
  $("#livekit-choice").hidden = !config.livekit;
  connect();
}

init().catch((error) => status(`cannot load the console: ${error.message}`, "error"));
