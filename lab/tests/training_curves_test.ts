/**
 * lab/demo-model/training_curves.ts: a model directory that is gone keeps the curve the last run wrote for
 * it; one that is gone and was never drawn is an error, and nothing is written over.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SCRIPT = `${ROOT}lab/demo-model/training_curves.ts`;

async function curves(out: string, models: string[]) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, "--out", out, ...models],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, text: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

Deno.test("training curves: a model that is gone keeps its curve; one never drawn is an error", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const out = `${tmp}/curves`;
    const gone = "bench/work/a-try-that-is-gone";
    const kept = {
      label: "a try",
      dir: gone,
      steps: 10,
      minutes: 1,
      batch_size: 32,
      clips: 5,
      history: [{ step: 10, minutes: 1, loss: 3.5, heldout_wer: 0.9 }],
    };
    Deno.writeTextFileSync(`${out}.json`, JSON.stringify({ recipes: [kept] }));

    const ok = await curves(out, [`${ROOT}${gone}=a try`, `${ROOT}models/test/tiny-tdt=tiny`]);
    assert.equal(ok.code, 0, ok.text);
    assert.match(ok.text, /not on disk; its curve is kept/);
    const written = JSON.parse(Deno.readTextFileSync(`${out}.json`)).recipes;
    assert.deepEqual(written[0], kept);
    assert.equal(written[1].dir, "models/test/tiny-tdt");
    assert.ok(written[1].history.length > 0);

    const before = Deno.readTextFileSync(`${out}.json`);
    const bad = await curves(out, [`${ROOT}bench/work/never-drawn=x`]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.text, /NotFound|No such file/);
    assert.equal(Deno.readTextFileSync(`${out}.json`), before, "nothing written over");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("training curves: two fine-tunes of one run draw that run once, each its own part after it", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const point = (step: number, minutes: number) => ({ step, minutes, loss: 1, heldout_wer: 0.1 });
    const base = { stage: 1, steps: 100, minutes: 10, history: [point(100, 10)] };
    const model = (name: string, before: typeof base, minutes: number) => {
      Deno.mkdirSync(`${tmp}/${name}`);
      const training = {
        steps: 50,
        minutes,
        batch_size: 32,
        clips: 9,
        history: [point(50, minutes)],
      };
      Deno.writeTextFileSync(
        `${tmp}/${name}/config.json`,
        JSON.stringify({ training, fine_tuned_from: before }),
      );
    };
    model("shipped", base, 5);
    // The second try fine-tunes the shipped one: the runs before it are base's and shipped's.
    model(
      "try",
      { stage: 1, steps: 150, minutes: 15, history: [point(100, 10), point(150, 15)] },
      4,
    );
    model("other", base, 6);
    const r = await curves(`${tmp}/curves`, [`${tmp}/shipped=s`, `${tmp}/try=t`, `${tmp}/other=o`]);
    assert.equal(r.code, 0, r.text);
    const recipes = JSON.parse(Deno.readTextFileSync(`${tmp}/curves.json`)).recipes;
    assert.deepEqual(recipes.map((x: { label: string }) => x.label), [
      "stage 1, which it fine-tunes",
      "s",
      "t",
      "o",
    ]);
    assert.deepEqual(recipes[2].history.map((p: { minutes: number }) => p.minutes), [19]);
    assert.deepEqual(recipes[3].history.map((p: { minutes: number }) => p.minutes), [16]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
