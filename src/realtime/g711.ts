/**
 * G.711 (ITU-T) companded telephony audio, 8 kHz, one byte per sample: μ-law (`audio/pcmu`)
 * and A-law (`audio/pcma`) decoded to float samples in [-1, 1). The tables hold the linear
 * 16-bit value of every byte, as the reference decoder computes it.
 */

const MULAW = new Float32Array(256);
const ALAW = new Float32Array(256);

for (let byte = 0; byte < 256; byte++) {
  // μ-law: bits are inverted on the wire; 3 exponent bits, 4 mantissa bits, bias 0x84.
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = (((u & 0x0f) << 3) + 0x84) << exponent;
  MULAW[byte] = ((u & 0x80) ? 0x84 - magnitude : magnitude - 0x84) / 32768;
  // A-law: even bits are inverted on the wire; segment 0 is linear.
  const a = byte ^ 0x55;
  const segment = (a >> 4) & 0x07;
  let linear = (a & 0x0f) << 4;
  linear = segment === 0 ? linear + 8 : (linear + 0x108) << (segment - 1);
  ALAW[byte] = ((a & 0x80) ? linear : -linear) / 32768;
}

/** μ-law bytes to float samples (same count, same rate). */
export function decodeMulaw(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = MULAW[bytes[i]];
  return out;
}

/** A-law bytes to float samples (same count, same rate). */
export function decodeAlaw(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = ALAW[bytes[i]];
  return out;
}
