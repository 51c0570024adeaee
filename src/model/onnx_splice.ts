/**
 * Adds a small graph of our own to a model's ONNX bytes, so that the model's nodes and ours run
 * as one ONNX Runtime session: one run where a chain of sessions would take several. Only the
 * top level of the ModelProto and of its GraphProto is read (a field's tag and length), so the
 * weights are copied as bytes, never decoded, and the model's own nodes stay exactly as they
 * are. Protobuf merges repeated fields, so the added nodes, initializers, inputs and outputs go
 * before and after the graph's own (nodes stay in topological order); the model inputs the
 * addition now produces are the only fields taken out.
 *
 * Field numbers are onnx.proto3's (onnx/onnx.proto): they are part of the format and fixed.
 */

/** The model cannot take the addition as it is; the caller keeps its sessions apart. */
export class SpliceError extends Error {
  override name = "SpliceError";
}

interface Field {
  field: number;
  wireType: number;
  /** The whole field, tag included: [start, end). */
  start: number;
  end: number;
  /** A length-delimited field's payload: [valueStart, end). A varint's value otherwise. */
  valueStart: number;
  varint: number;
}

const MODEL_GRAPH = 7;
const MODEL_OPSET_IMPORT = 8;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_SPARSE_INITIALIZER = 15;
const GRAPH_INPUT = 11;
const NODE_OUTPUT = 2;
const NAMED_NAME = 1; // ValueInfoProto.name, OperatorSetIdProto.domain
const OPSET_VERSION = 2;
const TENSOR_NAME = 8;
const TENSOR_DATA_LOCATION = 14;
const DATA_LOCATION_EXTERNAL = 1;

function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const b = bytes[i];
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) {
      if (!Number.isSafeInteger(value)) throw new SpliceError(`varint at ${at} is too large`);
      return { value, next: i + 1 };
    }
  }
  throw new SpliceError(`truncated varint at byte ${at}`);
}

/** The top-level fields of one message. */
function fields(bytes: Uint8Array): Field[] {
  const out: Field[] = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    const tag = readVarint(bytes, at);
    const field = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    at = tag.next;
    let valueStart = at;
    let varint = 0;
    if (wireType === 0) {
      const v = readVarint(bytes, at);
      varint = v.value;
      at = v.next;
    } else if (wireType === 1) {
      at += 8;
    } else if (wireType === 5) {
      at += 4;
    } else if (wireType === 2) {
      const len = readVarint(bytes, at);
      valueStart = len.next;
      at = len.next + len.value;
    } else {
      throw new SpliceError(`unsupported protobuf wire type ${wireType} at byte ${start}`);
    }
    if (at > bytes.length || field === 0) {
      throw new SpliceError(`malformed protobuf field at byte ${start}`);
    }
    out.push({ field, wireType, start, end: at, valueStart, varint });
  }
  return out;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const payload = (bytes: Uint8Array, f: Field) => bytes.subarray(f.valueStart, f.end);
const text = (bytes: Uint8Array, f: Field) => utf8.decode(payload(bytes, f));

/** The string fields numbered `field` of a message. */
function strings(message: Uint8Array, field: number): string[] {
  return fields(message).filter((f) => f.field === field && f.wireType === 2).map((f) =>
    text(message, f)
  );
}

function encodeVarint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return out;
}

/** The default domain's opset the model imports (0 when it names none). */
export function defaultOpset(model: Uint8Array): number {
  let opset = 0;
  for (const f of fields(model)) {
    if (f.field !== MODEL_OPSET_IMPORT || f.wireType !== 2) continue;
    const id = payload(model, f);
    const parts = fields(id);
    const domain = parts.find((p) => p.field === NAMED_NAME);
    const name = domain ? text(id, domain) : "";
    if (name !== "" && name !== "ai.onnx") continue;
    const version = parts.find((p) => p.field === OPSET_VERSION && p.wireType === 0);
    opset = Math.max(opset, version?.varint ?? 0);
  }
  return opset;
}

