#!/usr/bin/env python3
"""Compares the two runs of each SQLite test script (run.sh): `unix` (the baseline, WAL mode) and
`ltx`. A script's outcome in one run is its status and, when it finished, the error count and the
set of failing test names printed by tester.tcl:

    3 errors out of 1234 tests on ...
    !Failures on these tests: wal-1.2 wal-3.4 ...

Exit status 1 when anything is wrong:
  - a crash (killed by a signal) or a hang (killed by the timeout) in either run, listed or not;
  - an ltx run in which `ltx` was not the default VFS at the end, or that replicated no database
    (it proved nothing);
  - a difference not listed in expected-differences.txt;
  - a listed script that no longer differs (the list must not rot), or a listed script that is
    not in scripts.txt (on a full run).
"""
import argparse
import os
import re
import sys

HANG_CODES = {124, 137}  # timeout(1): 124 after SIGTERM, 128+9 when it had to SIGKILL


class Run:
    def __init__(self, directory):
        self.dir = directory
        self.rc = int(read(os.path.join(directory, "rc"), "-1").strip() or -1)
        self.seconds = int(read(os.path.join(directory, "micros"), "0").strip() or 0) / 1e6
        self.out = read(os.path.join(directory, "out"), "")
        self.errors = None
        self.tests = None
        self.failures = []
        m = re.search(r"^(\d+) errors out of (\d+) tests", self.out, re.M)
        if m:
            self.errors, self.tests = int(m.group(1)), int(m.group(2))
        m = re.search(r"^!Failures on these tests:(.*)$", self.out, re.M)
        if m:
            self.failures = sorted(set(m.group(1).split()))
        m = re.search(r"^ltx-harness: default-vfs=(\S*) replicated=(\d+)", self.out, re.M)
        self.default_vfs, self.replicated = (m.group(1), int(m.group(2))) if m else (None, 0)
        m = re.search(r"^ltx-harness: aborted: (.*)$", self.out, re.M)
        self.abort_message = m.group(1).strip() if m else None
        m = re.search(r"^ltx-harness: failures so far:(.*)$", self.out, re.M)
        if m:
            self.failures = sorted(set(m.group(1).split()))

        if self.rc in HANG_CODES:
            self.status = "hang"
        elif self.rc > 128:
            self.status = f"crash (signal {self.rc - 128})"
        elif self.abort_message is not None:
            self.status = "aborted"
        elif self.errors is None:
            self.status = f"no summary (exit {self.rc})"
        else:
            self.status = "finished"

    def signature(self):
        # Paths differ between the runs (runs/unix/..., runs/ltx/...): not part of a message.
        message = re.sub(r"/\S*/runs/(unix|ltx)/", "", self.abort_message or "")
        return (self.status, self.errors, tuple(self.failures), message)

    def brief(self):
        if self.status == "aborted":
            return f"aborted after {len(self.failures)} errors, {self.seconds:.1f}s"
        if self.status != "finished":
            return f"{self.status} after {self.seconds:.1f}s"
        return f"{self.errors}/{self.tests} errors, {self.seconds:.1f}s"

    def tail(self, lines=12):
        return "\n".join("      | " + l for l in self.out.rstrip().splitlines()[-lines:])

    def error_lines(self, names, other):
        """tester.tcl's output for the tests in `names`, and the error messages `other` lacks."""
        out = [l for l in self.out.splitlines()
               if (m := re.match(r"^! (\S+) (expected|got):", l)) and m.group(1) in names]
        theirs = set(other.out.splitlines())
        errors = [l for l in dict.fromkeys(self.out.splitlines())
                  if l.startswith(("Error:", "ltxvfs")) and l not in theirs]
        return "\n".join("      | " + l[:240] for l in out[:30] + errors[:8])


def read(path, default):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return default


