/**
 * The greedy-TDT decode step with its data resident in ONNX Runtime.
 *
 * The host path (OrtJoiner + decodeTdtBatch) sends each row's encoder frame and LSTM states into
 * `decoder_joint` on every call and reads back every logit (numClasses + numDurations floats:
 * 8,198 for Parakeet-TDT-0.6B-v3, ~33 KB per row) to take two argmaxes and check for
 * non-finite values. Here the same call is one ORT run over ORT-owned values, of three parts
 * (nodes in decode_step_graphs.ts, spliced into the joint's graph by onnx_splice.ts):
 *
 *   frames — picks each row's frame out of the batch's encoder frames, uploaded once per batch;
 *   decoder_joint — the model's own nodes, unchanged, fed the frames' output and the states
 *     the previous call left;
 *   head — both argmaxes, each row's logit sum (the non-finite check), and the states each row
 *     keeps (the new ones only after a non-blank token), left in ORT for the next call.
 *
 * A joint the splice cannot take runs the parts as three sessions chained by value (the chain,
 * also kept as a reference): three runs a call, the same values passed between them.
 *
 * The states stay in the joint's layout [layers, rows, hidden] with the rows in call order,
 * uploaded with the frames once per batch. The greedy loop's active rows only ever shrink, so
 * when rows finish a fourth graph compacts the states to the remaining rows and hands back the
 * finished rows' final states: once per row and batch, not per call.
 *
 * Per call TypeScript writes each row's frame index and last token (12 bytes) and reads its
 * token, duration index and logit sum (20 bytes). The helper graphs have no weights and are
 * emitted as ONNX bytes at load from the decoder's dimensions (onnx_proto.ts), so there is no
 * generated file to ship or keep in step with the model.
 *
 * Every run goes through an IO binding (ffi/io_binding.ts): the outputs that feed the next run
 * (or call) are bound to the session's device, so on CUDA the frames, logits and states stay in device
 * memory — the encoder frames and the uploaded states are copied there once, when the batch
 * binds them — and only the per-row integers and sums are bound to host arrays. On the CPU the
 * same code passes pointers between runs.
 */
import type {
  HostValue,
  InferenceSession,
  IoBinding,
  MemoryInfo,
  OrtRuntime,
  ResidentValue,
  SessionOptions,
} from "../../ffi/mod.ts";
import type { DecodeStep, DecodeStepBatch, DecodeStepOutput } from "../decode/decode_step.ts";
import type { TdtSpec } from "../decode/joiner.ts";
import type { TdtRow } from "../decode/tdt_greedy.ts";
import {
  compactGraph,
  decodeStepDims,
  framesGraph,
  headGraph,
  stepAddition,
} from "./decode_step_graphs.ts";
import { SpliceError, spliceGraph } from "./onnx_splice.ts";
import { ModelOutputError, OrtJoiner } from "./ort_joiner.ts";

/** The per-call host tensors for one row count, bound once and reused. */
interface CallValues {
  frameIndex: HostValue<"int64">;
  targets: HostValue<"int32">;
  tokens: HostValue<"int64">;
  durationIndex: HostValue<"int64">;
  rowSums: HostValue<"float32">;
  output: DecodeStepOutput;
}

type States = [ResidentValue, ResidentValue];

/**
 * The IO bindings a batch runs through, owned by it: two for the fused step, or one per session
 * of the chain (frames, joint, head) when the model could not take the helper nodes.
 *
 * The fused step's two bindings take turns: one reads the states the other writes. Bound once
 * for a row count — the states both ways, the per-row host arrays — a call then only binds its
 * frame indices and tokens again (a host input changed after binding must be bound again to be
 * seen: on CUDA it is copied when bound) and runs. Binding every name afresh each call cost
 * about 30 µs of a small joint's 200 µs call on the CPU.
 */
interface Bindings {
  fused: [IoBinding, IoBinding] | null;
  chain: { frames: IoBinding; joint: IoBinding; head: IoBinding } | null;
  compact: IoBinding;
}

const JOINT_OUTPUTS = ["outputs", "output_states_1", "output_states_2"];

/** The values the last run left in `names` (bound outputs), in that order; the rest closed. */
function boundOutputs(binding: IoBinding, names: readonly string[]): ResidentValue[] {
  const values = binding.outputs();
  const order = binding.outputNames;
  const picked = names.map((name) => values[order.indexOf(name)]);
  for (const value of values) if (!picked.includes(value)) value.close();
  if (picked.some((value) => value === undefined)) {
    for (const value of picked) value?.close();
    throw new Error(`decode step: outputs ${names.join(", ")} are not all bound`);
  }
  return picked;
}

