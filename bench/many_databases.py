# W10 (issue 18): N databases in one process, one write each, through plain SQLite and through
# ltx (directory replicas): threads, descriptors, RSS, open + first commit and close per database.
# With --idle=S: also after S seconds of nothing (the databases still open), and the descriptors
# an idle ltx database holds (its <db>-ltx directory), by kind.
# Usage: /usr/bin/python3 bench/many_databases.py build/libltxvfs.so [--idle=S] N [N ...]
import os, shutil, sqlite3, sys, tempfile, time

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
    base = tempfile.mkdtemp(prefix='ltxvfs-w10-')
    t0 = proc_status()
    conns = []
    start = time.monotonic()
    for i in range(n):
        path = '%s/t%d.db' % (base, i)
        uri = 'file:%s?vfs=ltx' % path if vfs == 'ltx' else 'file:%s' % path
        c = sqlite3.connect(uri, uri=True, isolation_level=None)
        if vfs != 'ltx': c.execute('PRAGMA journal_mode=WAL')
        c.execute('CREATE TABLE t(x)')
        c.execute('INSERT INTO t VALUES (1)')
        conns.append(c)
    opened = time.monotonic() - start
    t1 = proc_status()
    if idle > 0:
        time.sleep(idle)
        t2 = proc_status()
        print('%-5s N=%-5d after %d s idle: threads +%-5d fds +%-5d RSS +%6.1f MiB  %s' % (
            vfs, n, idle, t2[0] - t0[0], t2[1] - t0[1], t2[2] - t0[2], fd_kinds(base)), flush=True)
    start = time.monotonic()
    for c in conns: c.close()
    closed = time.monotonic() - start
    shutil.rmtree(base)
    print('%-5s N=%-5d threads +%-5d fds +%-5d RSS +%6.1f MiB  open+commit %6.2f ms/db  close %6.2f ms/db' % (
        vfs, n, t1[0] - t0[0], t1[1] - t0[1], t1[2] - t0[2], 1000 * opened / n, 1000 * closed / n),
        flush=True)

c = sqlite3.connect(':memory:'); c.enable_load_extension(True); c.load_extension(sys.argv[1])
idle = 0
args = sys.argv[2:]
if args and args[0].startswith('--idle='):
    idle = int(args.pop(0).split('=', 1)[1])
for n in map(int, args):
    run(n, 'plain')
    run(n, 'ltx')
