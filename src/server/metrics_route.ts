/** `GET /metrics`: the Prometheus scrape. */
import { METRICS_CONTENT_TYPE } from "../format/prometheus.ts";
import type { Route } from "./routes.ts";
import type { ServerMetrics } from "./server_metrics.ts";

export function metricsRoute(metrics: ServerMetrics): Route {
  return {
    method: "GET",
    path: "/metrics",
    handle: () =>
      new Response(metrics.render(), { headers: { "content-type": METRICS_CONTENT_TYPE } }),
  };
}
