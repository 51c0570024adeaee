"""Validates custom resources against their CustomResourceDefinitions' published schemas.

usage: crd_validate.py CRD.yaml... -- OBJECTS.yaml...

Every object in the OBJECTS files must be of a kind one of the CRDs defines, at a served version.
Strict like `kubectl apply --validate=strict`: a field the schema does not declare is an error
(the API server would silently drop it), unless the schema keeps unknown fields
(x-kubernetes-preserve-unknown-fields). Prints one line per object; exits 1 on any error.
"""

import sys

import jsonschema
import yaml


def strict(schema):
    """The schema with `additionalProperties: false` wherever properties are declared."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def load_crds(paths):
    schemas = {}
    for path in paths:
        with open(path) as f:
            crd = yaml.safe_load(f)
        spec = crd["spec"]
        for version in spec["versions"]:
            if not version.get("served", False):
                continue
            key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
            schemas[key] = strict(version["schema"]["openAPIV3Schema"])
    return schemas


def main(argv):
    sep = argv.index("--")
    schemas = load_crds(argv[:sep])
    failed = 0
    count = 0
    for path in argv[sep + 1 :]:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for obj in docs:
            count += 1
            key = (obj.get("apiVersion"), obj.get("kind"))
            name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
            schema = schemas.get(key)
            if schema is None:
                print(f"FAIL {path} {name}: no schema for {key[0]} {key[1]}")
                failed += 1
                continue
            errors = sorted(
                jsonschema.Draft7Validator(schema).iter_errors(obj), key=lambda e: list(e.path)
            )
            if errors:
                failed += 1
                for e in errors:
                    where = "/".join(str(p) for p in e.absolute_path)
                    print(f"FAIL {path} {name} at {where}: {e.message}")
            else:
                print(f"ok {path} {name}")
    if count == 0:
        print("FAIL no objects")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
