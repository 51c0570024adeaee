/**
 * The knobs of an attack run: the server's limits (passed as its environment; a server that
 * does not know a knob ignores it, and the attack then shows the limit missing) and the size of
 * each attack. Quick mode uses small timeouts so the whole run fits in a minute.
 */
export interface AttackKnobs {
  /** Server environment; the numbers below are read from it. */
  server: Record<string, string>;
  slowlorisConnections: number;
  idleConnections: number;
  /** Connections beyond MAX_CONNECTIONS_PER_CLIENT in the flood. */
  floodExtra: number;
  /** Keepalive-only WebSockets beyond MAX_STREAMS_PER_CLIENT. */
  keepaliveExtra: number;
  fragmentBytes: number;
  fragments: number;
  declaredFrameBytes: number;
  closeCodes: number;
  bruteForceAttempts: number;
  uploadsAtOnce: number;
  /** A timed close counts as on time up to this many seconds after its limit. */
  closeSlackS: number;
  /** How long an upload bomb may take to be answered. */
  bombAnswerS: number;
  /** How long the 1 h FLAC may take to be refused or capped. */
  longFileAnswerS: number;
  /** RSS growth allowed while a huge message is being sent. */
  messageRssMiB: number;
}

const MIB = 1 << 20;

export function defaultKnobs(quick: boolean): AttackKnobs {
  return {
    server: {
      HEADER_TIMEOUT_S: quick ? "2" : "10",
      KEEPALIVE_TIMEOUT_S: quick ? "2" : "5",
      IDLE_TIMEOUT_S: quick ? "3" : "10",
      CLOSE_TIMEOUT_S: "2",
      // The run ends with SIGTERM: a server busy with a bomb must not hold it for long.
      SHUTDOWN_TIMEOUT_S: "2",
      MAX_CONNECTIONS_PER_CLIENT: quick ? "8" : "32",
      MAX_STREAMS_PER_CLIENT: quick ? "4" : "8",
      MAX_UPLOADS: "4",
      // The 1 h FLAC and the 1.4 h WAV are over this: refused, not decoded for minutes.
      MAX_UPLOAD_S: quick ? "600" : "1800",
      // Wrong tokens per address per minute before 429.
      AUTH_MAX_FAILURES: "10",
      MAX_FRAME_BYTES: String(MIB),
      STEP_MS: "240",
      // The foreign-Origin attack needs an allow-list; the neighbour sends no Origin.
      ALLOWED_ORIGINS: "http://127.0.0.1:8000",
    },
    slowlorisConnections: quick ? 12 : 64,
    idleConnections: quick ? 4 : 16,
    floodExtra: quick ? 8 : 64,
    keepaliveExtra: quick ? 2 : 8,
    fragmentBytes: MIB / 2,
    fragments: 160,
    declaredFrameBytes: 70 * MIB,
    closeCodes: 500,
    bruteForceAttempts: quick ? 40 : 200,
    uploadsAtOnce: 10,
    closeSlackS: 2,
    bombAnswerS: 1,
    longFileAnswerS: quick ? 3 : 30,
    messageRssMiB: 32,
  };
}

/** A server knob as a number. */
export function knob(k: AttackKnobs, name: string): number {
  const v = Number(k.server[name]);
  if (!Number.isFinite(v)) throw new Error(`knob ${name} is not a number: "${k.server[name]}"`);
  return v;
}

/**
 * Applies `NAME=VALUE` settings: an attack size when NAME is one (slowlorisConnections=64),
 * else a server knob (HEADER_TIMEOUT_S=5).
 */
export function applySettings(k: AttackKnobs, settings: readonly string[]): AttackKnobs {
  const out: AttackKnobs = { ...k, server: { ...k.server } };
  for (const s of settings) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new Error(`--set takes NAME=VALUE, got "${s}"`);
    const name = s.slice(0, eq);
    const value = s.slice(eq + 1);
    if (name in out && name !== "server") {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got "${value}"`);
      (out as unknown as Record<string, number>)[name] = n;
    } else out.server[name] = value;
  }
  return out;
}
