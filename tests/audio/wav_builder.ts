// Builds WAV files byte by byte for tests (odd variants a recorder or a bug might produce).

export interface WavSpec {
  formatTag?: number;
  channels?: number;
  sampleRate?: number;
  bitsPerSample?: number;
  blockAlign?: number;
  /** Interleaved sample payload, already encoded. */
  data: Uint8Array;
  /** Declared data chunk size (defaults to data.length). */
  declaredDataSize?: number;
  /** Chunks before fmt / between fmt and data / after data. */
  before?: Uint8Array[];
  between?: Uint8Array[];
  after?: Uint8Array[];
  /** Use WAVE_FORMAT_EXTENSIBLE with this sub-format tag. */
  extensibleSubFormat?: number;
  omitFmt?: boolean;
  omitData?: boolean;
}

function u32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
function u16(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff];
}
function ascii(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0));
}

/** A RIFF chunk with its pad byte when the size is odd. */
export function chunk(id: string, body: Uint8Array | number[], declared?: number): Uint8Array {
  const b = body instanceof Uint8Array ? [...body] : body;
  const pad = b.length & 1 ? [0] : [];
  return new Uint8Array([...ascii(id), ...u32(declared ?? b.length), ...b, ...pad]);
}

export function buildWav(spec: WavSpec): Uint8Array {
  const channels = spec.channels ?? 1;
  const bits = spec.bitsPerSample ?? 16;
  const rate = spec.sampleRate ?? 16000;
  const blockAlign = spec.blockAlign ?? channels * Math.ceil(bits / 8);
  const tag = spec.extensibleSubFormat !== undefined ? 0xfffe : spec.formatTag ?? 1;
  const fmtBody = [
    ...u16(tag),
    ...u16(channels),
    ...u32(rate),
    ...u32(rate * blockAlign),
    ...u16(blockAlign),
    ...u16(bits),
  ];
  if (spec.extensibleSubFormat !== undefined) {
    fmtBody.push(...u16(22), ...u16(bits), ...u32(0));
    fmtBody.push(...u16(spec.extensibleSubFormat));
    fmtBody.push(
      0x00,
      0x00,
      0x00,
      0x00,
      0x10,
      0x00,
      0x80,
      0x00,
      0x00,
      0xaa,
      0x00,
      0x38,
      0x9b,
      0x71,
    );
  }
  const parts: Uint8Array[] = [...(spec.before ?? [])];
  if (!spec.omitFmt) parts.push(chunk("fmt ", fmtBody));
  parts.push(...(spec.between ?? []));
  if (!spec.omitData) {
    if (spec.declaredDataSize !== undefined && spec.declaredDataSize !== spec.data.length) {
      // A data chunk whose header lies about its size: no padding, body as given.
      parts.push(new Uint8Array([...ascii("data"), ...u32(spec.declaredDataSize), ...spec.data]));
    } else {
      parts.push(chunk("data", spec.data));
    }
  }
  parts.push(...(spec.after ?? []));
  const bodyLen = parts.reduce((a, p) => a + p.length, 4);
  const out = new Uint8Array(8 + bodyLen);
  out.set([...ascii("RIFF"), ...u32(bodyLen), ...ascii("WAVE")]);
  let o = 12;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** int16 LE bytes of the given integer samples. */
export function int16Bytes(values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 2);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setInt16(i * 2, x, true));
  return b;
}

/**
 * A mono 16-bit RF64 file of `samples`: a plain WAV re-labelled, a ds64 chunk first with the real
 * sizes, the data chunk's 32-bit size set to 0xFFFFFFFF, and 4 trailing bytes past the data.
 */
export function rf64Wav(samples: number[]): Uint8Array {
  const data = int16Bytes(samples);
  const riff = buildWav({ data });
  const ds64 = new Uint8Array(8 + 28);
  const dv = new DataView(ds64.buffer);
  ds64.set([0x64, 0x73, 0x36, 0x34]);
  dv.setUint32(4, 28, true);
  dv.setBigUint64(8, BigInt(riff.length + ds64.length - 8), true);
  dv.setBigUint64(16, BigInt(data.length), true);
  dv.setBigUint64(24, BigInt(samples.length), true);
  const out = new Uint8Array(riff.length + ds64.length + 4);
  out.set(riff.subarray(0, 12));
  out.set([0x52, 0x46, 0x36, 0x34, 0xff, 0xff, 0xff, 0xff]);
  out.set(ds64, 12);
  out.set(riff.subarray(12), 12 + ds64.length);
  new DataView(out.buffer).setUint32(out.length - 4 - data.length - 4, 0xffffffff, true);
  return out;
}
