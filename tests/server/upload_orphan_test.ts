/**
 * A server killed with SIGKILL while ffmpeg decodes an upload: ffmpeg does not outlive it (its
 * pipes close, it stops), and the decode folder it left is removed when the next server starts.
 */
import assert from "node:assert/strict";
import { DECODE_DIR_PREFIX } from "../../src/audio/decode_temp.ts";
import { spawnServer } from "../../src/bench/server_process.ts";
import { childrenNamed, running, waitFor } from "../audio/proc_children.ts";
import { TINY_MODEL } from "../engine/fixtures.ts";

Deno.test("SIGKILL of the server mid-decode: ffmpeg stops with it, the next start sweeps its folder", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "upload_orphan_" });
  try {
    // Three hours of 48 kHz silence as FLAC in MP4 (an MP4 is decoded from a private folder):
    // ffmpeg needs about 5 s to decode and resample it, so it is mid-run when the server dies.
    const ffmpeg = async (args: string[]) => {
      const r = await new Deno.Command("ffmpeg", {
        // FLAC in MP4 is "experimental" to ffmpeg 5: -strict -2 before the output file.
        args: ["-nostdin", "-loglevel", "error", "-y", ...args.slice(0, -1), "-strict", "-2"]
          .concat(args.slice(-1)),
      }).output();
      assert.ok(r.success);
    };
    const part = `${tmp}/twenty_minutes.mp4`;
    const mp4 = `${tmp}/three_hours.mp4`;
    await ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "1200", "-c:a", "flac"]
      .concat(["-frame_size", "65535", part]));
    await ffmpeg(["-stream_loop", "8", "-i", part, "-c", "copy", mp4]);
    const env = { MODEL: TINY_MODEL, DEVICE: "cpu", TMPDIR: tmp, WARMUP_BATCH: "0" };
    const server = await spawnServer(env);
    const form = new FormData();
    form.append("file", new Blob([await Deno.readFile(mp4)]), "three_hours.mp4");
    const upload = fetch(`http://127.0.0.1:${server.port}/v1/audio/transcriptions`, {
      method: "POST",
      body: form,
    }).then((r) => r.body?.cancel()).catch(() => {});
    const pid = await waitFor(() => childrenNamed(server.child.pid, "ffmpeg")[0], 20_000);
    assert.ok(pid, "ffmpeg started");
    const root = `${tmp}/parakeet-server-${Deno.uid()}`;
    const left = () => [...Deno.readDirSync(root)].map((e) => e.name);
    assert.equal(left().length, 1);
    assert.ok(left()[0].startsWith(`${DECODE_DIR_PREFIX}${server.child.pid}-`), left()[0]);

    server.child.kill("SIGKILL");
    await server.child.status;
    await upload;
    assert.ok(
      await waitFor(() => (running(pid) ? undefined : true), 1000),
      "ffmpeg stopped within 1 s of the server",
    );
    assert.equal(left().length, 1, "the killed server could not remove its folder");

    const next = await spawnServer(env);
    try {
      assert.deepEqual(left(), [], "swept at start");
    } finally {
      next.child.kill("SIGTERM");
      await next.child.status;
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
