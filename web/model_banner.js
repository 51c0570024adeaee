// What the page is talking to: the served model, its device and precision, and what it can
// recognise, from the server's own `/v1/status`, so that a narrow model (the bundled one knows
// only digits) is not mistaken for a broken one. Also the step geometry the latency needs.
import { SEED_KNOBS } from "./latency.js";

/** The last component of a path (the server shows a token holder the model's full path). */
const baseName = (path) => String(path).replace(/[/\\]+$/, "").split(/[/\\]/).pop() || path;

/** "zero..nine" as a person writes a range. */
const readable = (text) => String(text).replace(/(\S)\.\.(?=\S)/g, "$1–");

/**
 * Reads `/v1/status` with the page's token (as a header: it stays out of logs and history) and
 * shows the model in `banner`. Resolves to the step geometry, or the seed's when unknown.
 */
export async function showModel(banner, token) {
  const name = banner.querySelector(".model-name");
  const scope = banner.querySelector(".model-scope");
  const show = (kind, nameText, scopeText) => {
    banner.dataset.kind = kind;
    name.textContent = nameText;
    scope.textContent = scopeText;
  };
  let status;
  try {
    const res = await fetch("/v1/status", {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      cache: "no-store",
    });
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      show(
        "unknown",
        "Model: not known yet.",
        "The server needs a token to say which model it serves: add ?token=… to this page's " +
          "address or fill in the token under Connection.",
      );
      return { knobs: SEED_KNOBS, known: false };
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    status = await res.json();
  } catch (err) {
    show(
      "unknown",
      "Model: not known.",
      `The server's /v1/status did not answer (${err.message}).`,
    );
    return { knobs: SEED_KNOBS, known: false };
  }
  const m = status.model ?? {};
  const recognises = typeof m.recognises === "string" && m.recognises
    ? readable(m.recognises)
    : null;
  show(
    m.bundled ? "demo" : recognises ? "narrow" : "general",
    `Model: ${baseName(m.dir ?? "?")} · ${m.device ?? "?"} · ${m.precision ?? "?"}` +
      (status.version ? ` · server ${status.version}` : ""),
    m.bundled
      ? `Demo model: ${
        recognises ? `recognises ${recognises} only` : "a small model for trying the server"
      }. Set MODEL to serve Parakeet-TDT-0.6B-v3.`
      : recognises
      ? `This model recognises ${recognises} only.`
      : "",
  );
  const step = Number(status.knobs?.STEP_MS), right = Number(status.knobs?.RIGHT_CONTEXT_MS);
  const known = step > 0 && right >= 0;
  return { knobs: known ? { stepMs: step, rightContextMs: right } : SEED_KNOBS, known };
}
