/**
 * deploy/kubernetes/ as a cluster receives it: `kubectl kustomize` builds the cpu and gpu
 * overlays and the monitoring objects; a real schema validator checks every built-in object
 * (kubernetes-validate --strict, PyPI) and the Prometheus Operator's objects against its
 * published CRD schemas (tests/ops/schemas/, jsonschema). Then what scale-out needs: a GPU
 * request, readiness on the capacity-aware /ready, liveness on /status, a termination grace
 * longer than preStop + the server's drain, WebSocket-friendly Ingress annotations, autoscaling
 * on stream load that scales down slowly, a disruption budget and a network policy.
 */
import { assert, assertEquals } from "./asserts.ts";
import { ROOT, run } from "./ops_helpers.ts";
import { findTool, VENV_PYTHON } from "./ops_tools.ts";
import {
  adapterRules,
  containerEnv,
  K8S_DIR,
  K8sObject,
  kustomize,
  kustomizeYaml,
  only,
} from "./kustomize.ts";

const VALIDATE = await findTool(
  "kubernetes-validate",
  "pip install kubernetes-validate into .tools/venv-ops",
);
const KUBECTL = await findTool("kubectl", "apt-get install kubernetes-client");
const MISSING = VALIDATE === null || KUBECTL === null;
const OVERLAYS = ["cpu", "gpu"];
const SCHEMAS = `${ROOT}/tests/ops/schemas`;
const BUILT_IN_KINDS = [
  "ConfigMap",
  "Deployment",
  "HorizontalPodAutoscaler",
  "Ingress",
  "Namespace",
  "NetworkPolicy",
  "PersistentVolumeClaim",
  "PodDisruptionBudget",
  "Service",
];

async function validate(yaml: string): Promise<{ code: number; out: string }> {
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    Deno.writeTextFileSync(file, yaml);
    const r = await run(VALIDATE!, ["--strict", file]);
    return { code: r.code, out: r.stdout + r.stderr };
  } finally {
    await Deno.remove(file);
  }
}

async function validateCrdObjects(yaml: string): Promise<{ code: number; out: string }> {
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    Deno.writeTextFileSync(file, yaml);
    const schemas = [...Deno.readDirSync(SCHEMAS)].map((e) => `${SCHEMAS}/${e.name}`).sort();
    const r = await run(VENV_PYTHON, [
      `${ROOT}/tests/ops/crd_validate.py`,
      ...schemas,
      "--",
      file,
    ]);
    return { code: r.code, out: r.stdout + r.stderr };
  } finally {
    await Deno.remove(file);
  }
}

function server(objects: K8sObject[]) {
  const deployment = only(objects, "Deployment", "parakeet-server");
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  return { deployment, pod, container, env: containerEnv(objects, container) };
}

Deno.test({
  name:
    "kubectl kustomize builds every overlay; kubernetes-validate --strict accepts every object and rejects a broken one",
  ignore: MISSING,
  fn: async () => {
    for (const overlay of OVERLAYS) {
      const yaml = await kustomizeYaml(KUBECTL!, `overlays/${overlay}`);
      const kinds = (await kustomize(KUBECTL!, `overlays/${overlay}`)).map((o) => o.kind).sort();
      assertEquals(kinds, BUILT_IN_KINDS, overlay);
      const r = await validate(yaml);
      assertEquals(r.code, 0, `${overlay}: ${r.out}`);
      assert(!r.out.includes("WARN"), `${overlay}: ${r.out}`);
      const bad = await validate(yaml.replace("periodSeconds: 2", "periodSecs: 2"));
      assert(bad.code !== 0, "an unknown field is rejected");
    }
    const adapter = Deno.readTextFileSync(`${K8S_DIR}/prometheus-adapter/configmap.yaml`);
    const r = await validate(adapter);
    assertEquals(r.code, 0, r.out);
  },
});

