// The microphone, resampled in the worklet to 16 kHz mono 16-bit PCM and posted in 20 ms blocks.
// Resampling here (not by opening the AudioContext at 16 kHz) keeps Firefox working: it cannot connect a
// microphone to a context running at another rate than the device's.
const TARGET_RATE = 16000;
const BLOCK = 320; // 20 ms at 16 kHz

class MicrophoneProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    this.position = 0; // fractional read position into `previous + input`
    this.previous = 0; // the last input sample of the previous quantum, for interpolation across quanta
    this.block = new Int16Array(BLOCK);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    // linear interpolation between input samples; index -1 is the previous quantum's last sample
    while (this.position < channel.length - 1) {
      const i = Math.floor(this.position);
      const frac = this.position - i;
      const a = i < 0 ? this.previous : channel[i];
      const b = channel[i + 1];
      const value = Math.max(-1, Math.min(1, a + (b - a) * frac));
      this.block[this.filled++] = value < 0 ? value * 0x8000 : value * 0x7fff;
      if (this.filled === BLOCK) {
        this.port.postMessage(this.block.buffer, [this.block.buffer]);
        this.block = new Int16Array(BLOCK);
        this.filled = 0;
      }
      this.position += this.step;
    }
    this.position -= channel.length;
    this.previous = channel[channel.length - 1];
    return true;
  }
}

registerProcessor("microphone", MicrophoneProcessor);
