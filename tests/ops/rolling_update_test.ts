/**
 * A rolling update as Kubernetes runs one, on loopback: two server processes behind Debian's
 * nginx with deploy/nginx/parakeet-server.conf (the same retry-on-503 the Ingress has), streams
 * open on both, then SIGTERM to one mid-stream, as the kubelet sends it after preStop. Every
 * stream on the stopped instance gets its final with the exact words, then close 1001; streams
 * opened once SIGTERM is sent all land on the other instance and are served there.
 */
import { assert, assertEquals } from "./asserts.ts";
import { waitFor } from "./ops_helpers.ts";
import { findTool } from "./ops_tools.ts";
import { clipPcmBytes, fixtureClips, reference } from "../engine/fixtures.ts";
import {
  type Client,
  openClient,
  sendAudio,
  startInstance,
  startNginx,
  status,
  stopInstances,
  waitUp,
} from "./nginx_fleet.ts";

const NGINX = await findTool("nginx", "apt-get install nginx-light");
// Contexts longer than any clip (the longest is 2.9 s): a stream's final is then the clip's
// offline transcript, word for word, whether it ends with an EOS or with the drain.
// A small warm-up batch: this test is about the drain, not the memory ceiling, and it starts
// faster on a shared machine.
const EXACT = { LEFT_CONTEXT_MS: "4000", RIGHT_CONTEXT_MS: "4000", WARMUP_BATCH: "4" };

Deno.test({
  name:
    "rolling update behind nginx: SIGTERM mid-stream gives every stream its exact final; new streams go to the other instance",
  ignore: NGINX === null,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const work = await Deno.makeTempDir({ prefix: "parakeet-rollout-" });
    const [a, b] = await Promise.all([startInstance(16, EXACT), startInstance(16, EXACT)]);
    const clips = fixtureClips();
    assert(clips.length >= 8, `fixture clips: ${clips}`);
    const old: { client: Client; clip: string }[] = [];
    const fresh: { client: Client; clip: string }[] = [];
    try {
      await waitUp([a, b], 60_000);
      await using nginx = await startNginx(NGINX!, work, [a.port, b.port]);

      // Six streams, spread three and three by least_conn; each sends its whole clip, no EOS.
      for (const clip of clips.slice(0, 6)) {
        old.push({ client: await openClient(nginx.url), clip });
      }
      assert(
        await waitFor(
          async () =>
            (await status(a.port)).streams.open === 3 && (await status(b.port)).streams.open === 3,
          5000,
        ),
        "three streams on each instance",
      );
      for (const { client, clip } of old) sendAudio(client, clipPcmBytes(clip));
      // Mid-stream: the audio is in, no stream has ended (with a right context longer than the
      // clip, nothing is decodable before the stream ends).
      await new Promise((r) => setTimeout(r, 2000));
      assert(old.every(({ client }) => client.finals.length === 0 && !client.isClosed()));

      // The rollout stops B. While it drains, and after it is gone, new streams keep coming.
      b.proc.kill("SIGTERM");
      for (const clip of clips.slice(6, 8)) {
        fresh.push({ client: await openClient(nginx.url), clip });
      }
      assertEquals((await b.proc.status).code, 0, b.server.log());
      fresh.push({ client: await openClient(nginx.url), clip: clips[0] });

      // Every stream B held got its final, word for word, then close 1001.
      assert(
        await waitFor(() => old.filter(({ client }) => client.isClosed()).length === 3, 10_000),
        "B's three streams closed",
      );
      const onB = old.filter(({ client }) => client.isClosed());
      const onA = old.filter(({ client }) => !client.isClosed());
      assertEquals([onB.length, onA.length], [3, 3]);
      for (const { client, clip } of onB) {
        assertEquals(await client.closed, 1001, clip);
        assertEquals(client.finals, [reference(clip).text], `${clip}: the drained final`);
        assertEquals(client.errors, ["shutting_down"], clip);
      }

      // The new streams are all on A, beside A's three old ones, and A serves every one.
      assertEquals((await status(a.port)).streams.open, 6);
      for (const { client, clip } of fresh) sendAudio(client, clipPcmBytes(clip));
      for (const { client } of [...onA, ...fresh]) client.socket.sendEos("text");
      for (const { client, clip } of [...onA, ...fresh]) {
        assert(await waitFor(() => client.finals.length === 1, 20_000), `${clip}: a final on A`);
        assertEquals(client.finals, [reference(clip).text], clip);
        assertEquals(client.errors, [], clip);
      }
    } finally {
      for (const { client } of [...old, ...fresh]) if (!client.isClosed()) client.ws.close();
      await stopInstances([a, b]);
      await Deno.remove(work, { recursive: true });
    }
  },
});
