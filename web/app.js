// The demo page: microphone or WAV file → 16 kHz PCM16 → /ws (the seed protocol) → partials
// (stable text black, tentative grey, word times on each word), segments closed at pauses, the
// final after Stop, and the partials' latency. Errors are shown, not swallowed.
import { LatencyMeter, partialLatencyMs, SEED_KNOBS, SendLog } from "./latency.js";
import { showModel } from "./model_banner.js";
import { Resampler, toPcm16 } from "./resampler.js";
import { renderFinal, renderPartial, renderSegment } from "./transcript_view.js";

const $ = (id) => document.getElementById(id);
const ui = {
  mic: $("mic"),
  stop: $("stop"),
  file: $("file"),
  status: $("status"),
  finals: $("finals"),
  segments: $("segments"),
  stable: document.querySelector("#current .stable"),
  tentative: document.querySelector("#current .tentative"),
  latency: $("latency"),
  model: $("model"),
  endpoint: $("endpoint"),
  showTimes: $("show-times"),
  error: $("error"),
  token: $("token"),
};
const params = new URLSearchParams(location.search);
ui.token.value = params.get("token") ?? "";
ui.endpoint.value = params.get("endpoint_ms") ?? "";
/** The server's step geometry (from /v1/status), which tells what audio a partial covers. */
let server = { knobs: SEED_KNOBS, known: false };
/** Test and debugging aid: request this AudioContext rate instead of 16000 (?rate=48000). */
const requestedRate = Number(params.get("rate")) || 16000;

const FRAME_BYTES = 640; // 20 ms of 16 kHz PCM16
let session = null;

function setState(state, status) {
  document.body.dataset.state = state;
  if (status) ui.status.textContent = status;
  const busy = state !== "idle";
  ui.mic.disabled = busy;
  ui.file.disabled = busy;
  ui.endpoint.disabled = busy; // read when a stream opens
  ui.stop.disabled = state !== "streaming";
  ui.mic.classList.toggle("recording", busy && session?.kind === "mic");
}

function showError(text) {
  ui.error.textContent = ui.error.textContent ? `${ui.error.textContent}\n${text}` : text;
}

function showLatency(meter) {
  const { count, latest, p50, p95 } = meter.summary();
  const ms = (v) => v === null ? "–" : `${Math.round(v)} ms`;
  ui.latency.querySelector(".latest").textContent = ms(latest);
  ui.latency.querySelector(".p50").textContent = ms(p50);
  ui.latency.querySelector(".p95").textContent = ms(p95);
  ui.latency.querySelector(".count").textContent = String(count);
  ui.latency.querySelector(".assumed").textContent = server.known
    ? ""
    : ` (the server did not report its step geometry: ${SEED_KNOBS.stepMs} ms steps and ` +
      `${SEED_KNOBS.rightContextMs} ms of right context assumed)`;
  if (latest === null) delete ui.latency.dataset.latestMs;
  else ui.latency.dataset.latestMs = String(Math.round(latest));
}

async function refreshModel() {
  server = await showModel(ui.model, ui.token.value.trim());
}

function wsUrl() {
  const url = new URL("/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const token = ui.token.value.trim();
  if (token) url.searchParams.set("token", token);
  const endpoint = ui.endpoint.value.trim();
  if (endpoint) url.searchParams.set("endpoint_ms", endpoint);
  return url;
}

/** One WebSocket stream: opened on start, EOS on stop, closed after the final. */
class Session {
  constructor(kind) {
    this.kind = kind;
    this.opened = false;
    this.finalWaiter = null;
    this.onEnd = () => {};
    // When each byte went, to measure how long partials take (one utterance per session).
    this.sendLog = new SendLog();
    this.bytesSent = 0;
    this.latency = new LatencyMeter();
  }

  open() {
    const url = wsUrl();
    // Shown without the query: the token must not end up on screen or in screenshots.
    const shown = `${url.origin.replace(/^http/, "ws")}${url.pathname}`;
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    this.ws.onmessage = (e) => this.#message(e.data);
    return new Promise((resolve, reject) => {
      this.ws.onopen = () => {
        this.opened = true;
        resolve();
      };
      this.ws.onclose = (e) => {
        if (!this.opened) {
          reject(
            new Error(
              `Could not connect to ${shown} (closed with ${e.code} before opening). The server ` +
                "may need a token (add ?token=… to this page's address or fill in the token " +
                "below), may be full, or may not accept this page's origin.",
            ),
          );
        } else this.#closed(e);
      };
    });
  }

  #message(data) {
    const arrival = performance.now();
    let m;
    try {
      m = JSON.parse(data);
    } catch {
      showError(`Unreadable message from the server: ${String(data).slice(0, 200)}`);
      return;
    }
    if (m.type === "partial") {
      renderPartial(ui, m);
      document.body.dataset.partials = String(Number(document.body.dataset.partials ?? 0) + 1);
      if (this.bytesSent > 0) {
        this.latency.add(partialLatencyMs(server.knobs, this.sendLog, arrival, m.words));
        showLatency(this.latency);
      }
    } else if (m.type === "segment") renderSegment(ui, m);
    else if (m.type === "final") {
      renderFinal(ui, m);
      this.finalWaiter?.();
    } else if (m.type === "error") showError(`Server error ${m.code}: ${m.message}`);
  }

  #closed(e) {
    if (e.code !== 1000 && e.code !== 1005) {
      showError(
        `Connection closed by the server: code ${e.code}${e.reason ? ` (${e.reason})` : ""}`,
      );
    }
    this.finalWaiter?.();
    this.onEnd();
  }

  send(bytes) {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(bytes);
    this.bytesSent += bytes.byteLength;
    this.sendLog.add(this.bytesSent, performance.now());
  }

  get open_() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** EOS (the seed's exact bytes), then wait for the final and close normally. */
  async finish() {
    if (!this.open_) return;
    const gotFinal = new Promise((r) => this.finalWaiter = r);
    this.ws.send("__CTRL__:EOS");
    await Promise.race([gotFinal, new Promise((r) => setTimeout(r, 15000))]);
    if (this.open_) this.ws.close(1000, "done");
  }
}

