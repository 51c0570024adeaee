/**
 * parakeet-server: one program, several subcommands. This file only picks the subcommand;
 * each lives in src/cli/.
 */
import { UsageError } from "./src/cli/usage_error.ts";
import { VERSION } from "./src/version.ts";

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  serve: {
    summary: "serve streaming speech-to-text over WebSocket (the default)",
    load: async () => (await import("./src/cli/serve.ts")).serveCommand,
  },
  "fetch-model": {
    summary: "download a model's ONNX files into the model cache (resumable, verified)",
    load: async () => (await import("./src/cli/fetch_model.ts")).fetchModelCommand,
  },
  transcribe: {
    summary: "transcribe audio files offline (text, or --json)",
    load: async () => (await import("./src/cli/transcribe.ts")).transcribeCommand,
  },
  client: {
    summary: "stream an audio file to a server, show partials, print the final",
    load: async () => (await import("./src/cli/client.ts")).clientCommand,
  },
  warmup: {
    summary: "latency probe: first partial, partial latency, EOS → final",
    load: async () => (await import("./src/cli/warmup.ts")).warmupCommand,
  },
  bench: {
    summary: "concurrency benchmark (--ramp); `bench gpu`: a device's encoder-only capacity",
    load: async () => (await import("./src/cli/bench.ts")).benchCommand,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) =>
    `  ${name.padEnd(width)}  ${c.summary}`
  );
  return [
    `parakeet-server ${VERSION} — streaming speech-to-text for Parakeet-TDT`,
    "",
    "Usage: parakeet-server <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Run `parakeet-server <command> --help` for a command's options.",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === "--help" || first === "-h" || first === "help") {
    console.log(usage());
    return 0;
  }
  if (first === "--version" || first === "-V") {
    console.log(`parakeet-server ${VERSION}`);
    return 0;
  }
  // No command, or a leading flag, means `serve` (the default subcommand).
  if (first === undefined || first.startsWith("-")) return await main(["serve", ...argv]);
  const command = COMMANDS[first];
  if (!command) {
    console.error(`parakeet-server: unknown command "${first}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await (await command.load())(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      const cmd = err.command ?? first;
      console.error(`parakeet-server ${cmd}: ${err.message}\nTry: parakeet-server ${cmd} --help`);
      return 2;
    }
    // Expected failures (a missing model, an unusable device, no ONNX Runtime) are told in one
    // line; PARAKEET_DEBUG=1 shows the stack.
    const e = err instanceof Error ? err : new Error(String(err));
    console.error(`parakeet-server ${first}: ${e.message}`);
    if (Deno.env.get("PARAKEET_DEBUG")) console.error(e.stack);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
