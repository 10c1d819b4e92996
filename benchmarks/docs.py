"""Check that every number in ``docs/performance.md`` is one that ``benchmarks/results.json`` holds.

    python benchmarks/docs.py --check      # exit 1 naming each number the results do not hold

A number in the page (outside code) matches when some number in the results file (a figure, its
spread, a parameter, or a number in one of its labels) rounds to it at the precision it is written
with: ``0.98`` matches 0.9812, ``1,000`` matches 1000. Numbers that are part of a name (S3,
us-east-1, SigV4, HTTP/1.1, 2xx) are not figures and are skipped.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PAGE = HERE.parent / "docs" / "performance.md"
RESULTS = HERE / "results.json"
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.\-/#:])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![A-Za-z0-9_\-/]|\.\d)")
_UNIT_OK = re.compile(r"^(x|ms|s|µs|MB|MiB|KB|%)\b")
_CODE = re.compile(r"```.*?```|`[^`]*`", re.DOTALL)


def _leaves(value: Any) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield float(value)
    elif isinstance(value, str):
        for match in _NUMBER.finditer(value):
            yield float(match.group(1).replace(",", "") + (match.group(2) or ""))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)


def numbers_in_page(text: str) -> list[tuple[int, str, float, int]]:
    """(line, as written, value, decimals) of every figure in the page."""
    found = []
    for number, raw in enumerate(_CODE.sub(lambda m: " " * len(m.group(0)), text).splitlines(), start=1):
        line = re.sub(r"(?<=\d)-(?=\d)", " ", raw)  # a range min-max: two numbers
        for match in _NUMBER.finditer(line):
            after = line[match.end() :]
            if after[:1].isalpha() and not _UNIT_OK.match(after):
                continue
            whole, fraction = match.group(1), match.group(2) or ""
            found.append(
                (
                    number,
                    whole + fraction,
                    float(whole.replace(",", "") + fraction),
                    len(fraction) - 1 if fraction else 0,
                )
            )
    return found


def missing(page: str, results: Any) -> list[str]:
    known = set(_leaves(results))
    problems = []
    for line, written, value, decimals in numbers_in_page(page):
        if not any(round(candidate, decimals) == value for candidate in known):
            problems.append(f"docs/performance.md:{line}: {written} is in no figure of benchmarks/results.json")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="check the page against the results (the default)")
    parser.parse_args()
    problems = missing(PAGE.read_text(), json.loads(RESULTS.read_text()))
    for problem in problems:
        print(problem)
    print(f"{len(numbers_in_page(PAGE.read_text()))} numbers checked, {len(problems)} not in the results")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
