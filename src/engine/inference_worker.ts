/// <reference lib="deno.worker" />
/**
 * The inference worker: owns ONNX Runtime and the model, and runs each batch synchronously
 * (the TDT loop makes many small joint calls; a blocking call in a worker costs ~6 µs where an
 * awaited non-blocking one costs ~75 µs). The main isolate only serves sockets.
 */
import { OrtRuntime } from "../../ffi/mod.ts";
import { ParakeetModel } from "../model/parakeet_model.ts";
import { runInference } from "./batch_inference.ts";
import { applyFault, faultFor, FAULTS_ENV, faultsFromEnv } from "./fault_injection.ts";
import { type FromWorker, serializeError, type ToWorker } from "./worker_protocol.ts";

let runtime: OrtRuntime | undefined;
const faults = faultsFromEnv();
let model: ParakeetModel | undefined;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  switch (msg.type) {
    case "load": {
      try {
        runtime = OrtRuntime.load({ libPath: msg.spec.libPath });
        const warnings: string[] = [];
        if (faults.length > 0) {
          warnings.push(`${FAULTS_ENV} is set: test-only fault injection is active`);
        }
        model = ParakeetModel.load(runtime, msg.spec.modelDir, {
          precision: msg.spec.precision,
          device: msg.spec.device,
          session: msg.spec.session,
          onWarning: (w) => warnings.push(w),
        });
        post({
          type: "loaded",
          model: { spec: model.spec, device: model.device, ortVersion: runtime.version, warnings },
        });
      } catch (err) {
        model?.close();
        runtime?.close();
        post({ type: "load_failed", error: serializeError(err) });
      }
      return;
    }
    case "run": {
      if (!model) {
        post({ type: "failed", id: msg.id, error: { name: "Error", message: "model not loaded" } });
        return;
      }
      try {
        const fault = faults.length ? faultFor(faults, msg.request) : undefined;
        const result = runInference(fault ? applyFault(fault, model) : model, msg.request);
        const transfer: Transferable[] = [];
        for (const r of result.rows) {
          transfer.push(r.state.state1.buffer as ArrayBuffer, r.state.state2.buffer as ArrayBuffer);
        }
        post({ type: "result", id: msg.id, result }, transfer);
      } catch (err) {
        post({ type: "failed", id: msg.id, error: serializeError(err) });
      }
      return;
    }
    case "close": {
      model?.close();
      runtime?.close();
      model = undefined;
      runtime = undefined;
      // The thread is left parked, not closed: a worker thread that exits while the process is
      // exiting runs ONNX Runtime's thread-local destructors against its static ones (seen as
      // a segfault at exit after SIGTERM). A parked worker does not keep the process alive.
      post({ type: "closed" });
      return;
    }
  }
};