Deno.test({
  name:
    "the ServiceMonitor and PrometheusRule validate against the Prometheus Operator's published CRD schemas",
  ignore: MISSING,
  fn: async () => {
    const yaml = await kustomizeYaml(KUBECTL!, "monitoring");
    const objects = await kustomize(KUBECTL!, "monitoring");
    assertEquals(objects.map((o) => o.kind).sort(), ["PrometheusRule", "ServiceMonitor"]);
    const r = await validateCrdObjects(yaml);
    assertEquals(r.code, 0, r.out);
    assertEquals(r.out.trim().split("\n").filter((l) => l.startsWith("ok ")).length, 2, r.out);
    // A misspelt field and a malformed duration are both caught.
    const typo = await validateCrdObjects(yaml.replace("scrapeTimeout:", "scrapeTimeOut:"));
    assert(typo.code !== 0 && typo.out.includes("scrapeTimeOut"), typo.out);
    const duration = await validateCrdObjects(yaml.replace("for: 10m", "for: ten minutes"));
    assert(duration.code !== 0 && duration.out.includes("for"), duration.out);

    // The ServiceMonitor finds the Service, in its namespace, on a port it has.
    const base = await kustomize(KUBECTL!, "overlays/gpu");
    const service = only(base, "Service", "parakeet-server");
    const monitor = only(objects, "ServiceMonitor");
    assertEquals(monitor.metadata.namespace, service.metadata.namespace);
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) {
      assertEquals(service.metadata.labels[k], v, `Service label ${k}`);
    }
    const ports = service.spec.ports.map((p: { name: string }) => p.name);
    assert(ports.includes(monitor.spec.endpoints[0].port), `Service ports ${ports}`);
    assertEquals(monitor.spec.endpoints[0].path, "/metrics");
  },
});

