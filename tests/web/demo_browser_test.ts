/**
 * The browser demo in a real, headless Chromium (Debian's `chromium`, driven by playwright-core)
 * against the real server. Two paths, two honest claims:
 *
 * - **File picker**: the page sends a 16 kHz PCM16 WAV's own bytes, so the server hears exactly
 *   what `transcribe` reads; the final shown must equal `transcribe`'s output, character for
 *   character. The server runs with the whole utterance as left context and 1.04 s of right
 *   context, where the streamed final of this clip equals offline decoding (with left and right
 *   context longer than the utterance, every window sees all of it) while partials still arrive
 *   before the end.
 * - **Microphone**: Chromium's fake capture device plays a WAV (the clip between silences)
 *   through its own resampling and then ours (the AudioWorklet, at 16 kHz and at 48 kHz), so
 *   the samples differ slightly from the file's. The claim there is: partials appear while
 *   "speaking", and the final after Stop holds the clip's words in order.
 *
 * - **What the server knows**: with the bundled demo model (MODEL unset) the banner says it
 *   recognises digits only, as the model's config.json does; a WAV of two clips with a pause
 *   between them, streamed with the page's pause length set, lists two segments with their
 *   times, whose texts make up the final. Every page shows the model's name, device and
 *   precision, settled words apart from tentative ones, each word's time and the partials'
 *   measured latency.
 *
 * All run with AUTH_TOKEN set and the page opened as `/?token=…`, so the page's token path is
 * covered too. Screenshots go to tests/artifacts/ (git-ignored); UPDATE_DEMO_SCREENSHOT=1 also
 * writes docs/demo.png (the documentation's screenshot of the demo) from the segments test.
 */
import assert from "node:assert/strict";
import { clipPcmBytes, CLIPS_DIR, ROOT, TINY_MODEL } from "../engine/fixtures.ts";
import { wavOf } from "../audio/wav_header.ts";
import { parseModelConfig } from "../../src/model/model_config.ts";
import { wavPcm16Mono16k } from "../../src/audio/wav.ts";
import { startTestServer, type TestServer } from "../server/harness.ts";
import { VERSION } from "../../src/version.ts";

const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
const ARTIFACTS = `${ROOT}tests/artifacts`;
const CLIP = "digits_pi.wav";
const DEMO_MODEL = `${ROOT}models/demo`;
const TOKEN = "demo-token-42";
/** Whole-utterance left context and 1.04 s of right context: see the header. */
const SERVER_KNOBS = { AUTH_TOKEN: TOKEN, LEFT_CONTEXT_MS: "20000", RIGHT_CONTEXT_MS: "1040" };

const chromiumInstalled = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
if (!chromiumInstalled) {
  console.error(
    `browser demo tests skipped: Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`,
  );
}

async function transcribeCli(file: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, "transcribe", "--model", TINY_MODEL, file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

/** The clip between silences, as a 16 kHz PCM16 WAV for Chromium's fake microphone. */
function fakeMicWav(clip: string, path: string, leadS: number, tailS: number): number {
  const pcm = clipPcmBytes(clip);
  const lead = new Uint8Array(Math.round(leadS * 16000) * 2);
  const tail = new Uint8Array(Math.round(tailS * 16000) * 2);
  const data = new Uint8Array(lead.length + pcm.length + tail.length);
  data.set(lead);
  data.set(pcm, lead.length);
  const out = wavOf(data);
  Deno.writeFileSync(path, out);
  return pcm.length / 32000;
}

/** 16 kHz PCM16 mono clips joined by `pauseS` of silence, as one WAV. */
function clipsWithPause(paths: string[], pauseS: number, out: string): void {
  const pause = new Uint8Array(Math.round(pauseS * 16000) * 2);
  const parts = paths.flatMap((p, i) => {
    const pcm = wavPcm16Mono16k(Deno.readFileSync(p), p);
    return i === 0 ? [pcm] : [pause, pcm];
  });
  const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  Deno.writeFileSync(out, wavOf(data));
}

// deno-lint-ignore no-explicit-any
type Page = any;

async function withBrowser(
  fakeMic: string | null,
  fn: (newPage: () => Promise<Page>) => Promise<void>,
): Promise<void> {
  // A test-only dependency, imported here rather than declared in deno.json so that nothing on
  // the serving path can come to depend on npm.
  // deno-lint-ignore no-import-prefix
  const { chromium } = await import("npm:playwright-core@1.57.0");
  const args = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
  ];
  // %noloop: play the file once (Chromium loops it otherwise).
  if (fakeMic) args.push(`--use-file-for-fake-audio-capture=${fakeMic}%noloop`);
  const userDataDir = await Deno.makeTempDir({ prefix: "chromium-profile-" });
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    viewport: { width: 900, height: 560 },
  });
  try {
    const errors: string[] = [];
    await fn(async () => {
      const page = await context.newPage();
      page.on("pageerror", (e: Error) => errors.push(e.message));
      page.on("console", (m: { type(): string; text(): string }) => {
        if (m.type() === "error") errors.push(m.text());
      });
      return page;
    });
    assert.deepEqual(
      errors.filter((e) => !/Failed to load resource|WebSocket connection to/.test(e)),
      [],
    );
  } finally {
    await context.close();
    await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
  }
}

