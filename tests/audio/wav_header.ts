/** A plain 44-byte PCM WAV header followed by `dataBytes` of payload (zeros unless filled). */
export function pcmWav(
  sampleRate: number,
  bits: 8 | 16,
  dataBytes: number,
  channels = 1,
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(44 + dataBytes);
  const v = new DataView(out.buffer);
  const put = (at: number, s: string) => [...s].forEach((c, i) => (out[at + i] = c.charCodeAt(0)));
  put(0, "RIFF");
  v.setUint32(4, 36 + dataBytes, true);
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
  v.setUint32(40, dataBytes, true);
  if (bits === 8) out.fill(128, 44); // unsigned 8-bit silence
  return out;
}
