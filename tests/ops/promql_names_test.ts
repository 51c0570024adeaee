import { assertEquals } from "./asserts.ts";
import { metricNames, scrapedNames } from "./promql_names.ts";

Deno.test("metricNames finds the metrics in PromQL, not its functions, labels or durations", () => {
  assertEquals(
    metricNames(
      'histogram_quantile(0.95, sum by (pod, le) (rate(parakeet_step_latency_seconds_bucket{namespace=~"$namespace", source="stream"}[$__rate_interval])))',
    ),
    ["parakeet_step_latency_seconds_bucket"],
  );
  assertEquals(
    metricNames(
      "sum by (namespace) (parakeet_open_streams)\n  / sum by (namespace) (parakeet_capacity_streams) > 0.9",
    ),
    ["parakeet_capacity_streams", "parakeet_open_streams"],
  );
  assertEquals(
    metricNames("a_total / on (pod) group_left (version) b_info offset 5m and bool c unless d"),
    ["a_total", "b_info", "c", "d"],
  );
  assertEquals(metricNames('count by (version) (parakeet_build_info{pod=~"x|y"}) > 1e3'), [
    "parakeet_build_info",
  ]);
});

Deno.test("scrapedNames lists the sample names of a text-format scrape", () => {
  const scrape = [
    "# HELP x_seconds Something",
    "# TYPE x_seconds histogram",
    'x_seconds_bucket{le="0.1"} 1',
    "x_seconds_sum 0.05",
    "x_seconds_count 1",
    "up_streams 3",
    "",
  ].join("\n");
  assertEquals([...scrapedNames(scrape)].sort(), [
    "up_streams",
    "x_seconds_bucket",
    "x_seconds_count",
    "x_seconds_sum",
  ]);
});