async function openDemo(page: Page, srv: TestServer, query = `?token=${TOKEN}`): Promise<void> {
  await page.goto(`${srv.http}/${query}`);
  await page.waitForSelector("body[data-ready='1']");
}

const finalText = (page: Page): Promise<string> =>
  page.$eval(
    "#finals .final:last-child",
    (e: { dataset: Record<string, string | undefined> }) => e.dataset.text ?? "",
  );

async function screenshot(page: Page, name: string): Promise<void> {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}/${name}`, fullPage: true });
  if (Deno.env.get("UPDATE_DEMO_SCREENSHOT") === "1" && name === DOCS_SCREENSHOT) {
    await Deno.mkdir(`${ROOT}docs`, { recursive: true });
    await page.screenshot({ path: `${ROOT}docs/demo.png`, fullPage: true });
  }
}
/** The moment the documentation shows: a segment closed, the next one being spoken. */
const DOCS_SCREENSHOT = "demo_segments_partial.png";

/** The banner once /v1/status has answered: its kind and its two lines. */
async function modelBanner(page: Page): Promise<{ kind: string; name: string; scope: string }> {
  await page.waitForSelector("#model:not([data-kind='unknown'])", { timeout: 10_000 });
  return {
    kind: await page.getAttribute("#model", "data-kind"),
    name: await page.textContent("#model .model-name"),
    scope: await page.textContent("#model .model-scope"),
  };
}

/**
 * Waits for a partial shown with settled and tentative words at once, and checks that the two
 * look different and that every word carries its time.
 */
async function checkStableAndTentative(page: Page): Promise<void> {
  await page.waitForSelector("#current:has(.stable .word):has(.tentative .word)", {
    timeout: 20_000,
  });
  const look = (e: unknown) => {
    const s = getComputedStyle(e);
    return `${s.color} ${s.fontStyle}`;
  };
  const looks = {
    stable: await page.$eval("#current .stable", look),
    tentative: await page.$eval("#current .tentative", look),
  };
  assert.notEqual(looks.stable, looks.tentative);
}

/** Every word of `selector` has its time in the audio as a tooltip: "0.32–0.64 s". */
async function checkWordTimes(page: Page, selector: string, expectedWords: number): Promise<void> {
  const titles: string[] = await page.$$eval(
    `${selector} .word`,
    (els: { title: string }[]) => els.map((e) => e.title),
  );
  assert.equal(titles.length, expectedWords, `words of ${selector}: ${titles.join(" | ")}`);
  let previousStart = 0;
  for (const title of titles) {
    const m = title.match(/^(\d+\.\d\d)–(\d+\.\d\d) s$/);
    assert.ok(m, `word time "${title}"`);
    const [start, end] = [Number(m[1]), Number(m[2])];
    assert.ok(start <= end && start >= previousStart, `word times in order: ${titles.join(", ")}`);
    previousStart = start;
  }
}

/** The latency line holds measured figures: milliseconds, p50 ≤ p95, over some partials. */
async function checkLatencyShown(page: Page): Promise<void> {
  await page.waitForSelector("#latency[data-latest-ms]", { timeout: 10_000 });
  const read = async (cls: string) => await page.textContent(`#latency .${cls}`);
  for (const cls of ["latest", "p50", "p95"]) {
    assert.match(await read(cls), /^\d+ ms$/, `latency ${cls}`);
  }
  const latest = Number(await page.getAttribute("#latency", "data-latest-ms"));
  assert.ok(latest >= 0 && latest < 30_000, `latest partial latency ${latest} ms`);
  assert.ok(parseInt(await read("p50")) <= parseInt(await read("p95")));
  assert.ok(Number(await read("count")) > 0);
  // The server reported its step geometry: nothing was assumed.
  assert.equal(await read("assumed"), "");
}

