# W10 (issue 18): N databases in one process, one write each, through plain SQLite and through
# ltx (directory replicas): threads, descriptors, RSS, open + first commit and close per database.
# With --idle=S: also after S seconds of nothing (the databases still open), and the descriptors
# an idle ltx database holds (its <db>-ltx directory), by kind. With --commits=S: then S seconds
# of one-row commits, one thread going round every database, and the commits per second.
# Both run in WAL mode with synchronous=NORMAL (the usual WAL setting): the ratio is ltx's cost.
# With --dir=PATH: the databases go in a new directory under PATH (default: the system's temporary
# directory), e.g. /dev/shm to take the disk's fsyncs out of the figures.
# Usage: /usr/bin/python3 bench/many_databases.py build/libltxvfs.so [--idle=S] [--commits=S]
#        [--dir=PATH] N [N ...]
import os, shutil, sqlite3, statistics, sys, tempfile, time

def proc_status():
    threads = rss = 0
    for line in open('/proc/self/status'):
        if line.startswith('Threads:'): threads = int(line.split()[1])
        if line.startswith('VmRSS:'): rss = int(line.split()[1])
    return threads, len(os.listdir('/proc/self/fd')), rss / 1024.0

def fd_kinds(base):
    # The descriptors under `base`, by the kind of file: SQLite's own (db, -wal, -shm) and ltx's.
    kinds = {}
    for fd in os.listdir('/proc/self/fd'):
        try: target = os.readlink('/proc/self/fd/' + fd)
        except OSError: continue
        if not target.startswith(base): continue
        name = os.path.basename(target)
        if '-ltx/' in target:
            kind = 'ltx:' + ('spool' if '/spool' in target else name)
        else:
            kind = 'sqlite:' + (name.split('-', 1)[1] if '-' in name else 'db')
        kinds[kind] = kinds.get(kind, 0) + 1
    return ' '.join('%s=%d' % kv for kv in sorted(kinds.items()))

def run(n, vfs):
    base = tempfile.mkdtemp(prefix='ltxvfs-w10-', dir=parent_dir)
    t0 = proc_status()
    conns = []
    opens = []
    start = time.monotonic()
    for i in range(n):
        one = time.monotonic()
        path = '%s/t%d.db' % (base, i)
        uri = 'file:%s?vfs=ltx' % path if vfs == 'ltx' else 'file:%s' % path
        c = sqlite3.connect(uri, uri=True, isolation_level=None)
        if vfs != 'ltx': c.execute('PRAGMA journal_mode=WAL')
        c.execute('PRAGMA synchronous=NORMAL')
        c.execute('CREATE TABLE t(x)')
        c.execute('INSERT INTO t VALUES (1)')
        conns.append(c)
        opens.append(time.monotonic() - one)
    opened = time.monotonic() - start
    t1 = proc_status()
    if idle > 0:
        time.sleep(idle)
        t2 = proc_status()
        print('%-5s N=%-5d after %d s idle: threads +%-5d fds +%-5d RSS +%6.1f MiB  %s' % (
            vfs, n, idle, t2[0] - t0[0], t2[1] - t0[1], t2[2] - t0[2], fd_kinds(base)), flush=True)
    if commit_secs > 0:
        done = 0
        start = time.monotonic()
        while time.monotonic() - start < commit_secs:
            for c in conns: c.execute('INSERT INTO t VALUES (2)')
            done += len(conns)
        rate = done / (time.monotonic() - start)
        print('%-5s N=%-5d commits %8.0f /s across all databases' % (vfs, n, rate), flush=True)
    closes = []
    start = time.monotonic()
    for c in conns:
        one = time.monotonic()
        c.close()
        closes.append(time.monotonic() - one)
    closed = time.monotonic() - start
    shutil.rmtree(base)
    # Per database: the mean (the total over N) and the median (the first close after --commits
    # flushes its database's upload backlog, hundreds of ms, which the mean spreads over all N),
    # and the slowest close (one that waited behind other databases' work).
    print('%-5s N=%-5d threads +%-5d fds +%-5d RSS +%6.1f MiB  open+commit %6.2f ms/db (median %.2f)'
          '  close %6.2f ms/db (median %.2f, max %.1f)' % (
              vfs, n, t1[0] - t0[0], t1[1] - t0[1], t1[2] - t0[2], 1000 * opened / n,
              1000 * statistics.median(opens), 1000 * closed / n, 1000 * statistics.median(closes),
              1000 * max(closes)),
          flush=True)

c = sqlite3.connect(':memory:'); c.enable_load_extension(True); c.load_extension(sys.argv[1])
idle = 0
commit_secs = 0
parent_dir = None
args = sys.argv[2:]
while args and args[0].startswith('--'):
    opt, value = args.pop(0).split('=', 1)
    if opt == '--idle': idle = int(value)
    elif opt == '--commits': commit_secs = int(value)
    elif opt == '--dir': parent_dir = value
    else: sys.exit('unknown option ' + opt)
for n in map(int, args):
    run(n, 'plain')
    run(n, 'ltx')
