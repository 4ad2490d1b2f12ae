# Issue 18: where an open + first commit through ltx spends its time, statement by statement, for
# one or more builds of the extension run alternately (an A/B on a disk whose speed drifts within
# minutes needs the builds interleaved). Each round runs every build in a process of its own:
# N new databases, each opened (sqlite3_open_v2: the switch to WAL mode, the lease, the sidecar
# directories), then PRAGMA synchronous=NORMAL (the first read transaction: -wal and -shm made),
# CREATE TABLE (the first commit), INSERT; the medians per round are printed per build.
# With --dir=PATH the databases go under PATH (e.g. /dev/shm to take the disk out).
# Usage: /usr/bin/python3 bench/open_steps.py [--dir=PATH] N ROUNDS EXT.so [EXT2.so ...]
import json, os, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

STEPS = ('open', 'pragma', 'create', 'insert', 'total')


def one_round(so, n, parent):
    c = sqlite3.connect(':memory:')
    c.enable_load_extension(True)
    c.load_extension(so)
    c.close()
    base = tempfile.mkdtemp(prefix='ltxvfs-open-steps-', dir=parent)
    times = {k: [] for k in STEPS}
    conns = []
    for i in range(n):
        t0 = time.monotonic()
        d = sqlite3.connect('file:%s/t%d.db?vfs=ltx' % (base, i), uri=True, isolation_level=None)
        t1 = time.monotonic()
        d.execute('PRAGMA synchronous=NORMAL')
        t2 = time.monotonic()
        d.execute('CREATE TABLE t(x)')
        t3 = time.monotonic()
        d.execute('INSERT INTO t VALUES (1)')
        t4 = time.monotonic()
        for k, v in zip(STEPS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0)):
            times[k].append(v * 1000)
        conns.append(d)
    for d in conns:
        d.close()
    shutil.rmtree(base)
    return {k: statistics.median(v) for k, v in times.items()}


args = [a for a in sys.argv[1:] if not a.startswith('--dir=')]
parent = next((a[6:] for a in sys.argv[1:] if a.startswith('--dir=')), None)
if args and args[0] == '--one-round':  # the child: one build, one round
    print(json.dumps(one_round(args[1], int(args[2]), parent or None)))
    sys.exit()
if len(args) < 3:
    sys.exit(__doc__ or 'usage: open_steps.py [--dir=PATH] N ROUNDS EXT.so [EXT2.so ...]')
n, rounds, builds = int(args[0]), int(args[1]), args[2:]
results = {so: [] for so in builds}
print('load average before: %.2f %.2f %.2f' % os.getloadavg(), flush=True)
for _ in range(rounds):
    for so in builds:
        cmd = [sys.executable, __file__, '--one-round', so, str(n)]
        if parent: cmd.insert(2, '--dir=' + parent)
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        results[so].append(json.loads(out))
for so in builds:
    print(so)
    for k in STEPS:
        print('   %-7s %s ms' % (k, ' '.join('%.2f' % r[k] for r in results[so])))
print('load average after: %.2f %.2f %.2f' % os.getloadavg())
