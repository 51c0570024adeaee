/**
 * The browser demo's files, served from `web/` beside the source (found from this module's own
 * URL, so it works from any working directory and inside `deno compile --include web`). Only
 * the files listed here are served: no path from a request ever reaches the file system.
 */
import type { Route } from "./routes.ts";

export const WEB_ROOT = new URL("../../web/", import.meta.url);

const TYPES = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
} as const;

/** URL path → file in web/. */
export const STATIC_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  "/": { file: "index.html", type: TYPES.html },
  "/index.html": { file: "index.html", type: TYPES.html },
  "/app.js": { file: "app.js", type: TYPES.js },
  "/latency.js": { file: "latency.js", type: TYPES.js },
  "/model_banner.js": { file: "model_banner.js", type: TYPES.js },
  "/transcript_view.js": { file: "transcript_view.js", type: TYPES.js },
  "/pcm_worklet.js": { file: "pcm_worklet.js", type: TYPES.js },
  "/resampler.js": { file: "resampler.js", type: TYPES.js },
  "/style.css": { file: "style.css", type: TYPES.css },
};

/**
 * The page talks only to this server; `Referrer-Policy` keeps a `?token=` in the page's own
 * address from leaking anywhere.
 */
const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy":
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "cache-control": "no-cache",
};

export function isStaticPath(path: string): boolean {
  return Object.hasOwn(STATIC_FILES, path);
}

/** Answers a request for one of STATIC_FILES (GET or HEAD). */
export async function serveStatic(
  req: Request,
  path: string,
  root: URL = WEB_ROOT,
): Promise<Response> {
  const entry = STATIC_FILES[path];
  if (!entry) return new Response("Not found\n", { status: 404 });
  if (req.method !== "GET" && req.method !== "HEAD") {
    return new Response(`${path} answers GET and HEAD only\n`, {
      status: 405,
      headers: { allow: "GET, HEAD", "content-type": "text/plain" },
    });
  }
  let body: Uint8Array<ArrayBuffer>;
  try {
    body = await Deno.readFile(new URL(entry.file, root));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    return new Response(
      `The demo page's file ${entry.file} is missing from ${root.pathname}: run the server from a full checkout, or compile it with --include web\n`,
      { status: 404, headers: { "content-type": "text/plain" } },
    );
  }
  return new Response(req.method === "HEAD" ? null : body, {
    headers: { "content-type": entry.type, ...SECURITY_HEADERS },
  });
}

/** The demo page's files, as a route. */
export const STATIC_ROUTE: Route = {
  path: isStaticPath,
  handle: ({ req, url }) => serveStatic(req, url.pathname),
};
