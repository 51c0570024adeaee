/**
 * The graceful shutdown (SIGTERM, or the server's abort signal): stop accepting, flush the
 * finals of open streams and close them, stop uploads, wait for the batches in flight, then let
 * the HTTP layer answer what still waits and close its connections. Every wait is bounded by
 * SHUTDOWN_TIMEOUT_S.
 */
import type { HttpServer } from "../net/http_server.ts";
import type { ServerCore } from "./server_core.ts";

/**
 * After the drain, the least time the HTTP layer gets to answer what still waits (503) and close
 * its connections; a peer that holds a connection open past it is closed by the process exit.
 */
const HTTP_CLOSE_GRACE_MS = 1000;

export async function drainServer(
  core: ServerCore,
  http: HttpServer,
  requestsInFlight: () => number,
): Promise<void> {
  const { connections, uploads, config, scheduler } = core;
  core.draining = true;
  // New connections are refused by the kernel from here; open ones finish their work.
  http.stopAccepting();
  core.log(
    `shutting down: flushing finals of ${connections.size} open stream(s); stopping ${uploads.size} upload(s)`,
  );
  core.drain.abort();
  for (const c of connections) c.endAfterFinal("shutting_down");
  const deadline = Date.now() + config.shutdownTimeoutS * 1000;
  const wyomingClosed = core.wyoming?.shutdown(deadline);
  while (connections.size > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const c of connections) c.release();
  await wyomingClosed;
  // A batch the engine never answers must not hold the process: bounded like the rest.
  const left = Math.max(0, deadline - Date.now());
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    scheduler.idle(),
    new Promise<void>((r) => (timer = setTimeout(r, left))),
  ]);
  clearTimeout(timer);
  // Handlers the drain stopped (uploads) answer it themselves, in their own shape; a moment
  // for that before the HTTP layer answers whatever is still waiting with its own 503.
  const answerBy = Math.min(deadline, Date.now() + HTTP_CLOSE_GRACE_MS);
  while (requestsInFlight() > 0 && Date.now() < answerBy) {
    await new Promise((r) => setTimeout(r, 10));
  }
  // Whatever still waits for an answer gets 503; every connection is closed. Bounded too: the
  // process exit closes whatever a peer still holds open.
  const grace = Math.max(HTTP_CLOSE_GRACE_MS, deadline - Date.now());
  await Promise.race([
    http.close(),
    new Promise<void>((r) => (timer = setTimeout(r, grace))),
  ]);
  clearTimeout(timer);
}
