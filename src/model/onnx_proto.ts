/**
 * A minimal writer of ONNX ModelProto bytes: just enough protobuf to describe small graphs of
 * standard operators with typed, symbolically shaped inputs and outputs, integer attributes and
 * small constant initializers. ONNX Runtime loads the bytes directly (CreateSessionFromArray), so
 * helper graphs are built at load time from the model's own dimensions and need no file on
 * disk, no Python and no code generator to stay in step with.
 *
 * Field numbers are onnx.proto3's (onnx/onnx.proto): they are part of the format and fixed.
 */

/** TensorProto.DataType values. */
export const OnnxType = { float: 1, int32: 6, int64: 7, bool: 9 } as const;
export type OnnxTypeCode = (typeof OnnxType)[keyof typeof OnnxType];

/** A dimension: a fixed size or a symbolic name shared by the values that must agree. */
export type Dim = number | string;

export type AttributeValue = number | readonly number[] | ConstantTensor;

export interface ConstantTensor {
  type: typeof OnnxType.int32 | typeof OnnxType.int64 | typeof OnnxType.float;
  dims: readonly number[];
  values: readonly number[];
}

interface Node {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes: Record<string, AttributeValue>;
}

interface ValueInfo {
  name: string;
  type: OnnxTypeCode;
  dims: readonly Dim[];
}

/** Builds one graph, then the model bytes around it. */
export class OnnxGraph {
  readonly name: string;
  #nodes: Node[] = [];
  #inputs: ValueInfo[] = [];
  #outputs: ValueInfo[] = [];
  #initializers: { name: string; tensor: ConstantTensor }[] = [];

  constructor(name: string) {
    this.name = name;
  }

  input(name: string, type: OnnxTypeCode, dims: readonly Dim[]): string {
    this.#inputs.push({ name, type, dims });
    return name;
  }

  output(name: string, type: OnnxTypeCode, dims: readonly Dim[]): string {
    this.#outputs.push({ name, type, dims });
    return name;
  }

  constant(name: string, tensor: ConstantTensor): string {
    this.#initializers.push({ name, tensor });
    return name;
  }

  /** Adds a node; returns its first output's name for chaining. */
  node(
    op: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attributes: Record<string, AttributeValue> = {},
  ): string {
    this.#nodes.push({ op, inputs, outputs, attributes });
    return outputs[0];
  }

  /**
   * The GraphProto's nodes, initializers, inputs and outputs, without its name: what
   * onnx_splice.ts appends to another model's graph.
   */
  graphFields(): Uint8Array<ArrayBuffer> {
    return this.#graphWriter().finish();
  }

  /** The serialized ModelProto (default domain at `opset`). */
  toBytes(opset: number, irVersion: number): Uint8Array<ArrayBuffer> {
    const graph = this.#graphWriter();
    graph.string(2, this.name);

    const opsetId = new ProtoWriter();
    opsetId.string(1, "");
    opsetId.varint(2, opset);

    const model = new ProtoWriter();
    model.varint(1, irVersion);
    model.string(2, "parakeet-server");
    model.message(7, graph);
    model.message(8, opsetId);
    return model.finish();
  }

  #graphWriter(): ProtoWriter {
    const graph = new ProtoWriter();
    for (const n of this.#nodes) graph.message(1, nodeProto(n));
    for (const i of this.#initializers) graph.message(5, tensorProto(i.tensor, i.name));
    for (const v of this.#inputs) graph.message(11, valueInfoProto(v));
    for (const v of this.#outputs) graph.message(12, valueInfoProto(v));
    return graph;
  }
}

function nodeProto(n: Node): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.outputs[0]);
  w.string(4, n.op);
  for (const [name, value] of Object.entries(n.attributes)) {
    const a = new ProtoWriter();
    a.string(1, name);
    if (typeof value === "number") {
      a.varint(3, value);
      a.varint(20, 2); // AttributeType INT
    } else if (Array.isArray(value)) {
      for (const v of value as readonly number[]) a.varint(8, v);
      a.varint(20, 7); // INTS
    } else {
      a.message(5, tensorProto(value as ConstantTensor));
      a.varint(20, 4); // TENSOR
    }
    w.message(5, a);
  }
  return w;
}

function tensorProto(t: ConstantTensor, name?: string): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.varint(1, d);
  w.varint(2, t.type);
  if (t.type === OnnxType.float) {
    w.packedFloats(4, t.values);
  } else {
    // int32_data (5) and int64_data (7): packed varints.
    w.packedVarints(t.type === OnnxType.int32 ? 5 : 7, t.values);
  }
  if (name !== undefined) w.string(8, name);
  return w;
}

function valueInfoProto(v: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) {
    const dim = new ProtoWriter();
    if (typeof d === "number") dim.varint(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter();
  tensorType.varint(1, v.type);
  tensorType.message(2, shape);
  const type = new ProtoWriter();
  type.message(1, tensorType);
  const w = new ProtoWriter();
  w.string(1, v.name);
  w.message(2, type);
  return w;
}

const utf8 = new TextEncoder();

/** Protobuf wire encoding: varints (wire type 0), length-delimited (2), fixed32 floats. */
class ProtoWriter {
  #bytes: number[] = [];

  varint(field: number, value: number): void {
    this.#tag(field, 0);
    this.#raw(value);
  }

  string(field: number, value: string): void {
    this.bytes(field, utf8.encode(value));
  }

  bytes(field: number, value: Uint8Array): void {
    this.#tag(field, 2);
    this.#raw(value.length);
    for (const b of value) this.#bytes.push(b);
  }

  message(field: number, value: ProtoWriter): void {
    this.bytes(field, value.finish());
  }

  packedVarints(field: number, values: readonly number[]): void {
    const inner = new ProtoWriter();
    for (const v of values) inner.#raw(v);
    this.bytes(field, inner.finish());
  }

  packedFloats(field: number, values: readonly number[]): void {
    this.bytes(field, new Uint8Array(Float32Array.from(values).buffer));
  }

  finish(): Uint8Array<ArrayBuffer> {
    return Uint8Array.from(this.#bytes);
  }

  #tag(field: number, wireType: number): void {
    this.#raw(field * 8 + wireType);
  }

  /** Base-128 varint; negative integers as 64-bit two's complement (ten bytes), as int64 wants. */
  #raw(value: number): void {
    if (!Number.isSafeInteger(value)) throw new RangeError(`varint ${value} is not an integer`);
    let v = BigInt.asUintN(64, BigInt(value));
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      this.#bytes.push(byte);
    } while (v !== 0n);
  }
}
