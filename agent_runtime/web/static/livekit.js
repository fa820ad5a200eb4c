// A call in a LiveKit room: the server mints a token (with the `collector` agent dispatched into a new room), the
// page joins with livekit-client, publishes its microphone and renders the turn cards the worker publishes on the
// room's card topic, with the same renderer as the console's own calls.
const CARD_TOPIC = "debt-agent.turn-card";

function loadClient() {
  if (window.LivekitClient) return Promise.resolve(window.LivekitClient);
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/static/vendor/livekit-client.umd.js";
    script.onload = () => resolve(window.LivekitClient);
    script.onerror = () => reject(new Error("livekit-client did not load"));
    document.head.append(script);
  });
}

// Exported for the tests: what the page does with one card received on the topic.
export function handleCardText(text, render) {
  render(JSON.parse(text));
}

export async function joinRoom(facts, render, status) {
  const response = await fetch("/api/livekit/token", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(facts),
  });
  if (!response.ok) throw new Error(`token: ${response.status} ${await response.text()}`);
  const { url, token, room: name } = await response.json();
  const { Room, RoomEvent } = await loadClient();
  const room = new Room();
  room.registerTextStreamHandler(CARD_TOPIC, async (reader) => handleCardText(await reader.readAll(), render));
  room.on(RoomEvent.TrackSubscribed, (track) => {
    if (track.kind === "audio") document.body.append(track.attach());
  });
  room.on(RoomEvent.Disconnected, () => status("left the room", ""));
  await room.connect(url, token);
  await room.startAudio();
  await room.localParticipant.setMicrophoneEnabled(true);
  status(`in LiveKit room ${name}`, "ok");
  return room;
}
