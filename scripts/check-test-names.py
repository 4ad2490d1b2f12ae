#!/usr/bin/env python3
"""Fails on a Catch2 test case name that CTest or Catch would mangle, so the test never runs.

Every test binary is registered with catch_discover_tests, which hands each name back to the
binary as its test spec. It escapes `,`, `[` and `]` itself; what it does not escape breaks:
  - `;` is CMake's list separator: the name becomes two tests matching nothing;
  - `\\` is Catch's escape character: `\\,` (meant as an escaped comma) splits the name;
  - a leading `~` negates the spec, a leading or trailing `*` makes it a wildcard.
Eleven test cases once "passed" for years this way without running (`--warn NoTests` now fails
such a test at run time; this check says so before anything is built).
Scope: TEST_CASE names in tests/ and bench/ (`git ls-files`). Run from anywhere:
`python3 scripts/check-test-names.py`. Exit status 1 lists each offender as file:line and name.
"""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# TEST_CASE( followed by one or more adjacent string literals (a name may span lines).
TEST_CASE = re.compile(r'\bTEST_CASE\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)')
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')


def names(text):
    """Yields (line, name as C++ spells it, name as the program sees it)."""
    for match in TEST_CASE.finditer(text):
        spelled = "".join(LITERAL.findall(match.group(1)))
        # C++ escapes: \" is a quote, \\ a backslash; any other escape is kept as written.
        seen = re.sub(r'\\(["\\])', r"\1", spelled)
        yield text.count("\n", 0, match.start()) + 1, spelled, seen


def problems(name):
    found = []
    if ";" in name:
        found.append("';' (CTest splits the name there)")
    if "\\" in name:
        found.append("'\\' (Catch's escape character)")
    if name.startswith("~"):
        found.append("a leading '~' (Catch negates the spec)")
    if name.startswith("*") or name.endswith("*"):
        found.append("a leading or trailing '*' (a wildcard to Catch)")
    return found


def main():
    files = subprocess.run(["git", "ls-files", "tests", "bench"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    bad = 0
    for rel in files:
        if not rel.endswith((".cpp", ".h")):
            continue
        text = (ROOT / rel).read_text(encoding="utf-8", errors="replace")
        for line, spelled, seen in names(text):
            for problem in problems(seen):
                print(f"{rel}:{line}: test case \"{spelled}\" holds {problem}; reword it")
                bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
