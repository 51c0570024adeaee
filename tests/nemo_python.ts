/**
 * The NeMo venv's Python (models/setup_nemo_env.sh makes it; .ci/run always does), for the tests
 * that check against NeMo. Without it those tests are ignored and say so: never counted as passed.
 */
import { fileURLToPath } from "node:url";

export const NEMO_PYTHON = fileURLToPath(
  new URL("../.tools/venv-nemo/bin/python", import.meta.url),
);

/** Whether the venv is there; warns once per test file, naming `what` is skipped, when not. */
export function haveNemoPython(what: string): boolean {
  try {
    return Deno.statSync(NEMO_PYTHON).isFile;
  } catch {
    console.warn(
      `SKIPPED ${what}: .tools/venv-nemo is missing (bash models/setup_nemo_env.sh; .ci/run runs it)`,
    );
    return false;
  }
}
