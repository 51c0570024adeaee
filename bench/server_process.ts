/** A server process on a free loopback port with the bundled model, for the long benches. */
import { fileURLToPath } from "node:url";
import { type ServerProcess, spawnServer } from "../src/bench/server_process.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

export function startServerProcess(knobs: Record<string, string>): Promise<ServerProcess> {
  // Every bench stream comes from this one address: the per-client cap must not bind. A fixed
  // MAX_STREAMS unless the bench sets one: a capacity measured on a busy machine would refuse
  // streams at random, and these benches measure behaviour under their own load.
  return spawnServer({
    MODEL: `${ROOT}models/test/tiny-tdt`,
    DEVICE: "cpu",
    MAX_STREAMS: "128",
    MAX_STREAMS_PER_CLIENT: "100000",
    ...knobs,
  });
}
