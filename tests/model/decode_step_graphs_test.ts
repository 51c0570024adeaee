/**
 * The decode step's helper graphs (src/model/decode_step_graphs.ts), emitted as ONNX bytes by
 * src/model/onnx_proto.ts: valid ONNX for the onnx package's full checker, and computing what the
 * host path computes — frame and state gathers, first-maximum argmaxes, the non-finite flag, and
 * the kept states (new after a token, old after a blank) scattered back into the batch.
 */
import assert from "node:assert/strict";
import { OrtRuntime, type Tensor } from "../../ffi/mod.ts";
import { argmax } from "../../src/decode/tdt_greedy.ts";
import { gatherGraph, headGraph } from "../../src/model/decode_step_graphs.ts";
import { haveNemoPython, NEMO_PYTHON } from "../nemo_python.ts";

const DIMS = {
  encoderDim: 4,
  stateLayers: 2,
  stateHidden: 3,
  numClasses: 5,
  numDurations: 3,
  blankId: 4,
};
const f32 = (dims: number[], data: number[] | Float32Array): Tensor => ({
  type: "float32",
  dims,
  data: Float32Array.from(data),
});
const i64 = (dims: number[], data: number[]): Tensor => ({
  type: "int64",
  dims,
  data: BigInt64Array.from(data, BigInt),
});
const iota = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

Deno.test("the gather graph picks each row's frame and states in the joint's layouts", () => {
  using runtime = OrtRuntime.load();
  using gather = runtime.createSessionFromBytes(gatherGraph(DIMS), "gather");
  const states = iota(3 * 2 * 3); // [N=3, L=2, H=3]
  const out = gather.run({
    encoder_frames: f32([6, 4, 1], iota(24)),
    frame_index: i64([2], [5, 1]),
    states_1: f32([3, 2, 3], states),
    states_2: f32([3, 2, 3], states.map((x) => -x)),
    row_index: i64([2], [2, 0]),
  });
  assert.deepEqual(out.encoder_outputs.dims, [2, 4, 1]);
  assert.deepEqual([...out.encoder_outputs.data], [20, 21, 22, 23, 4, 5, 6, 7]);
  // [L, M, H]: layer 0 of rows 2 and 0, then layer 1 of rows 2 and 0.
  assert.deepEqual(out.input_states_1.dims, [2, 2, 3]);
  assert.deepEqual([...out.input_states_1.data], [12, 13, 14, 0, 1, 2, 15, 16, 17, 3, 4, 5]);
  assert.deepEqual(
    [...out.input_states_2.data],
    [12, 13, 14, 0, 1, 2, 15, 16, 17, 3, 4, 5].map((x) => -x),
  );
  assert.deepEqual([...out.target_length.data], [1, 1]);
  assert.equal(out.target_length.type, "int32");
  assert.deepEqual(out.scatter_index.dims, [2, 1]);
  assert.deepEqual([...out.scatter_index.data], [2n, 0n]);
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
  const n = 7;
  const size = 2 * 3;
  const old = iota(2 * m * 3, 100); // [L, M, H]
  const fresh = iota(2 * m * 3, 500);
  const all = iota(n * size, 1000); // [N, L, H]
  const rows = [6, 0, 3, 1, 2, 5]; // batch row of each call row
  const out = head.run({
    outputs: f32([m, 1, 1, W], logits.flat()),
    input_states_1: f32([2, m, 3], old),
    input_states_2: f32([2, m, 3], old),
    output_states_1: f32([2, m, 3], fresh),
    output_states_2: f32([2, m, 3], fresh),
    states_1: f32([n, 2, 3], all),
    states_2: f32([n, 2, 3], all),
    scatter_index: i64([m, 1], rows),
  });
  const flat = Float32Array.from(logits.flat());
  const finiteRows = [0, 1, 2];
  for (const j of finiteRows) {
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

  const next = out.next_states_1.data as Float32Array;
  assert.deepEqual(out.next_states_1.dims, [n, 2, 3]);
  const tokens = Array.from(out.token.data as BigInt64Array, Number);
  for (let b = 0; b < n; b++) {
    const j = rows.indexOf(b);
    for (let l = 0; l < 2; l++) {
      for (let h = 0; h < 3; h++) {
        const got = next[(b * 2 + l) * 3 + h];
        const from = (l * m + j) * 3 + h;
        const want = j < 0
          ? all[(b * 2 + l) * 3 + h]
          : tokens[j] === DIMS.blankId
          ? old[from]
          : fresh[from];
        assert.equal(got, want, `batch row ${b} layer ${l} unit ${h}`);
      }
    }
  }
  assert.deepEqual([...out.next_states_2.data], [...next]);
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
      Deno.writeFileSync(`${dir}/gather.onnx`, gatherGraph(dims));
      Deno.writeFileSync(`${dir}/head.onnx`, headGraph(dims));
      const out = await new Deno.Command(NEMO_PYTHON, {
        args: [
          "-c",
          "import sys, onnx\nfor f in sys.argv[1:]: onnx.checker.check_model(onnx.load(f), full_check=True)",
          `${dir}/gather.onnx`,
          `${dir}/head.onnx`,
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
