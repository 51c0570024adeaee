/**
 * The training curves of every recipe whose model is in the repository, from the `history` its
 * config.json keeps (held-out WER and loss against minutes of training on 2 cores), as JSON and
 * two SVG charts for the README.
 *
 *   deno run -A bench/training_curves.ts [--out bench/results/training-curves]
 *     [MODEL_DIR=label …]   (default: models/demo and models/test/tiny-tdt)
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { lineChartSvg, type Series } from "./chart.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

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
    options: { out: { type: "string", default: `${ROOT}bench/results/training-curves` } },
  });
  const models = positionals.length > 0 ? positionals : [
    `${ROOT}models/demo=demo, stage 1: digits (2.9 M parameters)`,
    `${ROOT}models/test/tiny-tdt=tiny-tdt test model: numbers (1.2 M)`,
  ];
  const recipes = models.map((arg) => {
    const [dir, label] = arg.split("=");
    const config = JSON.parse(Deno.readTextFileSync(`${dir}/config.json`));
    const t = config.training;
    return {
      label: label ?? dir,
      dir: dir.replace(ROOT, ""),
      steps: t.steps,
      minutes: t.minutes,
      batch_size: t.batch_size,
      clips: t.clips,
      history: t.history as HistoryPoint[],
    };
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
