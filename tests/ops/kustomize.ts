/**
 * The Kubernetes manifests as a cluster would receive them: `kubectl kustomize` builds a
 * directory of deploy/kubernetes/, and PyYAML (in .tools/venv-ops) turns the documents into
 * objects the tests can inspect.
 */
import { ROOT, run } from "./ops_helpers.ts";
import { VENV_PYTHON } from "./ops_tools.ts";

export const K8S_DIR = `${ROOT}/deploy/kubernetes`;

// deno-lint-ignore no-explicit-any
export type K8sObject = any;

/** The YAML stream `kubectl kustomize` prints for `dir` (relative to deploy/kubernetes/). */
export async function kustomizeYaml(kubectl: string, dir: string): Promise<string> {
  const r = await run(kubectl, ["kustomize", `${K8S_DIR}/${dir}`]);
  if (r.code !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  return r.stdout;
}

/** Every document of a YAML stream, parsed. */
export async function parseYamlStream(text: string): Promise<K8sObject[]> {
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    Deno.writeTextFileSync(file, text);
    const r = await run(VENV_PYTHON, [
      "-c",
      "import json,sys,yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))",
      file,
    ]);
    if (r.code !== 0) throw new Error(`cannot parse YAML: ${r.stderr}`);
    return JSON.parse(r.stdout);
  } finally {
    await Deno.remove(file);
  }
}

/** The objects `dir` builds to. */
export async function kustomize(kubectl: string, dir: string): Promise<K8sObject[]> {
  return await parseYamlStream(await kustomizeYaml(kubectl, dir));
}

/** The one object of `kind` (and `name`, when given) among `objects`. */
export function only(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) =>
    o.kind === kind && (name === undefined || o.metadata.name === name)
  );
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
  }
  return found[0];
}

/** A container's environment: its own values over those of the ConfigMaps it takes in whole. */
export function containerEnv(objects: K8sObject[], container: K8sObject): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    Object.assign(env, only(objects, "ConfigMap", from.configMapRef.name).data);
  }
  for (const e of container.env ?? []) env[e.name] = e.value;
  return env;
}

/** The Prometheus Adapter rules, from the Helm values file and from the ConfigMap. */
export async function adapterRules(): Promise<{ values: K8sObject[]; configMap: K8sObject[] }> {
  const dir = `${K8S_DIR}/prometheus-adapter`;
  const [values] = await parseYamlStream(Deno.readTextFileSync(`${dir}/values.yaml`));
  const [cm] = await parseYamlStream(Deno.readTextFileSync(`${dir}/configmap.yaml`));
  const [config] = await parseYamlStream(cm.data["config.yaml"]);
  return { values: values.rules.custom, configMap: config.rules };
}

/**
 * An adapter rule's metricsQuery as the adapter fills it for one request: the label matchers
 * selecting the pods asked about, grouped by pod.
 */
export function fillMetricsQuery(template: string, matchers: string, groupBy: string): string {
  return template
    .replaceAll("<<.LabelMatchers>>", matchers)
    .replaceAll("<<.GroupBy>>", groupBy);
}
