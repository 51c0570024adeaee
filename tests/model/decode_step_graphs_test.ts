/**
 * The decode step's helper graphs (src/model/decode_step_graphs.ts), emitted as ONNX bytes by
 * src/model/onnx_proto.ts: valid ONNX for the onnx package's full checker, and computing what the
 * host path computes — the frame gather, first-maximum argmaxes, the non-finite check, the kept
 * states (new after a token, old after a blank) — and the compaction when rows finish.
 */
import assert from "node:assert/strict";
import { OrtRuntime } from "../../ffi/mod.ts";
import { f32, i64 } from "./graph_tensors.ts";
import { argmax } from "../../src/decode/tdt_greedy.ts";
import { compactGraph, framesGraph, headGraph } from "../../src/model/decode_step_graphs.ts";
import { haveNemoPython, NEMO_PYTHON } from "../nemo_python.ts";

const DIMS = {
  encoderDim: 4,
  stateLayers: 2,
  stateHidden: 3,
  numClasses: 5,
  numDurations: 3,
  blankId: 4,
};
const iota = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

Deno.test("the frames graph picks each row's frame in the joint's layout", () => {
  using runtime = OrtRuntime.load();
  using frames = runtime.createSessionFromBytes(framesGraph(DIMS), "frames");
  const out = frames.run({
    encoder_frames: f32([6, 4, 1], iota(24)),
    frame_index: i64([2], [5, 1]),
  });
  assert.deepEqual(out.encoder_outputs.dims, [2, 4, 1]);
  assert.deepEqual([...out.encoder_outputs.data], [20, 21, 22, 23, 4, 5, 6, 7]);
  assert.equal(out.target_length.type, "int32");
  assert.deepEqual([...out.target_length.data], [1, 1]);
});

Deno.test("the head graph: first-maximum argmaxes, row sums that flag non-finite logits, states kept only after a token", () => {
  using runtime = OrtRuntime.load();
  using head = runtime.createSessionFromBytes(headGraph(DIMS), "head");
  const W = DIMS.numClasses + DIMS.numDurations;
  const logits = [
    [0, 3, 3, 1, 0, 1, 5, 5], // token 1 (first of two maxima), duration 1
    [9, 0, 0, 0, 9, 0, 0, 0], // token 0 (before blank's equal logit), duration 0
    [0, 0, 0, 0, 7, 2, 1, 3], // blank, duration 2
    [0, NaN, 0, 0, 1, 0, 0, 0], // NaN
    [0, 0, -Infinity, 0, 1, 0, 0, 0], // -Inf
    [3e38, 3e38, 0, 0, 1, 0, 0, 0], // finite, but the row sum overflows: flagged to check
  ];
  const m = logits.length;
  const old = iota(2 * m * 3, 100); // [L, M, H]
  const fresh = iota(2 * m * 3, 500);
  const out = head.run({
    outputs: f32([m, 1, 1, W], logits.flat()),
    input_states_1: f32([2, m, 3], old),
    input_states_2: f32([2, m, 3], old.map((x) => -x)),
    output_states_1: f32([2, m, 3], fresh),
    output_states_2: f32([2, m, 3], fresh.map((x) => -x)),
  });
  const flat = Float32Array.from(logits.flat());
  for (const j of [0, 1, 2]) {
    assert.equal(
      Number(out.token.data[j]),
      argmax(flat, j * W, j * W + DIMS.numClasses),
      `row ${j}`,
    );
    assert.equal(
      Number(out.duration_index.data[j]),
      argmax(flat, j * W + DIMS.numClasses, (j + 1) * W),
    );
  }
  assert.deepEqual(out.token.dims, [m, 1, 1]);
  assert.deepEqual([...out.token.data.slice(0, 3)], [1n, 0n, 4n]);
  assert.deepEqual([...out.duration_index.data.slice(0, 3)], [1n, 0n, 2n]);
  // The row sum is not finite exactly for the rows with a NaN or an infinity — and for the
  // finite row whose sum overflows, which the caller then checks logit by logit.
  const sums = out.row_sums.data as Float32Array;
  assert.deepEqual([...sums].map(Number.isFinite), [true, true, true, false, false, false]);

  const tokens = Array.from(out.token.data as BigInt64Array, Number);
  assert.deepEqual(out.kept_states_1.dims, [2, m, 3]);
  for (let k = 0; k < 2 * m * 3; k++) {
    const j = Math.floor(k / 3) % m;
    const want = tokens[j] === DIMS.blankId ? old[k] : fresh[k];
    assert.equal(out.kept_states_1.data[k], want, `element ${k} (row ${j})`);
    assert.equal(out.kept_states_2.data[k], -want, `element ${k} (row ${j})`);
  }
});

Deno.test("the compact graph keeps some rows' states and hands back the others'", () => {
  using runtime = OrtRuntime.load();
  using compact = runtime.createSessionFromBytes(compactGraph(DIMS), "compact");
  const states = iota(2 * 4 * 3); // [L=2, P=4, H=3]
  const out = compact.run({
    states_1: f32([2, 4, 3], states),
    states_2: f32([2, 4, 3], states.map((x) => -x)),
    keep: i64([2], [0, 2]),
    done: i64([2], [1, 3]),
  });
  const rowsOf = (ps: number[]) =>
    [0, 1].flatMap((l) => ps.flatMap((p) => iota(3, (l * 4 + p) * 3)));
  assert.deepEqual(out.kept_1.dims, [2, 2, 3]);
  assert.deepEqual([...out.kept_1.data], rowsOf([0, 2]));
  assert.deepEqual([...out.kept_2.data], rowsOf([0, 2]).map((x) => -x));
  assert.deepEqual([...out.done_1.data], rowsOf([1, 3]));
  assert.deepEqual([...out.done_2.data], rowsOf([1, 3]).map((x) => -x));
  const none = compact.run({
    states_1: f32([2, 4, 3], states),
    states_2: f32([2, 4, 3], states),
    keep: i64([4], [0, 1, 2, 3]),
    done: i64([0], []),
  });
  assert.deepEqual(none.done_1.dims, [2, 0, 3]);
});

Deno.test({
  name: "the decode step graphs pass the onnx package's full checker",
  ignore: !haveNemoPython("the ONNX checker test of the decode step graphs"),
  fn: async () => {
    const dir = Deno.makeTempDirSync({ prefix: "decode-step-graphs-" });
    try {
      const dims = {
        ...DIMS,
        encoderDim: 1024,
        stateHidden: 640,
        numClasses: 8193,
        numDurations: 5,
        blankId: 8192,
      };
      const graphs = { frames: framesGraph, head: headGraph, compact: compactGraph };
      for (const [name, graph] of Object.entries(graphs)) {
        Deno.writeFileSync(`${dir}/${name}.onnx`, graph(dims));
      }
      const out = await new Deno.Command(NEMO_PYTHON, {
        args: [
          "-c",
          "import sys, onnx\nfor f in sys.argv[1:]: onnx.checker.check_model(onnx.load(f), full_check=True)",
          `${dir}/frames.onnx`,
          `${dir}/head.onnx`,
          `${dir}/compact.onnx`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
