// AudioWorklet: microphone samples at the context's rate → 16 kHz PCM16, posted to the page in
// 20 ms frames (640 bytes). "flush" posts what is left, then {done: true}.
import { Resampler, toPcm16 } from "./resampler.js";

const FRAME = 320; // samples at 16 kHz = 20 ms

class Pcm16Encoder extends AudioWorkletProcessor {
  constructor() {
    super();
    // `sampleRate` is the AudioContext's rate: 16000 if the browser honoured the request.
    this.resampler = new Resampler(sampleRate, 16000);
    this.frame = new Int16Array(FRAME);
    this.filled = 0;
    this.stopped = false;
    this.port.onmessage = (e) => {
      if (e.data !== "flush" || this.stopped) return;
      this.stopped = true;
      this.emit(this.resampler.flush());
      if (this.filled > 0) this.post(this.frame.slice(0, this.filled));
      this.port.postMessage({ done: true });
    };
  }

  post(pcm) {
    this.port.postMessage(pcm.buffer, [pcm.buffer]);
  }

  emit(samples) {
    const pcm = toPcm16(samples);
    for (let i = 0; i < pcm.length; i++) {
      this.frame[this.filled++] = pcm[i];
      if (this.filled === FRAME) {
        this.post(this.frame);
        this.frame = new Int16Array(FRAME);
        this.filled = 0;
      }
    }
  }

  process(inputs) {
    if (this.stopped) return false;
    const channel = inputs[0]?.[0];
    if (channel) this.emit(this.resampler.push(channel));
    return true;
  }
}

registerProcessor("pcm16-encoder", Pcm16Encoder);
