import assert from "node:assert/strict";
import type { InferenceRequest, InferenceResult } from "../../src/engine/inference_contract.ts";
import { BatchScheduler, laneShare } from "../../src/stream/batch_scheduler.ts";
import type { SessionWork, StreamSession } from "../../src/stream/stream_session.ts";

/** A stream with `ready` chunks waiting; records what it was given and told. */
class FakeStream {
  taken: number[] = [];
  completed = 0;
  failed = 0;
  inFlight = false;
  constructor(readonly name: string, public ready: number) {}
  readyChunks(limit: number): number {
    return this.inFlight ? 0 : Math.min(this.ready, limit);
  }
  takeWork(max: number): SessionWork | null {
    const n = Math.min(this.ready, max);
    if (this.inFlight || n === 0) return null;
    this.inFlight = true;
    this.ready -= n;
    this.taken.push(n);
    const windows = Array.from({ length: n }, () => ({
      features: new Float32Array(1),
      columns: 1,
      valid: 1,
    }));
    return {
      session: this as unknown as StreamSession,
      utterance: null as never,
      work: {
        steps: [],
        windows,
        parts: windows.map((_, i) => ({ window: i, encoderOffset: 0, encoderCount: 1 })),
        state: null as never,
        readyAt: 0,
      },
    };
  }
  completeWork(): void {
    this.inFlight = false;
    this.completed++;
  }
  failWork(): void {
    this.inFlight = false;
    this.failed++;
  }
}

/** A live stream: one chunk ready whenever none is in flight. */
class RefillingStream extends FakeStream {
  override completeWork(): void {
    super.completeWork();
    this.ready = 1;
  }
}

/** A runner whose batches the test settles by hand. */
class ManualRunner {
  pending: { request: InferenceRequest; settle: (ok: boolean) => void }[] = [];
  run(request: InferenceRequest): Promise<InferenceResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({
        request,
        settle: (ok) =>
          ok
            ? resolve({
              rows: request.rows.map(() => ({
                tokens: [],
                frames: [],
                durations: [],
                state: null as never,
              })),
              tentative: request.rows.map(() => null),
              stats: { encoderCalls: 1, jointCalls: 0, encodeMs: 0, decodeMs: 0 },
            })
            : reject(new Error("model failed")),
      });
    });
  }
  async settleNext(ok = true): Promise<void> {
    this.pending.shift()!.settle(ok);
    await new Promise((r) => setTimeout(r, 0));
  }
}

function scheduler(maxBatch: number, maxInflight: number, streams: FakeStream[], lanes = 1) {
  const runner = new ManualRunner();
  const s = new BatchScheduler(runner, { maxBatch, maxInflight, lanes });
  for (const f of streams) s.add(f as unknown as StreamSession);
  return { s, runner };
}

Deno.test("BatchScheduler gives every ready stream one chunk before any gets a second", () => {
  const a = new FakeStream("a", 5);
  const b = new FakeStream("b", 1);
  const c = new FakeStream("c", 2);
  const { s, runner } = scheduler(6, 1, [a, b, c]);
  s.wake();
  assert.equal(runner.pending.length, 1);
  assert.equal(runner.pending[0].request.windows.length, 6);
  assert.deepEqual([a.taken, b.taken, c.taken], [[3], [1], [2]]);
  // One row per stream, its windows consecutive.
  assert.deepEqual(runner.pending[0].request.rows.map((r) => r.parts.map((p) => p.window)), [
    [0, 1, 2],
    [3],
    [4, 5],
  ]);
});

Deno.test("BatchScheduler holds at most maxInflight batches and starts the next when one ends", async () => {
  const streams = [new FakeStream("a", 1), new FakeStream("b", 1), new FakeStream("c", 1)];
  const { s, runner } = scheduler(1, 2, streams);
  s.wake();
  assert.equal(runner.pending.length, 2);
  assert.equal(s.inflight, 2);
  await runner.settleNext();
  assert.equal(runner.pending.length, 2, "the third stream's batch started");
  assert.deepEqual(streams.map((f) => f.taken.length), [1, 1, 1]);
  await runner.settleNext();
  await runner.settleNext();
  assert.equal(s.inflight, 0);
  await s.idle();
});

Deno.test("BatchScheduler rotates so that no stream starves when more are ready than fit", async () => {
  const streams = Array.from({ length: 5 }, (_, i) => new FakeStream(String(i), 100));
  const { s, runner } = scheduler(2, 1, streams);
  s.wake();
  for (let i = 0; i < 9; i++) await runner.settleNext();
  const served = streams.map((f) => f.taken.length);
  assert.ok(Math.max(...served) - Math.min(...served) <= 1, `uneven service: ${served}`);
  await runner.settleNext();
});

Deno.test("BatchScheduler reports a failed batch's streams and keeps scheduling others", async () => {
  const a = new FakeStream("a", 1);
  const b = new FakeStream("b", 1);
  const { s, runner } = scheduler(1, 1, [a, b]);
  const failedSessions: unknown[][] = [];
  s.onBatchFailed = (sessions) => failedSessions.push(sessions);
  s.wake();
  await runner.settleNext(false);
  assert.deepEqual(failedSessions, [[a]]);
  assert.equal(a.failed, 1);
  assert.equal(runner.pending.length, 1, "b's batch runs");
  await runner.settleNext();
  assert.equal(b.completed, 1);
});

