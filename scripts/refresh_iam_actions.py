"""Regenerate chaos/iam/data/operation_actions.json.gz from AWS's service reference information.

AWS publishes the Service Authorization Reference as JSON, one document per IAM prefix, listing
each service's actions and, for each API operation, the IAM actions that authorise it
("Operations" -> "AuthorizedActions", with the SDK method names that call it). This script keeps
what the IAM injector needs, keyed the way botocore names things:

    services: {botocore service: {"operations": {Operation: ["prefix:Action", ...]},
                                  "listed_under": [prefix, ...]}}
    actions:  {prefix: ["Action", ...]}   (the actions AWS defines, for every prefix used above)

and records where it came from. The rule that picks which of an operation's actions a deny policy
names, and the documented overrides, live in chaos/iam/actions.py and chaos/iam/overrides.py: this
script never touches them, it checks them against the new data and reports.

Run it from the repository root, with the project importable (``pip install -e .``, or
``PYTHONPATH=.``: it needs botocore, and reads the rule and the overrides from chaos/iam/):

    # straight from AWS (needs access to servicereference.us-east-1.amazonaws.com)
    PYTHONPATH=. python scripts/refresh_iam_actions.py

    # from a local copy: a directory of <prefix>/<prefix>.json files, e.g. a clone of a mirror
    git clone https://github.com/dgwhited/servicereference /tmp/servicereference
    PYTHONPATH=. python scripts/refresh_iam_actions.py --source /tmp/servicereference

With --source on a git clone, the commit and its date are read from it; otherwise give them with
--source-commit and --source-date. Before committing the new file, read what it prints (counts,
overrides to review) and run tests/iam/test_actions.py.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import botocore
from botocore import xform_name
from botocore.loaders import Loader

from chaos.errors import ConfigError
from chaos.iam.actions import ActionMapping
from chaos.iam.overrides import OVERRIDES

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "chaos" / "iam" / "data" / "operation_actions.json.gz"
AWS_LIST = "https://servicereference.us-east-1.amazonaws.com/v1/service-list.json"
AWS_DOCS = "https://docs.aws.amazon.com/service-authorization/latest/reference/service-reference.html"
LICENCE = (
    "None stated: AWS publishes this reference for automating policy work (see documentation), without a "
    "licence of its own, and the mirror it was read from carries no licence file. Only facts are kept: which "
    "IAM actions AWS lists as authorising which API operation, and the names of the actions it defines."
)


def _from_aws() -> Iterator[dict[str, Any]]:
    with urllib.request.urlopen(AWS_LIST, timeout=60) as answer:
        listing = json.load(answer)
    for entry in listing:
        with urllib.request.urlopen(entry["url"], timeout=60) as answer:
            yield json.load(answer)


def _from_directory(directory: Path) -> Iterator[dict[str, Any]]:
    files = sorted(directory.glob("*/*.json"))
    if not files:
        raise SystemExit(f"{directory}: no <prefix>/<prefix>.json files")
    for path in files:
        document = json.loads(path.read_text())
        if isinstance(document, dict) and "Name" in document and "Actions" in document:
            yield document


def _git(directory: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip() or None


def build(documents: Iterator[dict[str, Any]]) -> tuple[dict[str, Any], collections.Counter[str]]:
    """The trimmed mapping from the per-prefix documents, and counts of what was left out."""
    loader = Loader()
    botocore_operations: dict[str, dict[str, str]] = {}
    for service in loader.list_available_services("service-2"):
        model = loader.load_service_model(service, "service-2")
        botocore_operations[service] = {xform_name(name): name for name in model["operations"]}
    skipped: collections.Counter[str] = collections.Counter()
    operations: dict[str, dict[str, set[str]]] = collections.defaultdict(dict)
    listed_under: dict[str, set[str]] = collections.defaultdict(set)
    defined: dict[str, set[str]] = {}
    for document in documents:
        prefix = document["Name"]
        defined.setdefault(prefix, set()).update(action["Name"] for action in document.get("Actions", []))
        for operation in document.get("Operations", []):
            authorised = {f"{action['Service']}:{action['Name']}" for action in operation.get("AuthorizedActions", [])}
            for sdk in operation.get("SDK", []):
                if sdk.get("Package") != "Boto3":
                    continue
                service = sdk["Name"]
                if service not in botocore_operations:
                    skipped["service unknown to this botocore"] += 1
                    continue
                name = botocore_operations[service].get(sdk["Method"])
                if name is None:
                    skipped["operation unknown to this botocore"] += 1
                    continue
                operations[service].setdefault(name, set()).update(authorised)
                listed_under[service].add(prefix)
    used = {prefix for service in listed_under for prefix in listed_under[service]}
    used |= {action.split(":", 1)[0] for ops in operations.values() for found in ops.values() for action in found}
    data = {
        "services": {
            service: {
                "operations": {name: sorted(found) for name, found in sorted(operations[service].items())},
                "listed_under": sorted(listed_under[service]),
            }
            for service in sorted(operations)
        },
        "actions": {prefix: sorted(defined.get(prefix, ())) for prefix in sorted(used)},
    }
    return data, skipped


def write(document: dict[str, Any], path: Path) -> None:
    """Deterministic bytes: the same input gives the same file (no timestamp in the gzip header)."""
    raw = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))


def report(document: dict[str, Any]) -> int:
    """Print what the new data maps and refuses, and check the overrides against it. 1 if one is broken."""
    mapping = ActionMapping.from_document(document)
    plain = ActionMapping.from_document(document, overrides={})
    loader = Loader()
    counts: collections.Counter[str] = collections.Counter()
    for service in sorted(loader.list_available_services("service-2")):
        for operation in loader.load_service_model(service, "service-2")["operations"]:
            try:
                mapping.iam_actions(service, operation)
                counts["mapped"] += 1
            except ConfigError:
                counts["refused"] += 1
    print(f"botocore {botocore.__version__}: {counts['mapped']} operations mapped, {counts['refused']} refused")
    broken = 0
    for (service, operation), override in sorted(OVERRIDES.items()):
        listed = document["services"].get(service, {}).get("operations", {}).get(operation)
        unknown = [action for action in override.actions if not mapping.defines(action)]
        if unknown:
            broken += 1
            print(f"BROKEN override {service} {operation}: {', '.join(unknown)} not defined by AWS's reference")
        elif listed is None:
            print(f"note: override {service} {operation}: the reference no longer lists the operation")
        else:
            try:
                same = plain.iam_actions(service, operation) == override.actions
            except ConfigError:
                same = False
            if same:
                print(f"note: override {service} {operation} is now what the data gives by itself: remove it")
    return 1 if broken else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, help="a directory of <prefix>/<prefix>.json files (default: AWS)")
    parser.add_argument("--source-url", help="where that directory came from (default: its git remote)")
    parser.add_argument("--source-commit", help="its commit (default: read from git)")
    parser.add_argument("--source-date", help="the date of the data, ISO 8601 (default: the commit's, or today)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    if args.source is None:
        documents = _from_aws()
        retrieved = {"retrieved_from": AWS_LIST}
        date = args.source_date or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        documents = _from_directory(args.source)
        retrieved = {
            "retrieved_from": args.source_url or _git(args.source, "remote", "get-url", "origin") or str(args.source),
            "commit": args.source_commit or _git(args.source, "log", "-1", "--format=%H") or "unknown",
        }
        date = args.source_date or _git(args.source, "log", "-1", "--format=%cI") or "unknown"
    data, skipped = build(documents)
    document = {
        "source": {
            "name": "AWS service reference information (Service Authorization Reference, machine-readable)",
            "url": AWS_LIST,
            "documentation": AWS_DOCS,
            **retrieved,
            "date": date,
            "licence": LICENCE,
            "botocore": botocore.__version__,
            "generated_by": "scripts/refresh_iam_actions.py",
        },
        **data,
    }
    write(document, args.output)
    operations = sum(len(service["operations"]) for service in data["services"].values())
    size = args.output.stat().st_size
    print(f"{args.output.relative_to(ROOT)}: {len(data['services'])} services, {operations} operations, {size} bytes")
    for reason, count in sorted(skipped.items()):
        print(f"left out: {count} SDK entries ({reason})")
    return report(document)


if __name__ == "__main__":
    raise SystemExit(main())