Deno.test({
  name:
    "the Deployment requests a GPU, is ready on /ready, live on /status, and drains in its grace",
  ignore: MISSING,
  fn: async () => {
    const objects = await kustomize(KUBECTL!, "overlays/gpu");
    const { pod, container: c, env } = server(objects);
    assertEquals(c.resources.requests["nvidia.com/gpu"], "1");
    assertEquals(c.resources.limits["nvidia.com/gpu"], "1");
    assertEquals(c.readinessProbe.httpGet.path, "/ready");
    assertEquals(c.livenessProbe.httpGet.path, "/status");
    const drain = Number(env.SHUTDOWN_TIMEOUT_S);
    const preStop = c.lifecycle.preStop.sleep.seconds;
    assert(pod.terminationGracePeriodSeconds > preStop + drain, "grace covers preStop + drain");
    assertEquals([env.STEP_MS, env.RIGHT_CONTEXT_MS, env.HF_HOME], ["240", "160", "/cache/hf"]);
    assertEquals(env.DEVICE, "cuda");
    assertEquals(pod.nodeSelector["nvidia.com/gpu.present"], "true");
    assert(
      pod.tolerations.some((t: { key: string }) => t.key === "nvidia.com/gpu"),
      "tolerates the GPU nodes' taint",
    );
    const ing = only(objects, "Ingress");
    const a = ing.metadata.annotations;
    assert(Number(a["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600);
    assert(a["nginx.ingress.kubernetes.io/proxy-next-upstream"].includes("http_503"));
  },
});

Deno.test({
  name:
    "both overlays: the knobs' ConfigMap feeds the pod, the Ingress outlasts SESSION_MAX_S, memory is requested; cpu has no GPU",
  ignore: MISSING,
  fn: async () => {
    for (const overlay of OVERLAYS) {
      const objects = await kustomize(KUBECTL!, `overlays/${overlay}`);
      const { pod, container: c, env } = server(objects);
      // A generated ConfigMap: its name carries a hash of the knobs, so editing one rolls pods.
      const knobs = c.envFrom[0].configMapRef.name;
      assert(/^parakeet-server-knobs-[a-z0-9]{10}$/.test(knobs), knobs);
      assertEquals(env.PORT, String(c.ports[0].containerPort));
      assertEquals(env.MODEL, "parakeet-tdt-0.6b-v3");
      const drain = Number(env.SHUTDOWN_TIMEOUT_S);
      assert(
        pod.terminationGracePeriodSeconds > c.lifecycle.preStop.sleep.seconds + drain,
        `${overlay}: grace covers preStop + drain`,
      );
      const a = only(objects, "Ingress").metadata.annotations;
      for (const key of ["proxy-read-timeout", "proxy-send-timeout"]) {
        assert(
          Number(a[`nginx.ingress.kubernetes.io/${key}`]) > Number(env.SESSION_MAX_S),
          `${overlay}: ${key} longer than a session`,
        );
      }
      assert(only(objects, "Ingress").spec.tls.length === 1, "TLS ends at the ingress");
      const gib = (q: string) => Number(q.replace(/Gi$/, ""));
      assert(gib(c.resources.requests.memory) >= 4, `${overlay}: memory request`);
      assert(gib(c.resources.limits.memory) > gib(c.resources.requests.memory));
      assert(objects.every((o) => o.kind === "Namespace" || o.metadata.namespace === "parakeet"));
    }
    const { container: cpu, env: cpuEnv, pod: cpuPod } = server(
      await kustomize(KUBECTL!, "overlays/cpu"),
    );
    assertEquals(cpuEnv.DEVICE, "cpu");
    assertEquals(cpuEnv.ORT_THREADS, cpu.resources.limits.cpu, "one ONNX Runtime thread per core");
    assert(!("nvidia.com/gpu" in cpu.resources.requests), "no GPU on the cpu overlay");
    assertEquals(cpuPod.nodeSelector, undefined);
  },
});

Deno.test({
  name:
    "autoscaling on stream load with a slow scale-down, a disruption budget, and a network policy",
  ignore: MISSING,
  fn: async () => {
    const objects = await kustomize(KUBECTL!, "overlays/gpu");
    const deployment = only(objects, "Deployment");
    const hpa = only(objects, "HorizontalPodAutoscaler");
    assertEquals(hpa.spec.scaleTargetRef.name, deployment.metadata.name);
    assert(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas > hpa.spec.minReplicas);
    const [metric] = hpa.spec.metrics;
    assertEquals(metric.type, "Pods");
    assertEquals(metric.pods.metric.name, "parakeet_stream_load");
    assertEquals(metric.pods.target, { type: "AverageValue", averageValue: "700m" });
    // Scale-down waits 30 min of lower load and removes one pod per 10 min at most.
    const down = hpa.spec.behavior.scaleDown;
    assert(down.stabilizationWindowSeconds >= 1800, "long scale-down window");
    assertEquals(down.policies, [{ type: "Pods", value: 1, periodSeconds: 600 }]);
    assertEquals(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);

    const pdb = only(objects, "PodDisruptionBudget");
    assertEquals(pdb.spec.maxUnavailable, 1);
    assertEquals(pdb.spec.selector, deployment.spec.selector);

    const np = only(objects, "NetworkPolicy");
    assertEquals(np.spec.podSelector, deployment.spec.selector);
    assertEquals(np.spec.policyTypes, ["Ingress", "Egress"]);
    const sources = np.spec.ingress[0].from.map((f: K8sObject) =>
      f.namespaceSelector.matchLabels["kubernetes.io/metadata.name"]
    );
    assertEquals(sources, ["ingress-nginx", "monitoring"]);
    assertEquals(np.spec.ingress[0].ports, [{ port: "http", protocol: "TCP" }]);
    const egressPorts = np.spec.egress.flatMap((e: K8sObject) =>
      e.ports.map((p: { port: number }) => p.port)
    );
    assertEquals(egressPorts, [53, 53, 443]);

    // The adapter serves the HPA's metric, with the same rule in its Helm values and ConfigMap.
    const rules = await adapterRules();
    assertEquals(rules.values, rules.configMap);
    assertEquals(rules.values.map((r: K8sObject) => r.name.as), [metric.pods.metric.name]);
  },
});
