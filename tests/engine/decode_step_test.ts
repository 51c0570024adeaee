/**
 * The resident decode step (src/model/ort_decode_step.ts) against the host path it replaces
 * (OrtJoiner + decodeTdtBatch), on every fixture clip of the committed tiny model, fp32 and
 * int8: the same tokens, frames, durations and carried states, alone, batched and chunked. Its
 * runs go through IO bindings (CPU memory here, the same code as on CUDA).
 */
import assert from "node:assert/strict";
import { nativeHandleStats, OrtRuntime, transferStats } from "../../ffi/mod.ts";
import { LogMelExtractor } from "../../src/audio/log_mel.ts";
import { initialTdtState, type TdtState } from "../../src/decode/tdt_state.ts";
import { decodeTdtBatch, type TdtRow, type TdtRowResult } from "../../src/decode/tdt_greedy.ts";
import { decodeTdtBatchStepped } from "../../src/decode/tdt_greedy_step.ts";
import { ModelOutputError } from "../../src/model/ort_joiner.ts";
import { OrtDecodeStep } from "../../src/model/ort_decode_step.ts";
import { ParakeetModel } from "../../src/model/parakeet_model.ts";
import type { Precision } from "../../src/model/model_files.ts";
import { transcribeClips } from "../../src/stream/offline_transcriber.ts";
import { clipSamples, fixtureClips, reference, TINY_MODEL } from "./fixtures.ts";

interface Pair {
  host: ParakeetModel;
  resident: ParakeetModel;
}

/** The resident step's two forms: one fused run a call, or the three-run chain. */
const FORMS = ["resident", "resident-chain"] as const;
type Form = (typeof FORMS)[number];

function loadPair(runtime: OrtRuntime, precision: Precision, form: Form = "resident"): Pair {
  const host = ParakeetModel.load(runtime, TINY_MODEL, {
    device: "cpu",
    precision,
    decodeStep: "host",
  });
  const resident = ParakeetModel.load(runtime, TINY_MODEL, {
    device: "cpu",
    precision,
    decodeStep: form,
  });
  assert.equal(host.decodeStep, undefined);
  assert.ok(resident.decodeStep instanceof OrtDecodeStep);
  assert.equal(resident.decodeStep.fused, form === "resident", `${form} is fused`);
  return { host, resident };
}

/** Each clip's valid encoder frames, frame-major [frames, dim]. */
async function encodedClips(model: ParakeetModel): Promise<Float32Array[]> {
  const extractor = new LogMelExtractor();
  const out: Float32Array[] = [];
  for (const clip of fixtureClips()) {
    const f = extractor.extract(await clipSamples(clip));
    const enc = model.encode(f.features, 1, f.frames, [f.validFrames]);
    const n = enc.lengths[0];
    const frames = new Float32Array(n * enc.dim);
    for (let t = 0; t < n; t++) {
      for (let d = 0; d < enc.dim; d++) frames[t * enc.dim + d] = enc.data[d * enc.frames + t];
    }
    out.push(frames);
  }
  return out;
}

function decodeBoth(pair: Pair, rows: TdtRow[]): [TdtRowResult[], TdtRowResult[]] {
  const host = decodeTdtBatch(pair.host.joiner, pair.host.spec, rows);
  const resident = decodeTdtBatchStepped(pair.resident.decodeStep!, pair.resident.spec, rows);
  return [host, resident];
}

function assertSame(host: TdtRowResult[], resident: TdtRowResult[], what: string): void {
  assert.equal(resident.length, host.length, what);
  host.forEach((h, i) => {
    const r = resident[i];
    assert.deepEqual(r.tokens, h.tokens, `${what} row ${i}: tokens`);
    assert.deepEqual(r.frames, h.frames, `${what} row ${i}: frames`);
    assert.deepEqual(r.durations, h.durations, `${what} row ${i}: durations`);
    assert.equal(r.state.lastToken, h.state.lastToken, `${what} row ${i}: lastToken`);
    assert.equal(r.state.frameSkip, h.state.frameSkip, `${what} row ${i}: frameSkip`);
    assert.deepEqual(r.state.state1, h.state.state1, `${what} row ${i}: state1`);
    assert.deepEqual(r.state.state2, h.state.state2, `${what} row ${i}: state2`);
  });
}

