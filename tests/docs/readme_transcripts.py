#!/usr/bin/env python3
"""Runs the shell transcripts of README.md and docs/*.md and checks their output (issue 19: README
examples printed other numbers than the program).

A transcript is a fenced block right after the line `<!-- transcript -->`. In it, `$ COMMAND` runs
COMMAND with bash; `$ sqlite3` starts a shell session whose input is the following `sqlite> `
lines; every other line is output the command (or session) must print, in order. In expected
output `...` stands for any text. The transcripts of one file share a scratch directory and run
in order, so a later one can read what an earlier one wrote. Before running, `/tmp/` becomes the
scratch directory and `./build/` the build directory; the working directory is the scratch
directory. The extension's own log lines on stderr (`ltxvfs ...:`) are left out, as are SQLite's
`near line N` (the shell says it when its input is not a terminal).

usage: readme_transcripts.py <source dir> <build dir> <scratch dir>
"""
import os, re, shutil, subprocess, sys

MARK = "<!-- transcript -->"


def transcripts(path):
    """Yields (line number, [lines]) for each marked block of `path`."""
    lines = open(path, encoding="utf-8").read().split("\n")
    for i, line in enumerate(lines):
        if line.strip() != MARK:
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            raise SystemExit("%s:%d: %s must be followed by a fenced block" % (path, i + 1, MARK))
        end = next(j for j in range(i + 2, len(lines)) if lines[j].startswith("```"))
        yield i + 3, lines[i + 2:end]


def steps(block):
    """Splits a block into (command, stdin or None, [expected lines])."""
    out = []
    for line in block:
        if line.startswith("$ "):
            out.append([line[2:], None, []])
        elif line.startswith("sqlite> "):
            if not out or out[-1][0] != "sqlite3":
                raise SystemExit("a sqlite> line outside a `$ sqlite3` session: " + line)
            out[-1][1] = (out[-1][1] or "") + line[len("sqlite> "):] + "\n"
            out[-1][2].append(None)  # a statement boundary, for messages only
        elif out:
            out[-1][2].append(line)
        else:
            raise SystemExit("output before any command: " + line)
    return out


def matches(expected, actual):
    pattern = "^" + ".*".join(re.escape(part) for part in expected.split("...")) + "$"
    return re.match(pattern, actual) is not None


def clean(text):
    kept = []
    for line in text.split("\n"):
        if re.match(r"^ltxvfs [a-z]+: ", line):
            continue
        kept.append(re.sub(r" near line \d+:", ":", line).rstrip())
    while kept and kept[-1] == "":
        kept.pop()
    return kept


def run_file(path, build, scratch):
    failures = 0
    for first_line, block in transcripts(path):
        for command, stdin, expected in steps(block):
            def local(s):
                return s.replace("/tmp/", scratch + "/").replace("./build/", build + "/")
            done = subprocess.run(["bash", "-c", local(command)], input=local(stdin or ""),
                                  cwd=scratch, capture_output=True, text=True, timeout=120)
            actual = clean(done.stdout + done.stderr)
            wanted = [local(e) for e in expected if e is not None]
            ok = len(actual) == len(wanted) and all(matches(w, a) for w, a in zip(wanted, actual))
            where = "%s:%d: $ %s" % (os.path.relpath(path), first_line, command)
            if ok:
                print("ok:", where)
                continue
            failures += 1
            print("MISMATCH:", where)
            print("  expected:\n    " + "\n    ".join(wanted))
            print("  printed:\n    " + "\n    ".join(actual))
    return failures


def main():
    src, build, scratch = sys.argv[1:4]
    failures = checked = 0
    docs = [os.path.join(src, "README.md")] + sorted(
        os.path.join(src, "docs", f) for f in os.listdir(os.path.join(src, "docs")) if f.endswith(".md"))
    for path in docs:
        if not any(True for _ in transcripts(path)):
            continue
        checked += 1
        work = os.path.join(scratch, os.path.basename(path))
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        failures += run_file(path, os.path.abspath(build), work)
    if checked == 0:
        raise SystemExit("no transcript found: is the marker %s still in README.md?" % MARK)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
