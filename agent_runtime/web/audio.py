"""The browser as the call's microphone and loudspeaker, over the console's WebSocket.

The page sends 16 kHz mono 16-bit PCM (its audio worklet resamples the microphone) as binary messages; the agent's
speech goes back the same way, 16 kHz (the session resamples its TTS to the output's rate). The pattern is
livekit-agents' own console transport: an `io.AudioInput` fed from a queue and an `io.AudioOutput` that reports
playback. Playback ends when the page says its buffer ran dry (`played`), or at the latest when the audio's own
duration (plus a margin, plus any pause) has passed since it started. When the debtor starts speaking the session
pauses the reply (`pause`: the page holds its buffer) until their words cut it short (`clear_buffer`: the page drops
what it has not played, and how much was heard is reported) or prove to be no interruption (`resume`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from livekit import rtc
from livekit.agents.voice import io

SAMPLE_RATE = 16_000
PLAYOUT_MARGIN_S = 1.0  # the page's buffering and the network, beyond the audio's own duration

Send = Callable[[dict | bytes], Awaitable[None]]


class BrowserAudioInput(io.AudioInput):
    def __init__(self):
        super().__init__(label="browser microphone")
        self._frames: asyncio.Queue[rtc.AudioFrame | None] = asyncio.Queue()

    def push(self, pcm: bytes) -> None:
        """One block of microphone audio; an odd byte count (not 16-bit samples) is refused by the caller."""
        samples = len(pcm) // 2
        if samples:
            frame = rtc.AudioFrame(data=pcm, sample_rate=SAMPLE_RATE, num_channels=1, samples_per_channel=samples)
            self._frames.put_nowait(frame)

    def close(self) -> None:
        self._frames.put_nowait(None)

    async def __anext__(self) -> rtc.AudioFrame:
        frame = await self._frames.get()
        if frame is None:
            raise StopAsyncIteration
        return frame


class BrowserAudioOutput(io.AudioOutput):
    def __init__(self, send: Send):
        super().__init__(
            label="browser speaker",
            capabilities=io.AudioOutputCapabilities(pause=True),
            sample_rate=SAMPLE_RATE,
        )
        self._send = send
        self._pushed = 0.0  # seconds of audio sent for the current reply
        self._started = 0.0
        self._paused_at: float | None = None
        self._paused_for = 0.0  # seconds the current reply has been held, resumed pauses
        self._played = asyncio.Event()
        self._interrupted = asyncio.Event()
        self._waiting: asyncio.Task | None = None

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if not self._pushed:
            self._started, self._paused_for = time.monotonic(), 0.0
            self._played.clear()
            self._interrupted.clear()
            self.on_playback_started(created_at=time.time())
        self._pushed += frame.duration
        await self._send(bytes(frame.data))

    def flush(self) -> None:
        super().flush()
        if self._pushed:
            self._tell_page({"type": "flush"})  # the reply's last frame is sent: the page says when it played it
            if self._waiting is None or self._waiting.done():
                self._waiting = asyncio.create_task(self._wait_for_playout())

    def _tell_page(self, message: dict) -> None:
        task = asyncio.ensure_future(self._send(message))
        task.add_done_callback(lambda done: done.exception())  # a closed socket is the session's concern

    def clear_buffer(self) -> None:
        self._tell_page({"type": "clear"})
        if self._pushed:
            self._interrupted.set()
            if self._waiting is None or self._waiting.done():
                self._waiting = asyncio.create_task(self._wait_for_playout())

    def pause(self) -> None:
        super().pause()
        if self._paused_at is None:
            self._paused_at = time.monotonic()
            self._tell_page({"type": "pause"})

    def resume(self) -> None:
        super().resume()
        if self._paused_at is not None:
            self._paused_for += time.monotonic() - self._paused_at
            self._paused_at = None
            self._tell_page({"type": "resume"})

    def _held(self) -> float:
        """Seconds the current reply has been paused so far."""
        return self._paused_for + (time.monotonic() - self._paused_at if self._paused_at is not None else 0.0)

    def page_played(self) -> None:
        """The page's buffer ran dry: what was sent has been heard."""
        self._played.set()

    async def _wait_for_playout(self) -> None:
        waits = [asyncio.ensure_future(self._played.wait()), asyncio.ensure_future(self._interrupted.wait())]
        while True:  # a pause pushes the deadline back for as long as it lasts
            left = self._started + self._pushed + self._held() + PLAYOUT_MARGIN_S - time.monotonic()
            if left <= 0 and self._paused_at is None:
                break
            done, _ = await asyncio.wait(waits, timeout=max(left, 0.05), return_when=asyncio.FIRST_COMPLETED)
            if done:
                break
        for wait in waits:
            wait.cancel()
        interrupted = self._interrupted.is_set() and not self._played.is_set()
        heard = time.monotonic() - self._started - self._held()
        position = min(max(0.0, heard), self._pushed) if interrupted else self._pushed
        self._pushed, self._paused_at = 0.0, None
        self.on_playback_finished(playback_position=position, interrupted=interrupted)