def load_expected(path):
    expected = {}
    for n, line in enumerate(read(path, "").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            sys.exit(f"{path}:{n}: `{line}` has no reason; write `script.test  reason`")
        expected[parts[0]] = parts[1].strip()
    return expected


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--all", default="1")
    ap.add_argument("--wall-us", type=int, default=0)
    ap.add_argument("--load", default="")
    ap.add_argument("--retryable", default="",
                    help="write here the scripts to run again (when unexpected differences are "
                    "the only problems)")
    ap.add_argument("scripts", nargs="+")
    args = ap.parse_args()
    expected = load_expected(args.expected)

    problems, same, expected_diffs = [], 0, 0
    for script in args.scripts:
        base = Run(os.path.join(args.runs, "unix", script))
        ltx = Run(os.path.join(args.runs, "ltx", script))
        line = f"{script:<22} unix: {base.brief():<24} ltx: {ltx.brief():<24}"
        issue = None
        differs = base.signature() != ltx.signature()
        if base.status.startswith(("hang", "crash")):
            issue = f"BASELINE {base.status.upper()}: the script is unfit for this stage on unix"
        elif ltx.status == "hang":
            issue = "HANG through ltx"
        elif ltx.status.startswith("crash"):
            issue = f"CRASH through ltx ({ltx.status})"
        elif ltx.status == "finished" and ltx.default_vfs != "ltx":
            # A script that finished has unregistered its own VFSes (testvfs ...).
            issue = f"LTX NOT IN USE: the default VFS at the end was {ltx.default_vfs}"
        elif ltx.status == "finished" and ltx.replicated == 0:
            issue = "LTX NOT IN USE: no database was replicated"
        elif differs and script not in expected:
            issue = "UNEXPECTED DIFFERENCE"
        elif not differs and script in expected:
            issue = (f"LISTED BUT NO LONGER DIFFERS: remove it from expected-differences.txt "
                     f"(reason given: {expected[script]})")
        if issue is None:
            if differs:
                expected_diffs += 1
                print(f"{line} expected difference: {expected[script]}")
            else:
                same += 1
                print(f"{line} same")
            continue
        print(f"{line} {issue}")
        problems.append((script, issue, base, ltx))

    if args.all == "1":
        for script in sorted(set(expected) - set(args.scripts)):
            issue = "LISTED IN expected-differences.txt BUT NOT RUN: remove it or add it to scripts.txt"
            print(f"{script:<22} {issue}")
            problems.append((script, issue, None, None))

    for script, issue, base, ltx in problems:
        print(f"\n--- {script}: {issue}")
        if base is None:
            continue
        only_ltx = sorted(set(ltx.failures) - set(base.failures))
        only_base = sorted(set(base.failures) - set(ltx.failures))
        if only_ltx:
            print(f"    fail only through ltx: {' '.join(only_ltx)}")
        if only_base:
            print(f"    fail only on unix:     {' '.join(only_base)}")
        for name, run in (("ltx", ltx), ("unix", base)):
            if run.status not in ("finished", "aborted"):
                print(f"    {name}: {run.brief()}; the last lines of {name}/{script}/out:\n{run.tail()}")
                continue
            if run.abort_message and (name == "ltx" or run.abort_message != ltx.abort_message):
                print(f"    {name} aborted: {run.abort_message[:300]}")
            leaks = [l for l in run.out.splitlines()
                     if re.search(r"Unfreed memory|files were left open", l)]
            if leaks:
                print(f"    {name}: " + "; ".join(leaks))
            # I/O errors SQLite logged (harness.tcl), with the system call and errno.
            io_errors = [l[l.index("ltx-harness: sqlite3_log:"):] for l in run.out.splitlines()
                         if "ltx-harness: sqlite3_log:" in l]
            for line in io_errors[:5]:
                print(f"    {name}: {line}")
            only = only_ltx if name == "ltx" else only_base
            other = base if name == "ltx" else ltx
            lines = run.error_lines(set(only), other)
            if lines:
                print(f"    {name} only:\n{lines}")

    if args.retryable:
        # Only when an unexpected difference is all that went wrong: anything else fails as is.
        with open(args.retryable, "w") as f:
            if all(base is not None and issue == "UNEXPECTED DIFFERENCE"
                   for _, issue, base, _ in problems):
                for script, _, _, _ in problems:
                    f.write(script + "\n")

    n = len(args.scripts)
    failed = len(problems)
    wall = f", {args.wall_us / 1e6:.0f}s wall" if args.wall_us else ""
    load = f", load average {args.load}" if args.load else ""
    print(f"\ntcl: {n} scripts through ltx vs unix (WAL): {same} same, {expected_diffs} expected "
          f"differences, {failed} problems{wall}{load}")
    print(f"tcl: {n - sum(1 for p in problems if p[2] is not None)} passed, {failed} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