/** Opens the session of this kind; false (error shown, state reset) when it cannot connect. */
async function openSession(kind) {
  session = new Session(kind);
  showLatency(session.latency);
  setState("connecting", "Connecting…");
  try {
    await session.open();
    return true;
  } catch (err) {
    showError(err.message);
    end();
    return false;
  }
}

async function startMic() {
  ui.error.textContent = "";
  // Connection and audio graph first, microphone last: audio captured before the graph is
  // connected would be lost (the first word).
  if (!(await openSession("mic"))) return;
  let stream, ctx;
  try {
    // Ask for 16 kHz; browsers that refuse (or give another rate) are resampled in the worklet.
    try {
      ctx = new AudioContext({ sampleRate: requestedRate });
    } catch {
      ctx = new AudioContext();
    }
    await ctx.audioWorklet.addModule("pcm_worklet.js");
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: {
          channelCount: 1,
          echoCancellation: false,
          noiseSuppression: false,
          autoGainControl: false,
        },
      });
    } catch (err) {
      throw new Error(`Microphone unavailable: ${err.name}: ${err.message}`);
    }
    let source;
    try {
      source = ctx.createMediaStreamSource(stream);
    } catch {
      // Firefox cannot connect a microphone to a context at another rate: use the default one.
      await ctx.close();
      ctx = new AudioContext();
      await ctx.audioWorklet.addModule("pcm_worklet.js");
      source = ctx.createMediaStreamSource(stream);
    }
    const node = new AudioWorkletNode(ctx, "pcm16-encoder", {
      channelCount: 1,
      channelCountMode: "explicit",
      channelInterpretation: "speakers",
    });
    const flushed = new Promise((resolve) => {
      node.port.onmessage = (e) => {
        if (e.data instanceof ArrayBuffer) session?.send(e.data);
        else if (e.data?.done) resolve();
      };
    });
    source.connect(node);
    node.connect(ctx.destination); // keeps the graph pulling; the node outputs silence
    document.body.dataset.contextRate = String(ctx.sampleRate);
    const s = session;
    s.stopCapture = async () => {
      stream.getTracks().forEach((t) => t.stop());
      node.port.postMessage("flush");
      await Promise.race([flushed, new Promise((r) => setTimeout(r, 1000))]);
      await ctx.close();
    };
    s.onEnd = () => s.stopCapture().then(end);
    setState("streaming", `Listening (${ctx.sampleRate} Hz → 16 kHz). Press Stop when done.`);
  } catch (err) {
    stream?.getTracks().forEach((t) => t.stop());
    await ctx?.close().catch(() => {});
    showError(
      err.message.startsWith("Microphone") ? err.message : `Audio capture failed: ${err.message}`,
    );
    session.ws.close(1000);
    return end();
  }
}

