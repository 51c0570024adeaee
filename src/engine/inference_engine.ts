import type { InferenceRequest, InferenceResult } from "./inference_contract.ts";
import type { FromWorker, LoadedModel, LoadSpec, ToWorker } from "./worker_protocol.ts";

/** Inference failed for one batch (model error, worker crash, deadline): its streams end. */
export class InferenceError extends Error {
  override name = "InferenceError";
}

interface Pending {
  resolve: (r: InferenceResult) => void;
  reject: (e: Error) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * The main isolate's handle on the inference worker. `run` never blocks the event loop. If the
 * worker dies or a batch passes its deadline, every pending batch is rejected and the next
 * `run` starts a fresh worker (the model is loaded again), so one bad batch cannot wedge the
 * server.
 */
export class InferenceEngine {
  readonly model: LoadedModel;
  #spec: LoadSpec;
  #worker: Worker;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;
  #deadlineMs: number;
  #restarting: Promise<void> | null = null;
  restarts = 0;
  /** Called each time the worker is replaced (after a batch timed out or the worker died). */
  onRestart: () => void = () => {};

  private constructor(spec: LoadSpec, worker: Worker, model: LoadedModel, deadlineMs: number) {
    this.#spec = spec;
    this.#worker = worker;
    this.model = model;
    this.#deadlineMs = deadlineMs;
    this.#attach(worker);
  }

  /** Starts the worker and loads the model; rejects with the load error's message. */
  static async start(spec: LoadSpec, opts: { deadlineMs?: number } = {}): Promise<InferenceEngine> {
    const { worker, model } = await spawn(spec);
    return new InferenceEngine(spec, worker, model, opts.deadlineMs ?? 60_000);
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  async run(request: InferenceRequest): Promise<InferenceResult> {
    if (this.#closed) throw new InferenceError("the inference engine is closed");
    if (this.#restarting) await this.#restarting;
    const id = this.#nextId++;
    const transfer: Transferable[] = [];
    for (const w of request.windows) transfer.push(w.features.buffer as ArrayBuffer);
    return await new Promise<InferenceResult>((resolve, reject) => {
      const pending: Pending = { resolve, reject };
      pending.timer = setTimeout(() => {
        this.#failAll(
          new InferenceError(`inference batch passed its ${this.#deadlineMs} ms deadline`),
        );
        this.#restart();
      }, this.#deadlineMs);
      this.#pending.set(id, pending);
      this.#worker.postMessage({ type: "run", id, request } satisfies ToWorker, transfer);
    });
  }

  #attach(worker: Worker): void {
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const msg = event.data;
      if (msg.type !== "result" && msg.type !== "failed") return;
      const pending = this.#pending.get(msg.id);
      if (!pending) return;
      this.#pending.delete(msg.id);
      clearTimeout(pending.timer);
      if (msg.type === "result") pending.resolve(msg.result);
      else pending.reject(new InferenceError(`${msg.error.name}: ${msg.error.message}`));
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#failAll(new InferenceError(`inference worker crashed: ${event.message}`));
      this.#restart();
    };
  }

  #failAll(err: Error): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.#pending.delete(id);
    }
  }

  #restart(): void {
    if (this.#closed || this.#restarting) return;
    this.restarts++;
    this.onRestart();
    this.#worker.terminate();
    this.#restarting = spawn(this.#spec).then(({ worker }) => {
      this.#worker = worker;
      this.#attach(worker);
    }).finally(() => {
      this.#restarting = null;
    });
  }

  /** Releases the model and ONNX Runtime; pending batches are rejected. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#restarting) await this.#restarting.catch(() => {});
    this.#failAll(new InferenceError("the inference engine is closed"));
    const worker = this.#worker;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => resolve(), 2000);
      worker.onmessage = (e: MessageEvent<FromWorker>) => {
        if (e.data.type === "closed") {
          clearTimeout(timer);
          resolve();
        }
      };
      worker.postMessage({ type: "close" } satisfies ToWorker);
    });
    // Not terminated: see the "close" case in inference_worker.ts.
    worker.onmessage = null;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function spawn(spec: LoadSpec): Promise<{ worker: Worker; model: LoadedModel }> {
  const worker = new Worker(new URL("./inference_worker.ts", import.meta.url), { type: "module" });
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const msg = event.data;
      if (msg.type === "loaded") resolve({ worker, model: msg.model });
      if (msg.type === "load_failed") {
        worker.terminate();
        reject(Object.assign(new Error(msg.error.message), { name: msg.error.name }));
      }
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      worker.terminate();
      reject(new InferenceError(`inference worker failed to start: ${event.message}`));
    };
    worker.postMessage({ type: "load", spec } satisfies ToWorker);
  });
}
