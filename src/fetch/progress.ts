/**
 * A download progress bar on stderr. On a terminal it redraws one line; elsewhere (a log file)
 * it prints a line every 10% so logs stay readable.
 */
export interface Progress {
  update(done: number): void;
  finish(done: number): void;
}

const WIDTH = 30;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function progressBar(
  label: string,
  total: number | null,
  write: (s: string) => void = (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)),
  isTerminal: boolean = Deno.stderr.isTerminal(),
): Progress {
  let lastDecile = -1;
  let lastDraw = 0;
  const line = (done: number) => {
    if (total === null || total <= 0) return `${label} ${formatBytes(done)}`;
    const frac = Math.min(1, done / total);
    const filled = Math.round(frac * WIDTH);
    return `${label} [${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}] ` +
      `${(frac * 100).toFixed(0).padStart(3)}% ${formatBytes(done)} / ${formatBytes(total)}`;
  };
  return {
    update(done) {
      if (isTerminal) {
        const now = Date.now();
        if (now - lastDraw < 100) return;
        lastDraw = now;
        write(`\r${line(done)}\x1b[K`);
      } else if (total) {
        const decile = Math.floor((done / total) * 10);
        if (decile > lastDecile && decile < 10) {
          lastDecile = decile;
          write(`${line(done)}\n`);
        }
      }
    },
    finish(done) {
      write(isTerminal ? `\r${line(done)}\x1b[K\n` : `${line(done)}\n`);
    },
  };
}