Deno.test({
  name: "demo page in Chromium: a WAV from the file picker ends in transcribe's exact text",
  ignore: !chromiumInstalled,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const expected = await transcribeCli(`${CLIPS_DIR}/${CLIP}`);
    assert.ok(expected.length > 0);
    await using srv = await startTestServer(SERVER_KNOBS);
    await withBrowser(null, async (newPage) => {
      const page = await newPage();
      await openDemo(page, srv);
      // The model the page talks to: a model named with MODEL that does not say what it knows.
      const banner = await modelBanner(page);
      assert.equal(banner.kind, "general");
      assert.equal(banner.name, `Model: tiny-tdt · cpu · fp32 · server ${VERSION}`);
      assert.equal(banner.scope, "");
      await page.setInputFiles("#file", `${CLIPS_DIR}/${CLIP}`);
      await page.waitForSelector("body[data-state='streaming']");
      // Partials while the file is still being sent at real time.
      await page.waitForSelector("body[data-partials]", { timeout: 10_000 });
      assert.equal(await page.getAttribute("body", "data-state"), "streaming");
      await checkStableAndTentative(page);
      await page.waitForSelector("#finals .final", { timeout: 20_000 });
      await page.waitForSelector("body[data-state='idle']");
      assert.equal(await finalText(page), expected);
      await checkWordTimes(page, "#finals .final:last-child", expected.split(" ").length);
      await checkLatencyShown(page);
      assert.equal(await page.textContent("#error"), "");
      await screenshot(page, "demo_file.png");
    });
  },
});

for (const rate of [16000, 48000]) {
  Deno.test({
    name:
      `demo page in Chromium: the fake microphone (AudioContext at ${rate} Hz) gives partials, then the clip's words`,
    ignore: !chromiumInstalled,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const expected = await transcribeCli(`${CLIPS_DIR}/${CLIP}`);
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      const wav = `${ARTIFACTS}/fake_mic_${CLIP}`;
      const lead = 0;
      const seconds = fakeMicWav(CLIP, wav, lead, 3);
      await using srv = await startTestServer(SERVER_KNOBS);
      await withBrowser(wav, async (newPage) => {
        const page = await newPage();
        await openDemo(page, srv, `?token=${TOKEN}&rate=${rate}`);
        await page.click("#mic");
        await page.waitForSelector("body[data-state='streaming']", { timeout: 10_000 });
        const started = performance.now();
        await page.waitForSelector("body[data-partials]", { timeout: 10_000 });
        assert.equal(await page.getAttribute("body", "data-context-rate"), String(rate));
        await checkLatencyShown(page);
        // Stop in the trailing silence: the whole clip has been "spoken" by then.
        const stopAt = started + (lead + seconds + 1) * 1000;
        await new Promise((r) => setTimeout(r, Math.max(0, stopAt - performance.now())));
        await screenshot(page, `demo_mic_${rate}_partial.png`);
        await page.click("#stop");
        await page.waitForSelector("#finals .final", { timeout: 20_000 });
        await page.waitForSelector("body[data-state='idle']");
        const final = await finalText(page);
        await screenshot(page, `demo_mic_${rate}.png`);
        // Nothing invented: the final's words are the clip's words, in order. All of them but
        // possibly the first: the tiny model drops "three" after about a second of leading
        // silence (measured without a browser), and the capture's start-up adds some.
        const words = expected.split(" ");
        const got = final.split(" ");
        let at = 0;
        for (const w of got) {
          while (at < words.length && words[at] !== w) at++;
          assert.ok(at < words.length, `final "${final}" has words not in "${expected}" order`);
          at++;
        }
        assert.ok(
          got.length >= words.length - 1 && got.at(-1) === words.at(-1),
          `final "${final}" should hold "${expected}" (all but the first word at least)`,
        );
        assert.equal(await page.textContent("#error"), "");
      });
    },
  });
}

Deno.test({
  name: "demo page in Chromium: a refused connection (no token) is shown to the person",
  ignore: !chromiumInstalled,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using srv = await startTestServer({ AUTH_TOKEN: TOKEN });
    await withBrowser(null, async (newPage) => {
      const page = await newPage();
      await openDemo(page, srv, "");
      await page.setInputFiles("#file", `${CLIPS_DIR}/${CLIP}`);
      await page.waitForSelector("#error:not(:empty)", { timeout: 10_000 });
      const error = await page.textContent("#error");
      assert.match(error, /Could not connect to ws:\/\/127\.0\.0\.1:\d+\/ws .*may need a token/);
      await page.waitForSelector("body[data-state='idle']");
      // Nor does the server say which model it serves without the token.
      assert.equal(await page.getAttribute("#model", "data-kind"), "unknown");
      assert.match(await page.textContent("#model .model-scope"), /needs a token/);
      await screenshot(page, "demo_refused.png");
    });
  },
});

