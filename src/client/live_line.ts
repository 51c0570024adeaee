/**
 * One status line that updates in place on a terminal (`\r` + clear to end of line) and falls
 * back to plain lines when the output is a pipe or a file, so logs stay readable.
 */
export interface LineSink {
  writeSync(p: Uint8Array): number;
  isTerminal(): boolean;
}

const CLEAR = "\r\x1b[2K";

export class LiveLine {
  #out: LineSink;
  #tty: boolean;
  #width: number;
  #pending = false;
  #enc = new TextEncoder();

  constructor(out: LineSink, opts: { tty?: boolean; width?: number } = {}) {
    this.#out = out;
    this.#tty = opts.tty ?? out.isTerminal();
    this.#width = opts.width ?? terminalColumns();
  }

  get tty(): boolean {
    return this.#tty;
  }

  get width(): number {
    return this.#width;
  }

  /** Replaces the live line (a terminal) or prints a new line (anything else). */
  update(text: string): void {
    if (this.#tty) {
      this.#write(CLEAR + text);
      this.#pending = true;
    } else this.#write(text + "\n");
  }

  /** Prints a line that stays, clearing the live line first. */
  print(text: string): void {
    if (this.#tty && this.#pending) this.#write(CLEAR);
    this.#pending = false;
    this.#write(text + "\n");
  }

  /** Ends the live line so the next output starts on a fresh line. */
  done(): void {
    if (this.#tty && this.#pending) this.#write("\n");
    this.#pending = false;
  }

  #write(s: string): void {
    const bytes = this.#enc.encode(s);
    let off = 0;
    while (off < bytes.length) off += this.#out.writeSync(bytes.subarray(off));
  }
}

function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 80; // not a terminal
  }
}

/**
 * The end of `text` that fits in `width` columns, with "…" in front when cut: a live caption
 * shows the newest words. (Counts UTF-16 units; fine for the scripts the model outputs.)
 */
export function tailToWidth(text: string, width: number): string {
  if (width < 2 || text.length <= width) return text;
  return "…" + text.slice(text.length - (width - 1));
}
