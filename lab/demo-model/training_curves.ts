/**
 * The training curves of every recipe whose model is in the repository, from the `history` its
 * config.json keeps (held-out WER and loss against minutes of training on 2 cores), as JSON and
 * two SVG charts for the README. A fine-tune (config.json `fine_tuned_from`) is drawn after the
 * run it continues.
 *
 *   deno run -A lab/demo-model/training_curves.ts [--out lab/demo-model/training-curves/training-curves]
 *     [MODEL_DIR=label …]   (default: models/demo, the tries of stages 1d, 1f, 1g, 1h and 2,
 *     and models/test/tiny-tdt)
 *
 * A model directory that is gone (the tries were never committed) keeps its curve from the JSON
 * the last run wrote.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { lineChartSvg, type Series } from "../../bench/chart.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface HistoryPoint {
  step: number;
  minutes: number;
  loss: number;
  heldout_wer: number;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      out: { type: "string", default: `${ROOT}lab/demo-model/training-curves/training-curves` },
    },
  });
  const models = positionals.length > 0 ? positionals : [
    // The shipped model (1i) is 1e and 1h averaged: its config keeps 1h's run and the runs 1h
    // continues (stages 1 to 1e), drawn as one curve up to 1e and 1h's part after it.
    `${ROOT}models/demo=demo, stage 1h, averaged with 1e into the shipped 1i: digits (2.9 M parameters)`,
    `${ROOT}.tools/demo-1d-out=demo, stage 1d try: 1c with pitch targets (not shipped)`,
    `${ROOT}.tools/demo-1f-out=demo, stage 1f try: 1e for 1,000 more steps (not shipped)`,
    `${ROOT}.tools/demo-1g-out=demo, stage 1g try: 1e with festival's voices of other languages (not shipped)`,
    `${ROOT}.tools/demo-stage2/model=demo, stage 2 try: numbers, letters, words (3.0 M; not shipped)`,
    `${ROOT}models/test/tiny-tdt=tiny-tdt test model: numbers (1.2 M)`,
  ];
  // A model no longer on disk (a try not committed) keeps the points the last run wrote.
  let previous: { label: string; dir: string; history: HistoryPoint[] }[] = [];
  try {
    previous = JSON.parse(Deno.readTextFileSync(`${values.out}.json`)).recipes;
  } catch { /* first run */ }
  const drawnEnds: number[] = [];
  const recipes = models.flatMap((arg) => {
    const [dir, label] = arg.split("=");
    let config;
    try {
      config = JSON.parse(Deno.readTextFileSync(`${dir}/config.json`));
    } catch (e) {
      const kept = previous.filter((r) => r.dir === dir.replace(ROOT, ""));
      if (kept.length === 0) throw e;
      console.log(`${dir}: not on disk; its curve is kept from ${values.out}.json`);
      return kept;
    }
    const t = config.training;
    // A fine-tune continues another run: that run is drawn first, the fine-tune after it.
    const before = config.fine_tuned_from as
      | { stage: number; steps: number; minutes: number; history: HistoryPoint[] }
      | undefined;
    const offset = before?.minutes ?? 0;
    const recipe = {
      label: label ?? dir,
      dir: dir.replace(ROOT, ""),
      steps: t.steps,
      minutes: t.minutes,
      batch_size: t.batch_size,
      clips: t.clips,
      ...(before ? { after_minutes_of_stage: { stage: before.stage, minutes: offset } } : {}),
      history: (t.history as HistoryPoint[]).map((p) => ({ ...p, minutes: p.minutes + offset })),
    };
    // A try that continues a run already drawn (another fine-tune of the shipped model) draws
    // only its own part: the runs before it end where that one does.
    const continuesDrawn = before !== undefined &&
      drawnEnds.some((end) => Math.abs(end - before.minutes) < 0.05);
    drawnEnds.push(offset + t.minutes);
    if (!before || continuesDrawn) return [recipe];
    drawnEnds.push(before.minutes);
    return [{
      label: `stage ${before.stage}, which it fine-tunes`,
      dir: recipe.dir,
      steps: before.steps,
      minutes: before.minutes,
      batch_size: t.batch_size,
      clips: null,
      history: before.history,
    }, recipe];
  });
  const series = (pick: (p: HistoryPoint) => number): Series[] =>
    recipes.map((r) => ({ label: r.label, points: r.history.map((p) => [p.minutes, pick(p)]) }));
  Deno.writeTextFileSync(`${values.out}.json`, JSON.stringify({ recipes }, null, 1) + "\n");
  Deno.writeTextFileSync(
    `${values.out}-wer.svg`,
    lineChartSvg(
      "Held-out WER during training (2 CPU cores)",
      "minutes of training",
      "held-out WER (%)",
      series((p) => Math.round(p.heldout_wer * 1000) / 10),
    ),
  );
  Deno.writeTextFileSync(
    `${values.out}-loss.svg`,
    lineChartSvg(
      "Training loss (TDT, mean of the last 50 steps)",
      "minutes of training",
      "loss",
      series((p) => p.loss),
    ),
  );
  console.log(`wrote ${values.out}.json, -wer.svg, -loss.svg`);
}
