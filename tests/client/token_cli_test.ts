/**
 * client, warmup and bench against a server that wants a token: refused without it, working
 * with --token or PARAKEET_TOKEN (--token wins), and the token never printed.
 */
import assert from "node:assert/strict";
import { tokenOption } from "../../src/cli/client_options.ts";
import { UsageError } from "../../src/cli/usage_error.ts";
import { authHeaders, shownUrl } from "../../src/client/auth_header.ts";
import { fetchServerInfo } from "../../src/client/server_url.ts";
import { startTestServer } from "../server/harness.ts";
import { type CliOutcome, CLIP, runCli } from "./cli_run.ts";

const TOKEN = "client-token-5f3a9c";

function assertTokenNotShown(r: CliOutcome, what: string): void {
  assert.ok(!r.stdout.includes(TOKEN), `${what}: the token is on stdout`);
  assert.ok(!r.stderr.includes(TOKEN), `${what}: the token is on stderr`);
}

Deno.test("--token wins over PARAKEET_TOKEN; an empty variable is no token; a bad one is a usage error", () => {
  assert.equal(tokenOption(undefined, undefined), undefined);
  assert.equal(tokenOption(undefined, ""), undefined);
  assert.equal(tokenOption(undefined, "from-env"), "from-env");
  assert.equal(tokenOption("from-flag", "from-env"), "from-flag");
  assert.throws(() => tokenOption("has space", undefined), UsageError);
  assert.throws(() => tokenOption("", "from-env"), UsageError);
  assert.throws(
    () => tokenOption(undefined, "secret with space"),
    (e: Error) =>
      e instanceof UsageError && /PARAKEET_TOKEN/.test(e.message) && !/secret/.test(e.message),
  );
  assert.deepEqual(authHeaders(undefined), {});
  assert.deepEqual(authHeaders("abc"), { authorization: "Bearer abc" });
  assert.equal(
    shownUrl(new URL("ws://h:1/ws?token=abc&x=1")),
    "ws://h:1/ws?token=***&x=1",
  );
  assert.equal(shownUrl(new URL("ws://h:1/ws")), "ws://h:1/ws");
});

Deno.test("fetchServerInfo sends the token to /v1/status", async () => {
  await using srv = await startTestServer({ AUTH_TOKEN: TOKEN });
  const url = new URL(srv.url);
  const without = await fetchServerInfo(url);
  assert.match(without.knobsSource, /401/);
  const withToken = await fetchServerInfo(url, { token: TOKEN });
  assert.equal(withToken.knobsSource, "server");
});

Deno.test("client: refused without the token (exit 1, says so), works with --token or PARAKEET_TOKEN", async () => {
  await using srv = await startTestServer({ AUTH_TOKEN: TOKEN });
  const args = ["client", "--file", CLIP, "--url", srv.url, "--rtf", "0"];
  const refused = await runCli(args);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /cannot connect to ws:\/\/127\.0\.0\.1:\d+\/ws: .*401/);
  assert.match(refused.stderr, /--token or PARAKEET_TOKEN/);
  const wrong = await runCli(args, { PARAKEET_TOKEN: "not-the-token" });
  assert.equal(wrong.code, 1, wrong.stderr);
  for (
    const [what, r] of [
      ["--token", await runCli([...args, "--token", TOKEN])],
      ["PARAKEET_TOKEN", await runCli(args, { PARAKEET_TOKEN: TOKEN })],
      [
        "--token over a wrong PARAKEET_TOKEN",
        await runCli([...args, "--token", TOKEN], {
          PARAKEET_TOKEN: "not-the-token",
        }),
      ],
    ] as const
  ) {
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    assert.match(r.stdout, /final: \S/, what);
    assertTokenNotShown(r, what);
  }
  // A token in the URL is sent as given, and masked wherever the URL is shown.
  const inUrl = await runCli([
    "warmup",
    "--file",
    CLIP,
    "--url",
    `${srv.url}?token=${TOKEN}`,
    "--json",
  ]);
  assert.equal(inUrl.code, 0, inUrl.stderr);
  assert.match(JSON.parse(inUrl.stdout).url, /token=\*\*\*/);
  assertTokenNotShown(inUrl, "?token= in --url");
});

Deno.test("warmup and bench: refused without the token, working with it, the token never printed", async () => {
  await using srv = await startTestServer({ AUTH_TOKEN: TOKEN });
  const warmup = ["warmup", "--file", CLIP, "--url", srv.url, "--json"];
  const warmRefused = await runCli(warmup);
  assert.equal(warmRefused.code, 1, warmRefused.stderr);
  assert.match(warmRefused.stderr, /cannot connect to .*401/);
  const warm = await runCli([...warmup, "--token", TOKEN]);
  assert.equal(warm.code, 0, warm.stderr);
  const rep = JSON.parse(warm.stdout);
  // /v1/status was read with the token: the server's knobs, not the fallback.
  assert.equal(rep.knobs_source, "server");
  assert.ok(rep.partials >= 1);
  assertTokenNotShown(warm, "warmup");

  const bench = [
    "bench",
    "--url",
    srv.url,
    "--streams",
    "2",
    "--duration",
    "1",
    "--file",
    CLIP,
    "--json",
  ];
  const benchRefused = await runCli(bench);
  assert.equal(benchRefused.code, 1, benchRefused.stderr);
  const refusedPhase = JSON.parse(benchRefused.stdout).phases[0];
  assert.equal(refusedPhase.connected, 0);
  assert.equal(refusedPhase.connect_failures.count, 2);
  assert.match(refusedPhase.connect_failures.first, /401/);
  const ok = await runCli(bench, { PARAKEET_TOKEN: TOKEN });
  assert.equal(ok.code, 0, ok.stderr);
  const report = JSON.parse(ok.stdout);
  assert.equal(report.knobs_source, "server");
  assert.equal(report.phases[0].connected, 2);
  assert.deepEqual(report.phases[0].errors, {});
  assertTokenNotShown(ok, "bench");
});
