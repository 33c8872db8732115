#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""validate.py [--ndjson] [FILE...]: validate fredck's JSON output against
schema/fredck.schema.json (draft 2020-12) with python3-jsonschema.

Each FILE (standard input without one) holds one document of -j or -p, or
with --ndjson one record per line.  Prints each violation with the path
inside the document and exits 1 if there is any (2 on unreadable input).
The schema is found beside this script's tree, or at $FREDCK_SCHEMA."""
import json
import os
import sys

try:
    import jsonschema
except ImportError:
    sys.stderr.write("validate.py: python3-jsonschema is not installed (scripts/install-deps.sh)\n")
    sys.exit(3)

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.environ.get("FREDCK_SCHEMA") or os.path.join(HERE, "..", "..", "schema",
                                                         "fredck.schema.json")


def validator_for(schema, definition):
    """A validator of one $defs entry, with the whole schema's $defs at hand."""
    sub = {k: v for k, v in schema.items() if k != "oneOf"}
    sub["$ref"] = "#/$defs/" + definition
    jsonschema.Draft202012Validator.check_schema(sub)
    return jsonschema.Draft202012Validator(sub)


def report(where, validator, value):
    bad = 0
    for err in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        path = "/".join(str(p) for p in err.absolute_path) or "(top)"
        # oneOf/anyOf: the deepest reasons say what is wrong.
        reasons = [c.message for c in (err.context or [])][:4]
        sys.stderr.write("%s: %s: %s%s\n" % (where, path, err.message[:300],
                                             "".join("\n    " + r[:200] for r in reasons)))
        bad += 1
    return bad


def main(argv):
    ndjson = "--ndjson" in argv
    files = [a for a in argv if a != "--ndjson"] or ["-"]
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    doc_v = validator_for(schema, "document")
    rec_v = validator_for(schema, "ndjson_record")
    bad = 0
    count = 0
    for name in files:
        text = sys.stdin.read() if name == "-" else open(name, encoding="utf-8").read()
        try:
            if ndjson:
                values = [(i + 1, json.loads(line)) for i, line in enumerate(text.splitlines())
                          if line.strip()]
            else:
                values = [(1, json.loads(text))]
        except ValueError as e:
            sys.stderr.write("%s: not JSON: %s\n" % (name, e))
            return 2
        for line, value in values:
            count += 1
            bad += report("%s:%d" % (name, line), rec_v if ndjson else doc_v, value)
    if count == 0:
        sys.stderr.write("validate.py: no JSON to validate\n")
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
