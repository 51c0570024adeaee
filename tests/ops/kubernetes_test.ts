/**
 * deploy/kubernetes/ passes a real schema validator (kubernetes-validate --strict, PyPI), and
 * says what scale-out needs: a GPU request, readiness on the capacity-aware /ready, liveness on
 * /status, a termination grace longer than preStop + the server's drain, WebSocket-friendly
 * Ingress annotations.
 */
import { assert, assertEquals } from "./asserts.ts";
import { ROOT, run } from "./ops_helpers.ts";
import { findTool, VENV_PYTHON } from "./ops_tools.ts";

const VALIDATE = await findTool(
  "kubernetes-validate",
  "pip install kubernetes-validate into .tools/venv-ops",
);
const DIR = `${ROOT}/deploy/kubernetes`;
const FILES = [...Deno.readDirSync(DIR)].map((e) => e.name).filter((n) => n.endsWith(".yaml"))
  .sort();

// deno-lint-ignore no-explicit-any
async function loadYaml(file: string): Promise<any> {
  const r = await run(VENV_PYTHON, [
    "-c",
    "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
    file,
  ]);
  if (r.code !== 0) throw new Error(`cannot parse ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

Deno.test({
  name: "kubernetes-validate --strict accepts every manifest and rejects a broken one",
  ignore: VALIDATE === null,
  fn: async () => {
    assertEquals(FILES, ["deployment.yaml", "ingress.yaml", "pvc.yaml", "service.yaml"]);
    const r = await run(VALIDATE!, ["--strict", ...FILES.map((f) => `${DIR}/${f}`)]);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    const bad = await Deno.makeTempFile({ suffix: ".yaml" });
    try {
      Deno.writeTextFileSync(
        bad,
        Deno.readTextFileSync(`${DIR}/deployment.yaml`).replace(
          "periodSeconds: 2",
          "periodSecs: 2",
        ),
      );
      const b = await run(VALIDATE!, ["--strict", bad]);
      assert(b.code !== 0, "an unknown field is rejected");
    } finally {
      await Deno.remove(bad);
    }
  },
});

Deno.test({
  name:
    "the Deployment requests a GPU, is ready on /ready, live on /status, and drains in its grace",
  ignore: VALIDATE === null,
  fn: async () => {
    const d = await loadYaml(`${DIR}/deployment.yaml`);
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    assertEquals(c.resources.requests["nvidia.com/gpu"], "1");
    assertEquals(c.readinessProbe.httpGet.path, "/ready");
    assertEquals(c.livenessProbe.httpGet.path, "/status");
    const env = Object.fromEntries(
      c.env.map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    const drain = Number(env.SHUTDOWN_TIMEOUT_S);
    const preStop = c.lifecycle.preStop.sleep.seconds;
    assert(pod.terminationGracePeriodSeconds > preStop + drain, "grace covers preStop + drain");
    assertEquals([env.STEP_MS, env.RIGHT_CONTEXT_MS, env.HF_HOME], ["240", "160", "/cache/hf"]);
    const ing = await loadYaml(`${DIR}/ingress.yaml`);
    const a = ing.metadata.annotations;
    assert(Number(a["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600);
    assert(a["nginx.ingress.kubernetes.io/proxy-next-upstream"].includes("http_503"));
  },
});