export class OrtDecodeStep implements DecodeStep, Disposable {
  readonly spec: TdtSpec;
  /** The sessions this step owns (not the joint's). */
  #sessions: InferenceSession[];
  /** The caller's joint session: the chain's middle run (null when fused: not needed then). */
  #joint: InferenceSession | null;
  /** frames + decoder_joint + head as one session, when the joint's graph could take them. */
  #fused: InferenceSession | null;
  /** The copying path over the fused session (a lone row's calls), when fused. */
  #fusedJoiner: OrtJoiner | null;
  /** The chain's sessions before and after the joint (null when fused). */
  #chain: { frames: InferenceSession; head: InferenceSession } | null;
  #compact: InferenceSession;
  /** A session to make host and ORT-owned values with (any session of this step will do). */
  #values: InferenceSession;
  /** The sessions' device memory, for the values passed from run to run. */
  #device: MemoryInfo;
  /** Host memory, for the values TypeScript reads back (final states, a logit check). */
  #host: MemoryInfo;
  #calls = new Map<number, CallValues>();

  private constructor(
    spec: TdtSpec,
    joint: InferenceSession,
    parts: {
      fused: InferenceSession | null;
      chain: { frames: InferenceSession; head: InferenceSession } | null;
      compact: InferenceSession;
    },
    sessions: InferenceSession[],
  ) {
    const { fused, chain, compact } = parts;
    this.spec = spec;
    this.#sessions = sessions;
    this.#joint = fused ? null : joint;
    this.#fused = fused;
    this.#chain = chain;
    this.#compact = compact;
    this.#values = compact;
    this.#fusedJoiner = fused ? new OrtJoiner(fused, spec, { fused: true }) : null;
    this.#device = joint.memoryInfo("device");
    try {
      this.#host = joint.memoryInfo("cpu");
    } catch (e) {
      this.#device.close();
      throw e;
    }
  }

  /** Where the values passed between runs live: the joint's device. */
  get device(): "cpu" | "cuda" {
    return this.#device.device;
  }

  /** One run a call (frames, joint and head fused), rather than a chain of three. */
  get fused(): boolean {
    return this.#fused !== null;
  }

  /**
   * When fused, the copying path (every logit back to the host) over the fused session, owned by
   * this step: a model that has it needs no joint session of its own.
   */
  get joiner(): OrtJoiner | null {
    return this.#fusedJoiner;
  }

  /**
   * Builds the helper sessions beside `joint` (which stays owned by the caller). `options` are
   * the joint's session options. With `jointModel`, the joint's ONNX bytes, a call runs as one
   * session of the joint's graph with the helper nodes spliced in (onnx_splice.ts), and `joint`
   * is not used after this returns (the caller may close it and decode lone rows through
   * `joiner`). Without, or when the model cannot take the nodes (`onFallback` hears why), a
   * call chains three runs and `joint` must outlive this step.
   */
  static create(
    runtime: OrtRuntime,
    joint: InferenceSession,
    spec: TdtSpec,
    options: SessionOptions,
    jointModel?: Uint8Array,
    onFallback?: (why: string) => void,
  ): OrtDecodeStep {
    const dims = decodeStepDims(spec);
    const made: InferenceSession[] = [];
    const load = (graph: Uint8Array<ArrayBuffer>, name: string) => {
      const session = runtime.createSessionFromBytes(graph, name, options);
      made.push(session);
      return session;
    };
    try {
      let fused: InferenceSession | null = null;
      if (jointModel) {
        try {
          const bytes = spliceGraph(jointModel, stepAddition(dims));
          try {
            fused = load(bytes, "decode_step");
          } finally {
            // The joint's size again, freed now rather than whenever the GC gets to it.
            bytes.buffer.transfer(0);
          }
        } catch (e) {
          // The joint loaded on its own, so the chain serves: a model the splice cannot take, or
          // a fused graph ONNX Runtime refuses, costs speed, never the start.
          const why = e instanceof SpliceError
            ? e.message
            : `ONNX Runtime: ${(e as Error).message}`;
          onFallback?.(`decode step: three runs a call (${why})`);
        }
      }
      const chain = fused ? null : {
        frames: load(framesGraph(dims), "decode_step_frames"),
        head: load(headGraph(dims), "decode_step_head"),
      };
      const compact = load(compactGraph(dims), "decode_step_compact");
      return new OrtDecodeStep(spec, joint, { fused, chain, compact }, made);
    } catch (e) {
      for (const s of made) s.close();
      throw e;
    }
  }