/** A WAV file's samples as 16 kHz PCM16; other formats go through the browser's decoder. */
async function fileToPcm16(file) {
  const buf = await file.arrayBuffer();
  const wav = parseWav(buf);
  if (wav && wav.rate === 16000 && wav.channels === 1 && wav.bits === 16 && wav.format === 1) {
    // Exactly the file's bytes: the server hears what `transcribe` reads.
    return new Int16Array(buf.slice(wav.offset, wav.offset + (wav.length & ~1)));
  }
  let samples, rate;
  if (wav) ({ samples, rate } = wavSamples(buf, wav));
  else {
    const ctx = new AudioContext();
    try {
      const audio = await ctx.decodeAudioData(buf);
      rate = audio.sampleRate;
      samples = new Float32Array(audio.length);
      for (let c = 0; c < audio.numberOfChannels; c++) {
        const ch = audio.getChannelData(c);
        for (let i = 0; i < ch.length; i++) samples[i] += ch[i] / audio.numberOfChannels;
      }
    } catch {
      throw new Error(`${file.name}: not a WAV file, and the browser cannot decode it either`);
    } finally {
      await ctx.close();
    }
  }
  const r = new Resampler(rate, 16000);
  const a = r.push(samples);
  const b = r.flush();
  const all = new Float32Array(a.length + b.length);
  all.set(a);
  all.set(b, a.length);
  return toPcm16(all);
}

function parseWav(buf) {
  const v = new DataView(buf);
  const tag = (o) => String.fromCharCode(...new Uint8Array(buf, o, 4));
  if (buf.byteLength < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") return null;
  let fmt = null;
  for (let o = 12; o + 8 <= buf.byteLength;) {
    const id = tag(o);
    const size = v.getUint32(o + 4, true);
    if (id === "fmt ") {
      let format = v.getUint16(o + 8, true);
      if (format === 0xfffe && size >= 26) format = v.getUint16(o + 32, true); // extensible
      fmt = {
        format,
        channels: v.getUint16(o + 10, true),
        rate: v.getUint32(o + 12, true),
        bits: v.getUint16(o + 22, true),
      };
    } else if (id === "data") {
      if (!fmt) throw new Error("WAV file: the data chunk comes before the fmt chunk");
      return { ...fmt, offset: o + 8, length: Math.min(size, buf.byteLength - o - 8) };
    }
    o += 8 + size + (size & 1);
  }
  throw new Error("WAV file: no data chunk");
}

function wavSamples(buf, wav) {
  const v = new DataView(buf, wav.offset, wav.length);
  const bytes = wav.bits / 8;
  const n = Math.floor(wav.length / (bytes * wav.channels));
  const read = {
    "1:8": (o) => (v.getUint8(o) - 128) / 128,
    "1:16": (o) => v.getInt16(o, true) / 32768,
    "1:24": (o) => (v.getUint8(o) | (v.getUint8(o + 1) << 8) | (v.getInt8(o + 2) << 16)) / 8388608,
    "1:32": (o) => v.getInt32(o, true) / 2147483648,
    "3:32": (o) => v.getFloat32(o, true),
    "3:64": (o) => v.getFloat64(o, true),
  }[`${wav.format}:${wav.bits}`];
  if (!read) {
    throw new Error(`WAV file: unsupported sample format ${wav.format} with ${wav.bits} bits`);
  }
  const samples = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < wav.channels; c++) s += read((i * wav.channels + c) * bytes);
    samples[i] = s / wav.channels;
  }
  return { samples, rate: wav.rate };
}

async function startFile(file) {
  ui.error.textContent = "";
  let pcm;
  try {
    pcm = new Uint8Array((await fileToPcm16(file)).buffer);
  } catch (err) {
    showError(err.message);
    return;
  }
  if (!(await openSession("file"))) return;
  const seconds = (pcm.length / 32000).toFixed(1);
  setState("streaming", `Streaming ${file.name} (${seconds} s) at real time…`);
  let stopped = false;
  session.stopCapture = () => {
    stopped = true;
    return Promise.resolve();
  };
  const s = session;
  s.onEnd = () => {
    stopped = true;
    end();
  };
  // Paced at real time, as a microphone would deliver it.
  const start = performance.now();
  for (let i = 0; i < pcm.length && !stopped && s.open_; i += FRAME_BYTES) {
    s.send(pcm.slice(i, i + FRAME_BYTES));
    const wait = start + (i + FRAME_BYTES) / 32 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  if (session === s && !stopped) await stop();
}

async function stop() {
  const s = session;
  if (!s) return;
  setState("finishing", "Finishing: waiting for the final transcript…");
  await s.stopCapture?.();
  s.onEnd = () => {};
  await s.finish();
  end();
}

function end() {
  session = null;
  ui.file.value = "";
  setState("idle", "Ready. Speak after pressing Start, or stream a WAV file.");
}

ui.mic.addEventListener("click", startMic);
ui.stop.addEventListener("click", stop);
ui.file.addEventListener("change", () => {
  const f = ui.file.files?.[0];
  if (f) startFile(f);
});
ui.token.addEventListener("change", refreshModel);
ui.showTimes.addEventListener("change", () => {
  document.body.classList.toggle("show-times", ui.showTimes.checked);
});
refreshModel();
document.body.dataset.ready = "1";
