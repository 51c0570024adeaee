/**
 * The process's open-file limit (RLIMIT_NOFILE) through libc's getrlimit/setrlimit. Every
 * accepted connection is a file descriptor; a server left at a 1024 soft limit with a hard limit
 * far above it runs out early for nothing. Linux x86-64 and aarch64 only: `struct rlimit` is two
 * 64-bit integers there and RLIMIT_NOFILE is 7.
 */
const RLIMIT_NOFILE = 7;
/** `RLIM_INFINITY`: all bits set. */
const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

const SYMBOLS = {
  // int getrlimit(int resource, struct rlimit *rlim)
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  // int setrlimit(int resource, const struct rlimit *rlim)
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
} as const;

export interface FileLimit {
  /** The limit in force (Infinity: none). */
  soft: number;
  /** The most the soft limit may be raised to without privileges (Infinity: none). */
  hard: number;
}

function toNumber(v: bigint): number {
  return v === RLIM_INFINITY ? Infinity : Number(v);
}

/**
 * Raises the soft open-file limit to the hard one (the most an unprivileged process may) and
 * returns the limits now in force. Returns null where libc cannot be opened (not Linux): the
 * caller keeps its configured caps.
 */
export function raiseFileLimit(): { before: FileLimit; after: FileLimit } | null {
  if (Deno.build.os !== "linux") return null;
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    lib = Deno.dlopen("libc.so.6", SYMBOLS);
  } catch {
    return null;
  }
  try {
    const limits = new BigUint64Array(2);
    const bytes = new Uint8Array(limits.buffer);
    if (lib.symbols.getrlimit(RLIMIT_NOFILE, bytes) !== 0) return null;
    const before = { soft: toNumber(limits[0]), hard: toNumber(limits[1]) };
    if (limits[0] !== limits[1]) {
      limits[0] = limits[1];
      // A refusal (a hard limit of infinity some kernels cap at nr_open) leaves the old one.
      lib.symbols.setrlimit(RLIMIT_NOFILE, bytes);
      lib.symbols.getrlimit(RLIMIT_NOFILE, bytes);
    }
    return { before, after: { soft: toNumber(limits[0]), hard: toNumber(limits[1]) } };
  } finally {
    lib.close();
  }
}
