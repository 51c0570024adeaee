/**
 * deploy/nginx/parakeet-server.conf for real: Debian's nginx in front of two server processes
 * on loopback. Streams spread over both (least_conn); when one instance is full, its 503 moves
 * the handshake to the other (proxy_next_upstream); SIGTERM on one drains it: every stream open
 * on it gets its final, then close 1001, through nginx.
 */
import { assert, assertEquals } from "./asserts.ts";
import { ROOT, waitFor } from "./ops_helpers.ts";
import { findTool } from "./ops_tools.ts";
import { clipPcmBytes } from "../engine/fixtures.ts";
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
const CLIP = `${ROOT}/tests/fixtures/clips/digits_pi.wav`;

Deno.test({
  name: "nginx in front of two instances: spread, 503 moves to the other, SIGTERM drains finals",
  ignore: NGINX === null,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const work = await Deno.makeTempDir({ prefix: "parakeet-nginx-" });
    const [a, b] = await Promise.all([startInstance(1), startInstance(8)]); // A: full after one
    const clients: Client[] = [];
    try {
      await waitUp([a, b]);
      await using nginx = await startNginx(NGINX!, work, [a.port, b.port]);
      const url = nginx.url;

      // 1. Spread: two streams, one on each instance (least_conn).
      for (let i = 0; i < 2; i++) {
        clients.push(await openClient(url));
        await waitFor(
          async () =>
            (await status(a.port)).streams.open + (await status(b.port)).streams.open === i + 1,
          5000,
        );
      }
      assertEquals([(await status(a.port)).streams.open, (await status(b.port)).streams.open], [
        1,
        1,
      ]);

      // 2. A is full: least_conn still picks it first; its 503 sends the handshake on to B.
      for (let i = 0; i < 3; i++) clients.push(await openClient(url));
      await waitFor(async () => (await status(b.port)).streams.open === 4, 5000);
      const sa = await status(a.port);
      assertEquals([sa.streams.open, (await status(b.port)).streams.open], [1, 4]);
      assert(
        (sa.refused.capacity ?? 0) >= 1,
        `A refused no handshake: ${JSON.stringify(sa.refused)}`,
      );

      // 3. Audio on every stream, no EOS; then SIGTERM on B: its 4 streams get their finals.
      const audio = clipPcmBytes(CLIP.split("/").pop()!);
      for (const c of clients) sendAudio(c, audio);
      await new Promise((r) => setTimeout(r, 2000));
      b.proc.kill("SIGTERM");
      const bStatus = await b.proc.status;
      assertEquals(bStatus.code, 0, b.server.log());
      await waitFor(() => clients.filter((c) => c.isClosed()).length >= 4, 10_000);
      const onB = clients.filter((c) => c.isClosed());
      const onA = clients.filter((c) => !c.isClosed());
      assertEquals([onB.length, onA.length], [4, 1]);
      for (const c of onB) {
        assertEquals(await c.closed, 1001);
        assertEquals(c.finals.length, 1, "one final per drained stream");
        assert(c.finals[0].length > 0, "the final has the words");
        assertEquals(c.errors, ["shutting_down"]);
      }
      // The stream on A is untouched and finishes normally, with the same words.
      onA[0].socket.sendEos("text");
      assert(await waitFor(() => onA[0].finals.length === 1, 10_000), "A's final");
      assertEquals(onA[0].finals[0], onB[0].finals[0]);
    } finally {
      for (const c of clients) if (!c.isClosed()) c.ws.close();
      await stopInstances([a, b]);
      await Deno.remove(work, { recursive: true });
    }
  },
});
