/**
 * The one status check: every `OrtStatus*` an OrtApi call returns goes through `check`, which
 * reads code and message, releases the status and throws an OrtError. Call sites stay one line.
 */
import type { OrtApi } from "./api_table.ts";
import { readCString } from "./native.ts";

/** OrtErrorCode names, indexed by their value in onnxruntime_c_api.h. */
const ERROR_CODES = [
  "OK",
  "FAIL",
  "INVALID_ARGUMENT",
  "NO_SUCHFILE",
  "NO_MODEL",
  "ENGINE_ERROR",
  "RUNTIME_EXCEPTION",
  "INVALID_PROTOBUF",
  "MODEL_LOADED",
  "NOT_IMPLEMENTED",
  "INVALID_GRAPH",
  "EP_FAIL",
  "MODEL_LOAD_CANCELED",
  "MODEL_REQUIRES_COMPILATION",
  "NOT_FOUND",
] as const;

export type OrtErrorCode = (typeof ERROR_CODES)[number] | `CODE_${number}`;

/** An error reported by ONNX Runtime: `code` is the OrtErrorCode name, `message` ORT's text. */
export class OrtError extends Error {
  override name = "OrtError";
  readonly code: OrtErrorCode;
  /** What this program was doing, e.g. "CreateSession". */
  readonly operation: string;
  constructor(code: OrtErrorCode, operation: string, message: string, options?: ErrorOptions) {
    super(`${operation} failed (${code}): ${message}`, options);
    this.code = code;
    this.operation = operation;
  }
}

export function errorCodeName(code: number): OrtErrorCode {
  return ERROR_CODES[code] ?? `CODE_${code}`;
}

/**
 * Throws OrtError when `status` is not NULL (NULL means success). The status is released
 * here, so callers never touch it again.
 */
export function check(api: OrtApi, status: Deno.PointerValue, operation: string): void {
  if (status === null) return;
  throw statusToError(api, status, operation);
}

/** Reads and releases a non-NULL status; for callers that must clean up before throwing. */
export function statusToError(
  api: OrtApi,
  status: Deno.PointerObject,
  operation: string,
): OrtError {
  try {
    const code = api.GetErrorCode.call(status);
    const msgPtr = api.GetErrorMessage.call(status);
    const message = msgPtr === null ? "(no message)" : readCString(msgPtr);
    return new OrtError(errorCodeName(code), operation, message);
  } finally {
    api.ReleaseStatus.call(status);
  }
}
