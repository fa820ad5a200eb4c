// The agent's voice: 16 kHz 16-bit PCM blocks from the server, resampled to the context's rate and played in order.
// "clear" drops what has not been played (barge-in); after "flush" (the reply's last block was sent) the worklet says
// "drained" once everything has played, and it says "started" when a reply's first sample reaches the speaker.
// "pause" holds what is buffered (the debtor started speaking) until "resume" or "clear".
const SOURCE_RATE = 16000;

class PlayerProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = SOURCE_RATE / sampleRate; // source samples per output sample
    this.queue = []; // Float32Array chunks at the source rate
    this.offset = 0; // fractional read position in queue[0]
    this.flushed = false;
    this.playing = false;
    this.paused = false;
    this.port.onmessage = (event) => {
      const data = event.data;
      if (data === "pause" || data === "resume") {
        this.paused = data === "pause";
      } else if (data === "clear") {
        this.paused = false;
        this.queue = [];
        this.offset = 0;
        this.flushed = false;
        this.playing = false;
      } else if (data === "flush") {
        if (this.playing || this.queue.length) this.flushed = true;
        else this.port.postMessage("drained"); // everything had played before the flush arrived
      } else {
        const pcm = new Int16Array(data);
        const samples = new Float32Array(pcm.length);
        for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 0x8000;
        this.queue.push(samples);
      }
    };
  }

  process(_, outputs) {
    const out = outputs[0][0];
    let written = 0;
    while (!this.paused && written < out.length && this.queue.length) {
      const chunk = this.queue[0];
      const i = Math.floor(this.offset);
      if (i >= chunk.length) {
        this.queue.shift();
        this.offset -= chunk.length;
        continue;
      }
      const next = i + 1 < chunk.length ? chunk[i + 1] : this.queue[1] ? this.queue[1][0] : chunk[i];
      out[written++] = chunk[i] + (next - chunk[i]) * (this.offset - i);
      this.offset += this.step;
      if (!this.playing) {
        this.playing = true;
        this.port.postMessage("started");
      }
    }
    out.fill(0, written);
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    if (this.playing && !this.paused && !this.queue.length) {
      this.playing = false;
      if (this.flushed) {
        this.flushed = false;
        this.port.postMessage("drained");
      }
    }
    return true;
  }
}

registerProcessor("player", PlayerProcessor);