function rowOf(frames: Float32Array, dim: number, state: TdtState): TdtRow {
  return { frames, numFrames: frames.length / dim, state };
}

for (const form of FORMS) {
  for (const precision of ["fp32", "int8"] as const) {
    Deno.test(`${form} decode step: same tokens, frames, durations and states as the host path (${precision})`, async () => {
      using runtime = OrtRuntime.load();
      const pair = loadPair(runtime, precision, form);
      try {
        const spec = pair.host.spec;
        const dim = spec.encoderDim;
        const clips = await encodedClips(pair.host);
        const names = fixtureClips();
        let tokens = 0;

        // Each clip alone, whole; and through the resident model's own joiner, the copying path
        // a lone row takes (over the fused session when fused).
        clips.forEach((frames, c) => {
          const [h, r] = decodeBoth(pair, [rowOf(frames, dim, initialTdtState(spec))]);
          assertSame(h, r, `${names[c]} alone`);
          const own = decodeTdtBatch(pair.resident.joiner, spec, [
            rowOf(frames, dim, initialTdtState(spec)),
          ]);
          assertSame(h, own, `${names[c]} alone, the resident model's joiner`);
          tokens += h[0].tokens.length;
        });
        assert.ok(tokens > 0, "the fixtures decode to some tokens");

        // All clips in one batch: rows finish at different calls.
        const [h, r] = decodeBoth(pair, clips.map((f) => rowOf(f, dim, initialTdtState(spec))));
        assertSame(h, r, "all clips batched");

        // Chunks of 7 frames with the carried state (overshooting durations, frameSkip), plus an
        // empty row in the batch.
        let hostStates = clips.map(() => initialTdtState(spec));
        let residentStates = clips.map(() => initialTdtState(spec));
        const longest = Math.max(...clips.map((f) => f.length / dim));
        for (let start = 0; start < longest; start += 7) {
          const chunk = (f: Float32Array) =>
            f.subarray(Math.min(f.length, start * dim), Math.min(f.length, (start + 7) * dim));
          const hostRows = clips.map((f, i) => rowOf(chunk(f), dim, hostStates[i]));
          const residentRows = clips.map((f, i) => rowOf(chunk(f), dim, residentStates[i]));
          hostRows.push(rowOf(new Float32Array(0), dim, initialTdtState(spec)));
          residentRows.push(rowOf(new Float32Array(0), dim, initialTdtState(spec)));
          const hr = decodeTdtBatch(pair.host.joiner, spec, hostRows);
          const rr = decodeTdtBatchStepped(pair.resident.decodeStep!, spec, residentRows);
          assertSame(hr, rr, `chunk at frame ${start}`);
          hostStates = hr.slice(0, clips.length).map((x) => x.state);
          residentStates = rr.slice(0, clips.length).map((x) => x.state);
        }
      } finally {
        pair.host.close();
        pair.resident.close();
      }
    });

    Deno.test(`${form} decode step: the transcriber gives the same transcripts and joint calls (${precision})`, async () => {
      using runtime = OrtRuntime.load();
      const pair = loadPair(runtime, precision, form);
      try {
        const extractor = new LogMelExtractor();
        const clips = await Promise.all(fixtureClips().map(clipSamples));
        const bytes = (run: () => void) => {
          const before = transferStats();
          run();
          const after = transferStats();
          return after.toOrt + after.fromOrt - before.toOrt - before.fromOrt;
        };
        let host!: ReturnType<typeof transcribeClips>;
        let resident!: ReturnType<typeof transcribeClips>;
        const hostBytes = bytes(() => host = transcribeClips(pair.host, extractor, clips));
        const residentBytes = bytes(() =>
          resident = transcribeClips(pair.resident, extractor, clips)
        );
        // The clips go as one batch, so the resident step decodes them: far fewer bytes cross.
        assert.ok(residentBytes < hostBytes, `${residentBytes} bytes against ${hostBytes}`);
        assert.equal(resident.stats.jointCalls, host.stats.jointCalls);
        host.transcripts.forEach((t, i) => {
          assert.deepEqual(resident.transcripts[i], t, fixtureClips()[i]);
        });
        if (precision === "fp32") {
          fixtureClips().forEach((clip, i) => {
            assert.deepEqual(resident.transcripts[i].tokenIds, reference(clip).tokens, clip);
          });
        }
      } finally {
        pair.host.close();
        pair.resident.close();
      }
    });
  }
}