export interface Addition {
  /**
   * GraphProto fields (nodes, initializers, inputs, outputs) put before the model's graph's:
   * the nodes that make the inputs `produces` names. ONNX wants nodes in topological order.
   */
  before: Uint8Array;
  /** GraphProto fields put after the model's graph's: the nodes that read its outputs. */
  after: Uint8Array;
  /** Model inputs the addition's nodes produce: removed from the graph's inputs. */
  produces: readonly string[];
  /** The lowest default-domain opset the addition's operators are written for. */
  minOpset: number;
}

/**
 * `model` with `addition` merged into its graph. Throws SpliceError when the model imports an
 * older opset than the addition needs, keeps weights in external files (bytes handed to ONNX
 * Runtime have no folder to find them in), lacks an input the addition produces, or already
 * names a value the addition adds.
 */
export function spliceGraph(model: Uint8Array, addition: Addition): Uint8Array<ArrayBuffer> {
  const top = fields(model);
  const graphFields = top.filter((f) => f.field === MODEL_GRAPH && f.wireType === 2);
  if (graphFields.length !== 1) throw new SpliceError("the model has no single graph");
  const opset = defaultOpset(model);
  if (opset < addition.minOpset) {
    throw new SpliceError(`the model's opset ${opset} is older than ${addition.minOpset}`);
  }
  const graph = payload(model, graphFields[0]);
  const graphParts = fields(graph);

  const produced = new Set(addition.produces);
  const names = new Set<string>();
  const kept: Field[] = [];
  const inputsSeen = new Set<string>();
  for (const f of graphParts) {
    const body = f.wireType === 2 ? payload(graph, f) : null;
    if (f.field === GRAPH_INPUT && body) {
      const name = strings(body, NAMED_NAME)[0] ?? "";
      if (produced.has(name)) {
        inputsSeen.add(name);
        continue;
      }
      names.add(name);
    } else if (f.field === GRAPH_NODE && body) {
      for (const out of strings(body, NODE_OUTPUT)) names.add(out);
    } else if ((f.field === GRAPH_INITIALIZER || f.field === GRAPH_SPARSE_INITIALIZER) && body) {
      const tensorFields = fields(body);
      const name = tensorFields.find((t) => t.field === TENSOR_NAME && t.wireType === 2);
      if (name) names.add(text(body, name));
      const location = tensorFields.find((t) => t.field === TENSOR_DATA_LOCATION);
      if (location?.varint === DATA_LOCATION_EXTERNAL) {
        throw new SpliceError("the model keeps its weights in external data files");
      }
    }
    kept.push(f);
  }
  for (const name of produced) {
    if (!inputsSeen.has(name)) throw new SpliceError(`the model has no input named ${name}`);
  }
  for (const name of [...addedNames(addition.before), ...addedNames(addition.after)]) {
    if (names.has(name)) throw new SpliceError(`the model already has a value named ${name}`);
  }

  const graphLength = kept.reduce((n, f) => n + f.end - f.start, 0) +
    addition.before.length + addition.after.length;
  const graphHead = [MODEL_GRAPH * 8 + 2, ...encodeVarint(graphLength)];
  let modelLength = graphHead.length + graphLength;
  for (const f of top) if (f !== graphFields[0]) modelLength += f.end - f.start;

  const out = new Uint8Array(modelLength);
  let at = 0;
  const copy = (bytes: Uint8Array) => {
    out.set(bytes, at);
    at += bytes.length;
  };
  for (const f of top) {
    if (f !== graphFields[0]) {
      copy(model.subarray(f.start, f.end));
      continue;
    }
    copy(Uint8Array.from(graphHead));
    copy(addition.before);
    for (const g of kept) copy(graph.subarray(g.start, g.end));
    copy(addition.after);
  }
  return out;
}

/** The value names an addition defines: its nodes' outputs, initializers and inputs. */
function addedNames(graphFields: Uint8Array): string[] {
  const out: string[] = [];
  for (const f of fields(graphFields)) {
    if (f.wireType !== 2) continue;
    const body = payload(graphFields, f);
    if (f.field === GRAPH_NODE) out.push(...strings(body, NODE_OUTPUT));
    else if (f.field === GRAPH_INITIALIZER) out.push(...strings(body, TENSOR_NAME));
    else if (f.field === GRAPH_INPUT) out.push(...strings(body, NAMED_NAME));
  }
  return out;
}