  begin(rows: readonly TdtRow[]): DecodeStepBatch {
    return new OrtDecodeStepBatch(this, rows);
  }

  /** @internal */
  callValues(m: number): CallValues {
    let v = this.#calls.get(m);
    if (v) return v;
    const s = this.#values;
    const i64 = (name: string, dims: number[]) =>
      s.hostValue(name, { type: "int64", dims, data: new BigInt64Array(m) });
    v = {
      frameIndex: i64("frame_index", [m]),
      targets: s.hostValue("targets", { type: "int32", dims: [m, 1], data: new Int32Array(m) }),
      tokens: i64("token", [m, 1, 1]),
      durationIndex: i64("duration_index", [m, 1, 1]),
      rowSums: s.hostValue("row_sums", {
        type: "float32",
        dims: [m, 1, 1],
        data: new Float32Array(m),
      }),
      output: { tokens: new Int32Array(m), durationIndex: new Int32Array(m) },
    };
    this.#calls.set(m, v);
    return v;
  }

  /**
   * @internal The bindings one batch runs through, `encoder` bound once (on CUDA that is the
   * batch's one copy of the frames to the device). Owned and closed by the batch.
   */
  bindings(encoder: ResidentValue): Bindings {
    const made: IoBinding[] = [];
    try {
      const compact = this.#compact.ioBinding();
      made.push(compact);
      if (this.#fused) {
        const pair = [this.#fused.ioBinding(), this.#fused.ioBinding()] as [IoBinding, IoBinding];
        made.push(...pair);
        for (const fused of pair) fused.bindInput("encoder_frames", encoder);
        return { fused: pair, chain: null, compact };
      }
      const { frames: f, head: h } = this.#chain!;
      for (const s of [f, this.#joint!, h]) made.push(s.ioBinding());
      const [, frames, joint, head] = made;
      frames.bindInput("encoder_frames", encoder);
      return { fused: null, chain: { frames, joint, head }, compact };
    } catch (e) {
      for (const b of made) b.close();
      throw e;
    }
  }

  /**
   * @internal Binds one of a fused pair for calls of `v`'s row count that read states `from`
   * and write the states each row keeps into `to` (values of the same shape, owned by the batch).
   */
  pinFused(step: IoBinding, v: CallValues, from: States, to: States): void {
    step.bindInput("input_states_1", from[0]);
    step.bindInput("input_states_2", from[1]);
    this.#bindFusedOutputs(step, v, to);
  }

  #bindFusedOutputs(step: IoBinding, v: CallValues, to: States): void {
    step.clearOutputs();
    step.bindOutput("token", v.tokens);
    step.bindOutput("duration_index", v.durationIndex);
    step.bindOutput("row_sums", v.rowSums);
    step.bindOutput("kept_states_1", to[0]);
    step.bindOutput("kept_states_2", to[1]);
  }

  /** @internal One fused call over a binding `pinFused` set up: writes its `to` states. */
  runFused(step: IoBinding, v: CallValues, to: States): void {
    step.bindInput("frame_index", v.frameIndex);
    step.bindInput("targets", v.targets);
    step.run();
    if (v.rowSums.data.every(Number.isFinite)) return;
    // Rare: the same run again with the logits bound to host memory, to confirm and name the
    // value as the host path does. It reads the same states and writes the same kept states.
    let bad: number | undefined;
    try {
      step.bindOutputTo("outputs", this.#host);
      step.run();
      const values = boundOutputs(step, ["outputs"]);
      try {
        bad = (values[0].read("outputs").data as Float32Array).find((x) => !Number.isFinite(x));
      } finally {
        values[0].close();
      }
    } finally {
      // The logits must not keep going to the host: the binding's own outputs again.
      this.#bindFusedOutputs(step, v, to);
    }
    if (bad !== undefined) {
      throw new ModelOutputError(`decoder_joint returned a non-finite logit (${bad})`);
    }
  }

  /** @internal A chained call: see the file comment. Returns the states after it. */
  runChain(
    b: { frames: IoBinding; joint: IoBinding; head: IoBinding },
    states: States,
    v: CallValues,
  ): States {
    const device = this.#device;
    b.frames.bindInput("frame_index", v.frameIndex);
    b.frames.bindOutputTo("encoder_outputs", device);
    b.frames.bindOutputTo("target_length", device);
    b.frames.run();
    const [frames, lengths] = boundOutputs(b.frames, ["encoder_outputs", "target_length"]);
    try {
      const joint = b.joint;
      joint.bindInput("encoder_outputs", frames);
      joint.bindInput("targets", v.targets);
      joint.bindInput("target_length", lengths);
      joint.bindInput("input_states_1", states[0]);
      joint.bindInput("input_states_2", states[1]);
      for (const name of JOINT_OUTPUTS) joint.bindOutputTo(name, device);
      joint.run();
      const [logits, out1, out2] = boundOutputs(joint, JOINT_OUTPUTS);
      try {
        const head = b.head;
        head.bindInput("outputs", logits);
        head.bindInput("input_states_1", states[0]);
        head.bindInput("input_states_2", states[1]);
        head.bindInput("output_states_1", out1);
        head.bindInput("output_states_2", out2);
        head.bindOutput("token", v.tokens);
        head.bindOutput("duration_index", v.durationIndex);
        head.bindOutput("row_sums", v.rowSums);
        head.bindOutputTo("kept_states_1", device);
        head.bindOutputTo("kept_states_2", device);
        head.run();
        const [kept1, kept2] = boundOutputs(head, ["kept_states_1", "kept_states_2"]);
        if (!v.rowSums.data.every(Number.isFinite)) {
          // Rare: read the logits to confirm (finite logits can sum past float range too) and
          // to name the value, as the host path does.
          let bad: number | undefined;
          try {
            bad = this.#hostLogits(joint).find((x) => !Number.isFinite(x));
          } catch (e) {
            kept1.close();
            kept2.close();
            throw e;
          }
          if (bad !== undefined) {
            kept1.close();
            kept2.close();
            throw new ModelOutputError(`decoder_joint returned a non-finite logit (${bad})`);
          }
        }
        return [kept1, kept2];
      } finally {
        logits.close();
        out1.close();
        out2.close();
      }
    } finally {
      frames.close();
      lengths.close();
    }
  }

  /** The last joint run's logits in host memory: the same call again, its logits bound there. */
  #hostLogits(joint: IoBinding): Float32Array {
    joint.bindOutputTo("outputs", this.#host);
    for (const name of JOINT_OUTPUTS.slice(1)) joint.bindOutputTo(name, this.#device);
    joint.run();
    const values = boundOutputs(joint, JOINT_OUTPUTS);
    try {
      return values[0].read("outputs").data as Float32Array;
    } finally {
      for (const value of values) value.close();
    }
  }

  /**
   * @internal The states of the `keep` positions (left on the device), and the `done`
   * positions' states read back, [layers, rows, hidden] each.
   */
  compact(
    b: Bindings,
    states: States,
    keep: number[],
    done: number[],
  ): { kept: States; done: Float32Array[] } {
    const s = this.#values;
    using keepValue = s.hostValue("keep", {
      type: "int64",
      dims: [keep.length],
      data: BigInt64Array.from(keep, BigInt),
    });
    using doneValue = s.hostValue("done", {
      type: "int64",
      dims: [done.length],
      data: BigInt64Array.from(done, BigInt),
    });
    const compact = b.compact;
    let values: ResidentValue[];
    try {
      compact.bindInput("states_1", states[0]);
      compact.bindInput("states_2", states[1]);
      compact.bindInput("keep", keepValue);
      compact.bindInput("done", doneValue);
      compact.bindOutputTo("kept_1", this.#device);
      compact.bindOutputTo("kept_2", this.#device);
      compact.bindOutputTo("done_1", this.#host);
      compact.bindOutputTo("done_2", this.#host);
      compact.run();
      values = boundOutputs(compact, ["kept_1", "kept_2", "done_1", "done_2"]);
    } finally {
      // keep and done are released below: the binding must not keep pointing at them.
      compact.clearInputs();
    }
    const [kept1, kept2, done1, done2] = values;
    try {
      return {
        kept: [kept1, kept2],
        done: [
          done1.read("done_1").data as Float32Array,
          done2.read("done_2").data as Float32Array,
        ],
      };
    } catch (e) {
      kept1.close();
      kept2.close();
      throw e;
    } finally {
      done1.close();
      done2.close();
    }
  }

  /** @internal All `rows` states read back to host memory, [layers, rows, hidden] each. */
  readStates(b: Bindings, states: States, rows: number): Float32Array[] {
    const all = Array.from({ length: rows }, (_, i) => i);
    const { kept, done } = this.compact(b, states, all, all);
    kept[0].close();
    kept[1].close();
    return done;
  }

  /** @internal Uploads host states [layers, rows, hidden]. */
  upload(state1: Float32Array, state2: Float32Array, rows: number): States {
    const dims = [this.spec.stateLayers, rows, this.spec.stateHidden];
    const a = this.#values.allocate("float32", dims);
    const b = this.#values.allocate("float32", dims);
    a.write(state1);
    b.write(state2);
    return [a, b];
  }

  /** @internal */
  allocate(dims: readonly number[]): ResidentValue {
    return this.#values.allocate("float32", dims);
  }

  close(): void {
    for (const v of this.#calls.values()) {
      v.frameIndex.close();
      v.targets.close();
      v.tokens.close();
      v.durationIndex.close();
      v.rowSums.close();
    }
    this.#calls.clear();
    this.#fusedJoiner?.close();
    this.#device.close();
    this.#host.close();
    for (const s of this.#sessions) s.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

class OrtDecodeStepBatch implements DecodeStepBatch {
  #step: OrtDecodeStep;
  #rows: readonly TdtRow[];
  #encoder: ResidentValue;
  #bindings: Bindings | null = null;
  /** Index of each row's first frame in the batch's encoder frames. */
  #offsets: Int32Array;
  /** The rows of the last call, in call order: the rows `#states` holds. */
  #active: number[] = [];
  #states: States | null = null;
  /**
   * Fused: the states of the same shape the next call writes, and which of the pair reads
   * `#states`; null until the pair is bound for the current rows (`#pin`).
   */
  #spare: States | null = null;
  #turn = 0;
  /** Final states of the rows that finished, [layers, hidden] each. */
  #final = new Map<number, { state1: Float32Array; state2: Float32Array }>();

  constructor(step: OrtDecodeStep, rows: readonly TdtRow[]) {
    const { encoderDim } = step.spec;
    this.#step = step;
    this.#rows = rows;
    this.#offsets = new Int32Array(rows.length);
    let total = 0;
    rows.forEach((r, i) => {
      this.#offsets[i] = total;
      total += r.numFrames;
    });
    const frames = new Float32Array(total * encoderDim);
    rows.forEach((r, i) => {
      frames.set(r.frames.subarray(0, r.numFrames * encoderDim), this.#offsets[i] * encoderDim);
    });
    this.#encoder = step.allocate([total, encoderDim, 1]);
    try {
      this.#encoder.write(frames);
      this.#bindings = step.bindings(this.#encoder);
      // Every row's state goes up with the frames; rows the first call leaves out are
      // compacted away then (their states come back unchanged).
      this.#upload(Int32Array.from(rows.keys()));
    } catch (e) {
      this.close();
      throw e;
    }
  }

  step(m: number, rows: Int32Array, frames: Int32Array, targets: Int32Array): DecodeStepOutput {
    this.#follow(rows.subarray(0, m));
    const v = this.#step.callValues(m);
    const frameIndex = v.frameIndex.data;
    const lastTokens = v.targets.data;
    for (let j = 0; j < m; j++) {
      frameIndex[j] = BigInt(this.#offsets[rows[j]] + frames[j]);
      lastTokens[j] = targets[j];
    }
    const bindings = this.#bindings!;
    if (bindings.fused) {
      if (this.#spare === null) this.#pin(bindings.fused, v, m);
      const spare = this.#spare!;
      this.#step.runFused(bindings.fused[this.#turn], v, spare);
      this.#spare = this.#states;
      this.#states = spare;
      this.#turn ^= 1;
    } else {
      const next = this.#step.runChain(bindings.chain!, this.#states!, v);
      this.#closeStates();
      this.#states = next;
    }
    const { tokens, durationIndex } = v.output;
    for (let j = 0; j < m; j++) {
      tokens[j] = Number(v.tokens.data[j]);
      durationIndex[j] = Number(v.durationIndex.data[j]);
    }
    return v.output;
  }

  /** Binds the fused pair for `m` rows: one reads `#states`, writes a new spare; the other back. */
  #pin(pair: [IoBinding, IoBinding], v: CallValues, m: number): void {
    const { stateLayers: layers, stateHidden: hidden } = this.#step.spec;
    const states = this.#states!;
    const spare: States = [
      this.#step.allocate([layers, m, hidden]),
      this.#step.allocate([layers, m, hidden]),
    ];
    try {
      this.#step.pinFused(pair[0], v, states, spare);
      this.#step.pinFused(pair[1], v, spare, states);
    } catch (e) {
      spare[0].close();
      spare[1].close();
      throw e;
    }
    this.#spare = spare;
    this.#turn = 0;
  }

  #upload(rows: Int32Array): void {
    const { stateLayers: layers, stateHidden: hidden } = this.#step.spec;
    const m = rows.length;
    const s1 = new Float32Array(layers * m * hidden);
    const s2 = new Float32Array(layers * m * hidden);
    rows.forEach((i, j) => {
      const { state1, state2 } = this.#rows[i].state;
      for (let l = 0; l < layers; l++) {
        s1.set(state1.subarray(l * hidden, (l + 1) * hidden), (l * m + j) * hidden);
        s2.set(state2.subarray(l * hidden, (l + 1) * hidden), (l * m + j) * hidden);
      }
    });
    this.#states = this.#step.upload(s1, s2, m);
    this.#active = Array.from(rows);
  }

  /** Makes `#states` hold exactly `rows`, in order, compacting when rows have finished. */
  #follow(rows: Int32Array): void {
    const { stateLayers: layers, stateHidden: hidden } = this.#step.spec;
    const m = rows.length;
    const active = this.#active;
    if (m === active.length && rows.every((i, j) => active[j] === i)) return;
    const position = new Map(active.map((i, p) => [i, p]));
    const keep = Array.from(rows, (i) => {
      const p = position.get(i);
      // The greedy loop only drops rows; a row coming back would need its state re-uploaded.
      if (p === undefined) throw new RangeError(`decode step: row ${i} was not in the last call`);
      return p;
    });
    const kept = new Set(rows);
    const doneRows = active.filter((i) => !kept.has(i));
    const done = doneRows.map((i) => position.get(i)!);
    const result = this.#step.compact(this.#bindings!, this.#states!, keep, done);
    this.#closeStates();
    this.#states = result.kept;
    this.#active = Array.from(rows);
    doneRows.forEach((i, r) =>
      this.#final.set(i, unpackRow(result.done, layers, done.length, r, hidden))
    );
  }

  states(): { state1: Float32Array; state2: Float32Array }[] {
    const { stateLayers: layers, stateHidden: hidden } = this.#step.spec;
    let current: Float32Array[] | null = null;
    if (this.#states !== null) {
      current = this.#step.readStates(this.#bindings!, this.#states, this.#active.length);
    }
    const at = new Map(this.#active.map((i, p) => [i, p]));
    return this.#rows.map((row, i) => {
      const done = this.#final.get(i);
      if (done) return done;
      const p = at.get(i);
      if (current !== null && p !== undefined) {
        return unpackRow(current, layers, this.#active.length, p, hidden);
      }
      return { state1: row.state.state1.slice(), state2: row.state.state2.slice() };
    });
  }

  /** Closes the states (both of the fused pair's, which a new row count binds afresh). */
  #closeStates(): void {
    for (const pair of [this.#states, this.#spare]) {
      pair?.[0].close();
      pair?.[1].close();
    }
    this.#states = null;
    this.#spare = null;
  }

  close(): void {
    if (this.#bindings !== null) {
      const { fused, chain, compact } = this.#bindings;
      for (const b of [...(fused ?? []), compact, ...Object.values(chain ?? {})]) b.close();
      this.#bindings = null;
    }
    this.#encoder.close();
    this.#closeStates();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Row `j` of states [layers, rows, hidden] as TdtState's [layers, hidden]. */
function unpackRow(
  states: Float32Array[],
  layers: number,
  rows: number,
  j: number,
  hidden: number,
): { state1: Float32Array; state2: Float32Array } {
  const [state1, state2] = states.map((s) => {
    const out = new Float32Array(layers * hidden);
    for (let l = 0; l < layers; l++) {
      const from = (l * rows + j) * hidden;
      out.set(s.subarray(from, from + hidden), l * hidden);
    }
    return out;
  });
  return { state1, state2 };
}
