/** The feature extractor takes its frame hop from the model's window_stride, not its own default. */
import assert from "node:assert/strict";
import { LogMelExtractor } from "../../src/audio/log_mel.ts";
import { PARAKEET_LOG_MEL_CONFIG } from "../../src/audio/log_mel_config.ts";
import { featureSettings, parseModelConfig } from "../../src/model/model_config.ts";
import { frameMs } from "../../src/stream/frame_geometry.ts";

const config = (extra: Record<string, unknown> = {}) =>
  parseModelConfig(JSON.stringify({ model_type: "nemo-conformer-tdt", ...extra }));

Deno.test("featureSettings: Parakeet's defaults are the extractor's own (16 kHz, 160-sample hop)", () => {
  const s = featureSettings(config());
  assert.deepEqual(s, { sampleRate: 16000, hopLength: 160 });
  assert.equal(s.hopLength, PARAKEET_LOG_MEL_CONFIG.hopLength);
});

Deno.test("featureSettings: another window_stride moves the hop, and frames last what the geometry counts", () => {
  const c = config({ window_stride: 0.02 });
  const s = featureSettings(c);
  assert.equal(s.hopLength, 320);
  const ex = new LogMelExtractor(s);
  assert.equal(ex.config.hopLength / ex.config.sampleRate * 1000, frameMs(c));
});
