# W10 (issue 18): N databases in one process, one write each, through plain SQLite and through
# ltx (directory replicas): threads, descriptors, RSS, open + first commit and close per database.
# With --idle=S: also after S seconds of nothing (the databases still open), and the descriptors
# an idle ltx database holds (its <db>-ltx directory), by kind. With --commits=S: then S seconds
# of one-row commits, one thread going round every database, and the commits per second.
# Both run in WAL mode with synchronous=NORMAL (the usual WAL setting): the ratio is ltx's cost.
# With --dir=PATH: the databases go in a new directory under PATH (default: the system's temporary
# directory), e.g. /dev/shm to take the disk's fsyncs out of the figures. After each ltx run the
# databases are restored from their replicas with the `ltxvfs` CLI found beside the extension and
# compared with what SQLite closed (all up to N=100, a hundred of them beyond).
# Usage: /usr/bin/python3 bench/many_databases.py build/libltxvfs.so [--idle=S] [--commits=S]
#        [--dir=PATH] N [N ...]
import os, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

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

def check_restorable(base, n):
    # Issue 18's "every database restorable afterwards": restore databases from their replicas
    # with the CLI beside the extension (all of them up to 100, else every (N/100)th) and compare
    # each with the file SQLite closed. A mismatch ends the run: its other figures mean nothing.
    step = max(1, n // 100)
    checked = 0
    start = time.monotonic()
    for i in range(0, n, step):
        path = '%s/t%d.db' % (base, i)
        out = '%s/restored-%d.db' % (base, i)
        r = subprocess.run([cli, 'restore', path + '-ltx/replica', '-o', out],
                           capture_output=True, text=True)
        if r.returncode != 0: sys.exit('restore of %s failed: %s' % (path, r.stderr.strip()))
        def content(db):
            c = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
            try: return c.execute('SELECT count(*), total(x) FROM t').fetchone()
            finally: c.close()
        if content(out) != content(path):
            sys.exit('%s restored as %r, SQLite closed it as %r' % (path, content(out), content(path)))
        os.remove(out)
        checked += 1
    print('ltx   N=%-5d restored %d of %d databases from their replicas (every %s): all equal (%.1f s)'
          % (n, checked, n, 'one' if step == 1 else '%dth' % step, time.monotonic() - start),
          flush=True)

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
    if vfs == 'ltx': check_restorable(base, n)
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
# The CLI built beside the extension restores the databases afterwards (check_restorable).
cli = os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), 'ltxvfs')
if not os.access(cli, os.X_OK): sys.exit('no ltxvfs CLI beside %s (needed to check restores)' % sys.argv[1])
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
