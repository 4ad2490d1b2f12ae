#!/usr/bin/env python3
"""Short-lived connections (issue 16, item 10): what an open -> INSERT -> close cycle costs when
the replica's level 0 is large, and whether the history keeps up. Run by hand, not in CI.

    python3 scripts/short-connections.py seed <work> --files 5000 [--so build/libltxvfs.so]
    python3 scripts/short-connections.py cycles <work> --cycles 200 [--so ...] [--params ...]

`seed` writes <work>/app.db through `ltx` with a directory replica (<work>/app.db-ltx/replica)
and compaction off, one object per commit: `--files` level-0 files. `cycles` then opens the
database through `ltx` (default policy unless --params; a new database when there is none),
runs one INSERT, closes, `--cycles` times (or for `--seconds`) in this one process, and prints
the open (connect + first statement) and close times, their medians, and the files per level.
Count stat calls by running `cycles` under `strace -f -c -e trace=newfstatat,statx,stat,lstat,fstat`
(and once with --cycles 0, to subtract Python's own).
"""
import argparse, os, sqlite3, statistics, sys, time

if not hasattr(sqlite3.Connection, "enable_load_extension") and sys.executable != "/usr/bin/python3":
    os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)  # e.g. a pyenv build without it

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def levels(work):
    root = os.path.join(work, "app.db-ltx", "replica", "ltx")
    out = {}
    for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        out["L" + name] = len(os.listdir(os.path.join(root, name)))
    return out


def connect(so, work, params):
    loader = sqlite3.connect(":memory:")
    loader.enable_load_extension(True)
    loader.load_extension(so)
    uri = "file:%s/app.db?vfs=ltx%s" % (work, "&" + params if params else "")
    return lambda: sqlite3.connect(uri, uri=True, isolation_level=None)


def seed(args):
    os.makedirs(args.work, exist_ok=True)
    open_db = connect(args.so, args.work,
                      "levels=off&snapshot_interval=off&durability=remote&upload_interval_ms=0")
    db = open_db()
    db.execute("CREATE TABLE IF NOT EXISTS t(v)")
    for _ in range(args.files - 1):
        db.execute("INSERT INTO t VALUES (randomblob(100))")
    db.close()
    print("seeded", levels(args.work))


def summary(opens, closes, cpus):
    return ("open median %.1f ms (first %.1f), close median %.1f ms (first %.1f, max %.1f), "
            "CPU median %.1f ms (all threads)" % (
                statistics.median(opens), opens[0], statistics.median(closes), closes[0],
                max(closes), statistics.median(cpus)))


def cycles(args):
    if not os.path.exists(os.path.join(args.work, "app.db")):
        seed(argparse.Namespace(work=args.work, so=args.so, files=1))
    open_db = connect(args.so, args.work, args.params)
    print("before", levels(args.work))
    opens, closes, cpus = [], [], []  # per cycle; CPU: the whole process's, less load-bound
    began = time.monotonic()
    deadline = began + args.seconds if args.seconds else None
    i = 0
    while i < args.cycles or (deadline and time.monotonic() < deadline):
        i += 1
        start, cpu = time.perf_counter(), time.process_time()
        db = open_db()
        db.execute("SELECT count(*) FROM t").fetchall()
        opened = time.perf_counter()
        db.execute("INSERT INTO t VALUES (randomblob(100))")
        inserted = time.perf_counter()
        db.close()
        closed = time.perf_counter()
        opens.append((opened - start) * 1e3)
        closes.append((closed - inserted) * 1e3)
        cpus.append((time.process_time() - cpu) * 1e3)
        if args.verbose:
            print("cycle %d: open %.1f ms, close %.1f ms, CPU %.1f ms" % (i, opens[-1], closes[-1],
                                                                         cpus[-1]))
        if args.report_every and i % args.report_every == 0:
            n = args.report_every
            print("%6.0f s, cycle %d: last %d: %s; %s" % (time.monotonic() - began, i, n,
                  summary(opens[-n:], closes[-n:], cpus[-n:]), levels(args.work)), flush=True)
    if opens:
        print("%d cycles: %s" % (len(opens), summary(opens, closes, cpus)))
    print("after", levels(args.work))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("command", choices=["seed", "cycles"])
    p.add_argument("work")
    p.add_argument("--so", default=os.path.join(REPO, "build", "libltxvfs.so"))
    p.add_argument("--files", type=int, default=5000)
    p.add_argument("--cycles", type=int, default=200)
    p.add_argument("--seconds", type=float, default=0, help="cycles for at least this long")
    p.add_argument("--report-every", type=int, default=0, help="cycles between progress lines")
    p.add_argument("--params", default="", help="URI parameters of the cycles, e.g. levels=1s")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    seed(args) if args.command == "seed" else cycles(args)


if __name__ == "__main__":
    main()
