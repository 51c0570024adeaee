/** A plain PCM WAV (44-byte header) holding `data` as it is. */
export function wavOf(
  data: Uint8Array,
  sampleRate = 16000,
  bits: 8 | 16 = 16,
  channels = 1,
): Uint8Array<ArrayBuffer> {
  const header = 44;
  const out = new Uint8Array(header + data.length);
  const v = new DataView(out.buffer);
  const put = (at: number, s: string) => [...s].forEach((c, i) => (out[at + i] = c.charCodeAt(0)));
  put(0, "RIFF");
  v.setUint32(4, 36 + data.length, true);
  put(8, "WAVE");
  put(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, sampleRate, true);
  const block = channels * (bits / 8);
  v.setUint32(28, sampleRate * block, true);
  v.setUint16(32, block, true);
  v.setUint16(34, bits, true);
  put(36, "data");
  v.setUint32(40, data.length, true);
  out.set(data, header);
  return out;
}

/** A plain 44-byte PCM WAV header followed by `dataBytes` of silence. */
export function pcmWav(
  sampleRate: number,
  bits: 8 | 16,
  dataBytes: number,
  channels = 1,
): Uint8Array<ArrayBuffer> {
  // Unsigned 8-bit silence is 128; signed 16-bit silence is 0.
  return wavOf(new Uint8Array(dataBytes).fill(bits === 8 ? 128 : 0), sampleRate, bits, channels);
}
