/** Fresh speech clips for tests, made with espeak-ng and sox at test time (never committed). */

export const WORDS = [
  "zero",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
  "oh",
];
const VOICES = ["en-us", "en+m4", "en-gb-scotland", "en+f3", "en-us+m2", "en+klatt"];

export async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const err = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${err}`);
  return new TextDecoder().decode(out.stdout);
}

/** Fresh 16 kHz clips: a seeded mix of words, voices and speeds. */
export async function synthesize(dir: string, count: number, seed: number): Promise<string[]> {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = 2 + Math.floor(next() * 5);
    const text = Array.from({ length: n }, () => WORDS[Math.floor(next() * WORDS.length)]).join(
      " ",
    );
    const voice = VOICES[Math.floor(next() * VOICES.length)];
    const speed = 120 + Math.floor(next() * 80);
    const raw = `${dir}/raw${i}.wav`;
    const wav = `${dir}/clip${i}.wav`;
    await run("espeak-ng", ["-v", voice, "-s", String(speed), "-w", raw, text]);
    await run("sox", [raw, "-r", "16000", "-c", "1", "-b", "16", wav]);
    files.push(wav);
  }
  return files;
}