Deno.test("BatchScheduler skips removed streams and rejects a nonsensical configuration", () => {
  const a = new FakeStream("a", 1);
  const { s, runner } = scheduler(4, 1, [a]);
  s.remove(a as unknown as StreamSession);
  s.wake();
  assert.equal(runner.pending.length, 0);
  assert.throws(() => new BatchScheduler(runner, { maxBatch: 0, maxInflight: 1 }), RangeError);
});

Deno.test("laneShare: an equal share for each idle lane, everything for the only one", () => {
  assert.equal(laneShare(30, 2, 32), 15);
  assert.equal(laneShare(31, 2, 32), 16);
  assert.equal(laneShare(30, 1, 32), 30);
  assert.equal(laneShare(30, 0, 32), 30, "no idle lane: the batch waits its turn whole");
  assert.equal(laneShare(80, 2, 32), 32, "never past MAX_BATCH");
  assert.equal(laneShare(1, 2, 32), 1);
  assert.equal(laneShare(7, 2, 32), 7, "under MIN_LANE_SHARE each: kept whole");
  assert.equal(laneShare(8, 2, 32), 4);
  assert.equal(laneShare(12, 3, 32), 4);
  assert.equal(laneShare(11, 3, 32), 6, "as many lanes as get MIN_LANE_SHARE");
});

Deno.test("BatchScheduler with two lanes splits work ready at once and keeps it split", async () => {
  // Streams whose next chunk is ready again as soon as the last one comes back: every stream
  // of a batch returns together, as streams opened together do.
  const streams = Array.from({ length: 10 }, (_, i) => new RefillingStream(String(i), 1));
  const { s, runner } = scheduler(32, 2, streams, 2);
  s.wake();
  assert.deepEqual(runner.pending.map((p) => p.request.windows.length), [5, 5]);
  for (let round = 0; round < 4; round++) {
    await runner.settleNext();
    await runner.settleNext();
    assert.deepEqual(
      runner.pending.map((p) => p.request.windows.length),
      [5, 5],
      `round ${round}: both lanes have half the streams`,
    );
  }
  // With one lane nothing changes: everything ready rides in the one batch.
  const one = Array.from({ length: 10 }, (_, i) => new FakeStream(String(i), 1));
  const single = scheduler(32, 1, one, 1);
  single.s.wake();
  assert.deepEqual(single.runner.pending.map((p) => p.request.windows.length), [10]);
  // Too little to split: three streams ride together though two lanes are idle.
  const few = Array.from({ length: 3 }, (_, i) => new FakeStream(String(i), 1));
  const small = scheduler(32, 2, few, 2);
  small.s.wake();
  assert.deepEqual(small.runner.pending.map((p) => p.request.windows.length), [3]);
});

Deno.test("BatchScheduler with two lanes splits streams that are behind, not only their windows", async () => {
  // Ten streams three chunks behind each, both lanes idle. Taking one chunk from every stream
  // first would put all ten in one batch and leave the second lane nothing to run.
  const streams = Array.from({ length: 10 }, (_, i) => new FakeStream(String(i), 3));
  const { s, runner } = scheduler(32, 2, streams, 2);
  s.wake();
  assert.deepEqual(runner.pending.map((p) => p.request.windows.length), [15, 15]);
  assert.deepEqual(runner.pending.map((p) => p.request.rows.length), [5, 5]);
  assert.deepEqual(streams.map((f) => f.taken), Array(10).fill([3]));
  // Behind by more than a batch holds: each lane still gets its half of the streams.
  const far = Array.from({ length: 10 }, (_, i) => new FakeStream(String(i), 8));
  const big = scheduler(32, 2, far, 2);
  big.s.wake();
  assert.deepEqual(big.runner.pending.map((p) => p.request.rows.length), [5, 5]);
  assert.deepEqual(big.runner.pending.map((p) => p.request.windows.length), [32, 32]);
  await runner.settleNext();
  await runner.settleNext();
  await big.runner.settleNext();
  await big.runner.settleNext();
  // Nothing more is ready in the first set; the second set's streams go on with what is left.
  await s.idle();
});

Deno.test("BatchScheduler with two lanes: a lane free while the other runs takes all that is ready", async () => {
  const a = new FakeStream("a", 1);
  const b = new FakeStream("b", 1);
  const { s, runner } = scheduler(32, 2, [a], 2);
  s.wake();
  assert.equal(runner.pending.length, 1);
  // Three more streams become ready while a's batch runs on the first lane: one idle lane left.
  const later = [b, new FakeStream("c", 1), new FakeStream("d", 1)];
  for (const f of later) s.add(f as unknown as StreamSession);
  s.wake();
  assert.deepEqual(runner.pending.map((p) => p.request.windows.length), [1, 3]);
  await runner.settleNext();
  await runner.settleNext();
  await s.idle();
});

Deno.test("BatchScheduler rejects zero lanes", () => {
  assert.throws(
    () => new BatchScheduler(new ManualRunner(), { maxBatch: 4, maxInflight: 1, lanes: 0 }),
    RangeError,
  );
});
