/**
 * A client no one here wrote the transport of: Python's `websockets`, sending what the seed's
 * tests/client.py sends, against the real server, on clips made fresh for the test.
 */
import assert from "node:assert/strict";
import { ROOT } from "../engine/fixtures.ts";
import { startTestServer } from "../server/harness.ts";
import { launchServer } from "../../src/server/launch.ts";
import { loadServerConfig } from "../../src/server/config.ts";
import { run, synthesize } from "./synth.ts";

const PYTHON = `${ROOT}.tools/venv-check/bin/python`;
const CLIENT = `${ROOT}tests/reference/seed_client.py`;

function available(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

const ready = available(PYTHON, ["-c", "import websockets"]) &&
  available("espeak-ng", ["--version"]) && available("sox", ["--version"]);
if (!ready) {
  console.error(
    "seed-client tests skipped: need espeak-ng, sox and .tools/venv-check (bash tests/reference/setup_check_env.sh)",
  );
}

interface Event {
  type: string;
  text?: string;
  code?: string | number;
  after_eos_s?: number | null;
}

async function pythonClient(url: string, file: string, args: string[] = []): Promise<Event[]> {
  const out = await run(PYTHON, [CLIENT, "--url", url, "--file", file, ...args]);
  return out.trim().split("\n").map((l) => JSON.parse(l));
}

const finals = (events: Event[]) => events.filter((e) => e.type === "final").map((e) => e.text);

Deno.test({
  name: "seed-style Python client: partials before EOS, a prompt final, 1000 on close",
  ignore: !ready,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const [clip] = await synthesize(dir, 1, 23);
      await using srv = await startTestServer();
      const events = await pythonClient(srv.url, clip, ["--rtf", "1"]);
      const beforeEos = events.filter((e) => e.type === "partial" && e.after_eos_s === null);
      assert.ok(beforeEos.length >= 1, `partials before EOS: ${JSON.stringify(events)}`);
      const final = events.find((e) => e.type === "final");
      assert.ok(final, "a final");
      assert.ok(final.text!.length > 0);
      // One step's compute for the tiny model is milliseconds; a generous bound for loaded CI.
      assert.ok(final.after_eos_s! < 2, `final ${final.after_eos_s} s after EOS`);
      assert.deepEqual(events.at(-1), { type: "closed", code: 1000 });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "seed-style Python clients: identical finals across framings and crowd sizes",
  ignore: !ready,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const clips = await synthesize(dir, 3, 31);
      await using srv = await startTestServer();
      const alone = await Promise.all(
        clips.map(async (c) => finals(await pythonClient(srv.url, c, ["--rtf", "20"]))),
      );
      for (const frameMs of ["7", "100", "1000"]) {
        const f = await pythonClient(srv.url, clips[0], ["--rtf", "20", "--frame-ms", frameMs]);
        assert.deepEqual(finals(f), alone[0], `frames of ${frameMs} ms`);
      }
      const crowd = await Promise.all(
        Array.from({ length: 9 }, (_, i) => pythonClient(srv.url, clips[i % 3], ["--rtf", "10"])),
      );
      crowd.forEach((events, i) => assert.deepEqual(finals(events), alone[i % 3], `crowd ${i}`));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "seed-style Python client: an oversized frame gets 1009 while a neighbour's final is unchanged",
  ignore: !ready,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const [clip] = await synthesize(dir, 1, 47);
      await using srv = await startTestServer();
      const alone = finals(await pythonClient(srv.url, clip, ["--rtf", "10"]));
      const [hostile, neighbour] = await Promise.all([
        pythonClient(srv.url, clip, ["--oversize", String(1_048_577)]),
        pythonClient(srv.url, clip, ["--rtf", "10"]),
      ]);
      assert.equal(hostile.find((e) => e.type === "error")?.code, "message_too_large");
      assert.deepEqual(hostile.at(-1), { type: "closed", code: 1009 });
      assert.deepEqual(finals(neighbour), alone);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "with no MODEL the server serves the demo model and says so; the seed client gets a spoken number sequence right",
  ignore: !ready,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const lines: string[] = [];
    const config = loadServerConfig({ HOST: "127.0.0.1", PORT: "0", DEVICE: "cpu" });
    const { server, engine } = await launchServer(config, { log: (l) => lines.push(l) });
    try {
      // A voice the demo model never heard (models/synth.py HELDOUT_ESPEAK_VARIANTS).
      const digits = "four one five five five two six eight";
      const raw = `${dir}/raw.wav`;
      const clip = `${dir}/number.wav`;
      await run("espeak-ng", ["-v", "en-us+f2", "-s", "160", "-w", raw, digits]);
      await run("sox", [raw, "-r", "16000", "-c", "1", "-b", "16", clip, "pad", "0.2", "0.3"]);
      const http = `http://127.0.0.1:${server.port}`;
      const status = await (await fetch(`${http}/v1/status`)).json();
      assert.equal(status.model.bundled, true);
      // Without a token nobody is shown where files are: the directory's name only.
      assert.equal(status.model.dir, "demo");
      assert.ok(
        lines.some((l) =>
          l.includes("WARNING: no MODEL given: serving the small bundled demo model")
        ),
        lines.join("\n"),
      );
      const events = await pythonClient(`ws://127.0.0.1:${server.port}/ws`, clip, ["--rtf", "4"]);
      assert.deepEqual(finals(events), [digits]);
    } finally {
      await server.shutdown();
      await engine.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