for (const form of FORMS) {
  Deno.test(`${form} decode step: a non-finite logit is a ModelOutputError, as on the host path`, () => {
    using runtime = OrtRuntime.load();
    const pair = loadPair(runtime, "fp32", form);
    try {
      const spec = pair.host.spec;
      const frames = new Float32Array(3 * spec.encoderDim).fill(NaN);
      const row = () => rowOf(frames, spec.encoderDim, initialTdtState(spec));
      let hostMessage = "";
      assert.throws(() => {
        try {
          decodeTdtBatch(pair.host.joiner, spec, [row()]);
        } catch (e) {
          hostMessage = (e as Error).message;
          throw e;
        }
      }, ModelOutputError);
      assert.throws(
        () => decodeTdtBatchStepped(pair.resident.decodeStep!, spec, [row()]),
        (e: unknown) => e instanceof ModelOutputError && e.message === hostMessage,
      );
    } finally {
      pair.host.close();
      pair.resident.close();
    }
  });

  Deno.test(`${form} decode step: finite logits whose sum overflows are checked, then decoding goes on`, () => {
    using runtime = OrtRuntime.load();
    const pair = loadPair(runtime, "fp32", form);
    try {
      const spec = pair.host.spec;
      // Frames this large give the tiny model's joint logits near float's range: each one
      // finite, their sum not, so the step's check flags the rows and reads the logits back.
      const rows = (scale: number) => {
        const frames = new Float32Array(3 * spec.encoderDim);
        for (let i = 0; i < frames.length; i++) frames[i] = scale * Math.sin(i * 1.7 + 0.3);
        return [0, 1].map(() => rowOf(frames, spec.encoderDim, initialTdtState(spec)));
      };
      const runs = (scale: number) => {
        const before = transferStats().runs;
        const out = decodeTdtBatchStepped(pair.resident.decodeStep!, spec, rows(scale));
        return { out, runs: transferStats().runs - before };
      };
      const host = decodeTdtBatch(pair.host.joiner, spec, rows(1e37));
      const resident = runs(1e37);
      // The same tokens at a scale whose sums stay finite: the runs the calls take alone.
      const plain = runs(1e30);
      assert.deepEqual(plain.out.map((r) => r.tokens), host.map((r) => r.tokens));
      assert.ok(
        resident.runs > plain.runs,
        `the check read the logits back (${resident.runs} runs against ${plain.runs})`,
      );
      assert.deepEqual(resident.out.map((r) => r.tokens), host.map((r) => r.tokens));
      assert.deepEqual(resident.out.map((r) => r.durations), host.map((r) => r.durations));
      assert.deepEqual(resident.out.map((r) => r.state), host.map((r) => r.state));
    } finally {
      pair.host.close();
      pair.resident.close();
    }
  });

  Deno.test(`${form} decode step: per call and row, at most 64 bytes cross between TypeScript and ONNX Runtime`, async () => {
    using runtime = OrtRuntime.load();
    const pair = loadPair(runtime, "fp32", form);
    try {
      const spec = pair.host.spec;
      const [frames] = await encodedClips(pair.host);
      const rows = [0, 1, 2, 3].map(() => rowOf(frames, spec.encoderDim, initialTdtState(spec)));
      const m = rows.length;
      const index = Int32Array.from(rows.keys());
      const targets = new Int32Array(m).fill(spec.blankId);
      using batch = pair.resident.decodeStep!.begin(rows);
      batch.step(m, index, new Int32Array(m), targets); // first call of this row count binds
      const before = transferStats();
      batch.step(m, index, new Int32Array(m).fill(1), targets);
      const after = transferStats();
      const perRow = (after.toOrt + after.fromOrt - before.toOrt - before.fromOrt) / m;
      const runs = form === "resident" ? 1 : 3;
      assert.equal(after.runs - before.runs, runs, "one fused run, or gather, joint and head");
      assert.ok(perRow > 0 && perRow <= 64, `${perRow} bytes per row per call`);

      // The host path moves the frame, the states and every logit of each row.
      const { encoderDim, stateLayers, stateHidden, numClasses, durations } = spec;
      const h0 = transferStats();
      decodeTdtBatch(pair.host.joiner, spec, [
        rowOf(frames.subarray(0, encoderDim), encoderDim, initialTdtState(spec)),
      ]);
      const h1 = transferStats();
      const hostPerCall = (h1.toOrt + h1.fromOrt - h0.toOrt - h0.fromOrt) / (h1.runs - h0.runs);
      const states = 4 * stateLayers * stateHidden * 4;
      assert.equal(
        hostPerCall,
        encoderDim * 4 + 4 + 4 + states + (numClasses + durations.length) * 4,
      );
    } finally {
      pair.host.close();
      pair.resident.close();
    }
  });

  Deno.test(`${form} decode step: each batch releases its bindings and values, also on errors`, async () => {
    using runtime = OrtRuntime.load();
    using resident = ParakeetModel.load(runtime, TINY_MODEL, {
      device: "cpu",
      decodeStep: "resident",
    });
    assert.ok(resident.decodeStep instanceof OrtDecodeStep);
    assert.ok(resident.decodeStep.fused, "fused when the joint's graph takes the helper nodes");
    const pair = loadPair(runtime, "fp32", form);
    try {
      const spec = pair.host.spec;
      const [frames] = await encodedClips(pair.host);
      const rows = () => [0, 1, 2].map(() => rowOf(frames, spec.encoderDim, initialTdtState(spec)));
      const step = pair.resident.decodeStep!;
      decodeBoth(pair, rows()); // each path binds its host values for these row counts once
      const before = nativeHandleStats();
      const [host, resident] = decodeBoth(pair, rows());
      assertSame(host, resident, "after warm-up");
      const after = nativeHandleStats();
      for (const k of ["ioBinding", "value", "memoryInfo"] as const) {
        assert.equal(after[k], before[k], `${k} after a batch`);
      }

      const bad = new Float32Array(3 * spec.encoderDim).fill(NaN);
      assert.throws(
        () =>
          decodeTdtBatchStepped(step, spec, [
            rowOf(bad, spec.encoderDim, initialTdtState(spec)),
            rowOf(bad, spec.encoderDim, initialTdtState(spec)),
          ]),
        ModelOutputError,
      );
      const failed = nativeHandleStats();
      for (const k of ["ioBinding", "value", "memoryInfo"] as const) {
        // A new row count binds its host values once (five values), nothing else stays.
        assert.equal(failed[k], before[k] + (k === "value" ? 5 : 0), `${k} after an error`);
      }
    } finally {
      pair.host.close();
      pair.resident.close();
    }
  });
}

Deno.test("a fused model holds the joint once: the fused session replaces its joint session", () => {
  using runtime = OrtRuntime.load();
  const sessionsOf = (decodeStep?: Form | "host") => {
    const before = nativeHandleStats().session;
    const model = ParakeetModel.load(runtime, TINY_MODEL, { device: "cpu", decodeStep });
    const held = nativeHandleStats().session - before;
    model.close();
    assert.equal(nativeHandleStats().session, before, `${decodeStep}: every session closed`);
    return held;
  };
  assert.equal(sessionsOf("host"), 2, "encoder and joint");
  assert.equal(sessionsOf("resident-chain"), 5, "encoder, joint, frames, head and compact");
  // The joint's nodes and weights are in the fused session only; compact stays apart.
  assert.equal(sessionsOf("resident"), 3, "encoder, fused step and compact");
  // On the CPU the copying path is the default: no faster there at the server's passes.
  assert.equal(sessionsOf(), 2, "the CPU's default: encoder and joint");
  using model = ParakeetModel.load(runtime, TINY_MODEL, { device: "cpu" });
  assert.equal(model.decodeStep, undefined);
});
