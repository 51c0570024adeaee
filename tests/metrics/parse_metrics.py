"""Parses Prometheus text exposition from stdin with prometheus_client's own parser (the
reference implementation) and prints the families as JSON, so the Deno tests can check what a
real scraper would see. Any format error raises, and the exit status is non-zero."""

import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def number(v: float):
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if math.isnan(v):
        return "NaN"
    return v


families = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    families[family.name] = {
        "type": family.type,
        "documentation": family.documentation,
        "samples": [
            {"name": s.name, "labels": s.labels, "value": number(s.value)} for s in family.samples
        ],
    }
print(json.dumps(families))
