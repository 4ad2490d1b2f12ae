#!/usr/bin/env python3
"""Fails on a source file over 600 lines or a function over 80 lines without a stated reason.

Scope: the C++ sources (`git ls-files`) of the library and the tools: base ltx storage history
vfs extension tools; tests/ and bench/ are not checked. Run from anywhere:
`python3 scripts/check-code-size.py`. Exit status 1 lists each offender as file:line, name, length.

A long function passes when the comment block directly above it (above its `template` line, if
any) contains "Long because", e.g.
    // Long because: one state machine; split, its states would need to be passed around.
A long file passes when a comment in its first 30 lines contains "Long because".

Finding function bodies is a heuristic that relies on clang-format (Google style, namespaces not
indented): a body ends with a line holding only `}` (a trailing // comment allowed) at the
indentation its signature starts at; the body lines between are indented deeper (blank and
preprocessor lines aside). Walking back from such a `}` to the first line at its indentation
gives the signature; it is a function when it has a parameter list and does not start with a
control keyword (if/for/while/...), a class key, `namespace` or `}` (`} else {`). Lambdas and
classes end with `});` / `};` and are never taken. Length = the lines from the signature's first
line to the closing `}`, both included (what an editor shows for the definition).
`--list` prints every function found with its length, to check the heuristic by hand.
"""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DIRS = ["base", "ltx", "storage", "history", "vfs", "extension", "tools"]
SUFFIXES = (".cpp", ".h", ".cc", ".hpp")
MAX_FILE_LINES = 600
MAX_BODY_LINES = 80
REASON = "Long because"
NOT_FUNCTIONS = {"if", "for", "while", "switch", "else", "do", "try", "catch", "return",
                 "namespace", "class", "struct", "union", "enum", "}"}
CLOSING = re.compile(r"^(\s*)\}\s*(//.*)?$")
NAME = re.compile(r"((?:[\w<>]+::)*(?:operator\s*(?:\(\)|[^\s(]+)|~?\w+))\s*\(")


def indent(line):
    return len(line) - len(line.lstrip(" "))


def skippable(line):
    return not line.strip() or line.lstrip().startswith("#")


def functions(lines):
    """Yields (signature line index, name, body length, stated reason) per function definition."""
    for end, line in enumerate(lines):
        m = CLOSING.match(line)
        if not m:
            continue
        col = len(m.group(1))
        start = end - 1
        while start >= 0 and (skippable(lines[start]) or indent(lines[start]) > col):
            start -= 1
        if start < 0 or indent(lines[start]) != col:
            continue  # e.g. an access specifier: a shallower line came first
        head = lines[start].strip()
        first_word = re.match(r"[\w}]*", head).group(0)
        if first_word in NOT_FUNCTIONS or "(" not in head:
            continue
        open_line = start
        while open_line < end and not lines[open_line].rstrip().endswith("{"):
            open_line += 1
        if open_line == end:
            continue
        signature = " ".join(s.strip() for s in lines[start:open_line + 1])
        before_params = re.sub(r"operator\s*\S+", "operator", signature.split("(")[0])
        if "=" in before_params:
            continue  # an initialiser, not a definition
        name = NAME.search(re.sub(r"__attribute__\(\(.*?\)\)|\bdecltype\(.*?\)", "", signature))
        yield start, name.group(1) if name else head, end - start + 1, has_reason(lines, start)


def has_reason(lines, start):
    """True when the comment block right above line `start` (past `template` lines) says why."""
    i = start - 1
    while i >= 0 and lines[i].lstrip().startswith("template"):
        i -= 1
    while i >= 0 and lines[i].lstrip().startswith("//"):
        if REASON in lines[i]:
            return True
        i -= 1
    return False


def main():
    listed = subprocess.run(["git", "ls-files", "--", *DIRS], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.split()
    problems = []
    for rel in sorted(p for p in listed if p.endswith(SUFFIXES)):
        lines = (ROOT / rel).read_text().splitlines()
        if len(lines) > MAX_FILE_LINES and not any(REASON in l for l in lines[:30]):
            problems.append(f"{rel}:1: file has {len(lines)} lines (limit {MAX_FILE_LINES})")
        for start, name, length, reason in functions(lines):
            if "--list" in sys.argv:
                print(f"{rel}:{start + 1}: {name} {length}{' (reason stated)' if reason else ''}")
            if length > MAX_BODY_LINES and not reason:
                problems.append(f"{rel}:{start + 1}: {name} spans {length} lines "
                                f"(limit {MAX_BODY_LINES})")
    if problems:
        print("\n".join(problems))
        print(f"{len(problems)} over the size limits; split them, or state why not in a "
              f'"{REASON}" comment (scripts/check-code-size.py)')
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