Deno.test({
  name:
    "demo page in Chromium: the bundled model's banner says digits only; a pause closes a segment, listed with its times",
  ignore: !chromiumInstalled,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const demoConfig = parseModelConfig(Deno.readTextFileSync(`${DEMO_MODEL}/config.json`));
    assert.ok(demoConfig.recognises, "models/demo/config.json says what the model recognises");
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    const wav = `${ARTIFACTS}/demo_two_segments.wav`;
    const samples = `${DEMO_MODEL}/samples`;
    clipsWithPause([`${samples}/espeak-5.wav`, `${samples}/festival-2.wav`], 1.5, wav);
    // MODEL unset: the bundled demo model, as a first run serves it.
    await using srv = await startTestServer({ AUTH_TOKEN: TOKEN, MODEL: "" });
    const status = await (await fetch(`${srv.http}/v1/status`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })).json();
    assert.equal(status.model.bundled, true);
    assert.equal(status.model.recognises, demoConfig.recognises);
    await withBrowser(null, async (newPage) => {
      const page = await newPage();
      await openDemo(page, srv);
      const banner = await modelBanner(page);
      assert.equal(banner.kind, "demo");
      assert.match(banner.name, /^Model: demo · cpu · fp32 · /);
      assert.equal(
        banner.scope,
        "Demo model: recognises digits zero–nine and oh only. Set MODEL to serve Parakeet-TDT-0.6B-v3.",
      );
      await page.fill("#endpoint", "800");
      await page.check("#show-times");
      await page.setInputFiles("#file", wav);
      await page.waitForSelector("body[data-state='streaming']");
      await page.waitForSelector("#segments .segment", { timeout: 20_000 });
      // The next clip being spoken, settled and tentative words, while the first segment is listed.
      await checkStableAndTentative(page);
      await screenshot(page, DOCS_SCREENSHOT);
      await page.waitForSelector("#finals .final", { timeout: 20_000 });
      await page.waitForSelector("body[data-state='idle']");
      const final = await finalText(page);
      const segments: { start: number; end: number; text: string; time: string }[] = await page
        .$$eval(
          "#segments .segment",
          (
            els: {
              dataset: Record<string, string>;
              querySelector(s: string): { textContent: string };
            }[],
          ) =>
            els.map((e) => ({
              start: Number(e.dataset.start),
              end: Number(e.dataset.end),
              text: e.dataset.text,
              time: e.querySelector(".segment-time").textContent,
            })),
        );
      assert.equal(segments.length, 2, JSON.stringify(segments));
      assert.equal(segments.map((s) => s.text).join(" "), final);
      assert.ok(segments[0].start < segments[0].end && segments[0].end < segments[1].start);
      assert.ok(segments[1].start < segments[1].end);
      for (const [i, s] of segments.entries()) {
        assert.equal(s.time, `${s.start.toFixed(2)}–${s.end.toFixed(2)} s`);
        await checkWordTimes(
          page,
          `#segments .segment:nth-child(${i + 1})`,
          s.text.split(" ").length,
        );
      }
      await checkWordTimes(page, "#finals .final:last-child", final.split(" ").length);
      await checkLatencyShown(page);
      assert.equal(await page.textContent("#error"), "");
      await screenshot(page, "demo_segments.png");
    });
  },
});

/** A page on another origin (another port of loopback) that tries the server's WebSocket. */
function foreignSite(): { origin: string; close(): Promise<void> } {
  const html = `<!doctype html><title>some other site</title><script>
    window.tryStream = (url) => new Promise((resolve) => {
      const ws = new WebSocket(url);
      ws.onopen = () => { ws.close(); resolve("open"); };
      ws.onerror = () => resolve("refused");
    });
  </script>`;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(html, { headers: { "content-type": "text/html" } }),
  );
  return { origin: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

Deno.test({
  name:
    "Chromium: a page of another origin cannot open the server's WebSocket unless ALLOWED_ORIGINS lists it",
  ignore: !chromiumInstalled,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const site = foreignSite();
    try {
      await withBrowser(null, async (newPage) => {
        const page = await newPage();
        await page.goto(`${site.origin}/`);
        {
          // The default: the user's local server, no token, visited by a page of another site.
          await using srv = await startTestServer();
          assert.equal(await page.evaluate((u: string) => tryStream(u), srv.url), "refused");
          assert.equal(srv.server.stats().refused.forbidden_origin, 1);
          assert.equal(srv.server.stats().streamsTotal, 0);
        }
        {
          await using srv = await startTestServer({ ALLOWED_ORIGINS: site.origin });
          assert.equal(await page.evaluate((u: string) => tryStream(u), srv.url), "open");
        }
      });
    } finally {
      await site.close();
    }
  },
});

declare function tryStream(url: string): Promise<string>;
declare function getComputedStyle(e: unknown): { color: string; fontStyle: string };
