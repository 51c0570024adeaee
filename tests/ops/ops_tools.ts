/**
 * Where the linters and validators the operations tests use are: .ci/run installs hadolint and
 * kubernetes-validate and jsonschema into .tools/venv-ops (PyPI); nginx, shellcheck, systemd,
 * kubectl (kubernetes-client) and promtool (prometheus) from Debian.
 * A test whose tool is missing is skipped with a message saying how to install it.
 */
import { hasTool, ROOT } from "./ops_helpers.ts";

const VENV = `${ROOT}/.tools/venv-ops/bin`;

function executable(path: string): boolean {
  try {
    return (Deno.statSync(path).mode ?? 0) & 0o111 ? true : false;
  } catch {
    return false;
  }
}

/** The path of `name` (the ops venv first, then PATH), or null with a console warning. */
export async function findTool(name: string, install: string): Promise<string | null> {
  if (executable(`${VENV}/${name}`)) return `${VENV}/${name}`;
  for (const dir of ["/usr/sbin", "/usr/bin"]) {
    if (executable(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  if (await hasTool(name)) return name;
  console.warn(`SKIPPED: ${name} is not installed (${install}; .ci/run installs it)`);
  return null;
}

export const VENV_PYTHON = `${VENV}/python`;
