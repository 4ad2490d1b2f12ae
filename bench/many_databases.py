# W10 (issue 18): N databases in one process, one write each, through plain SQLite and through
# ltx (directory replicas): threads, descriptors, RSS, open + first commit and close per database.
# Usage: /usr/bin/python3 bench/many_databases.py build/libltxvfs.so N [N ...]
import os, shutil, sqlite3, sys, tempfile, time

def proc_status():
    threads = rss = 0
    for line in open('/proc/self/status'):
        if line.startswith('Threads:'): threads = int(line.split()[1])
        if line.startswith('VmRSS:'): rss = int(line.split()[1])
    return threads, len(os.listdir('/proc/self/fd')), rss / 1024.0

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
    start = time.monotonic()
    for c in conns: c.close()
    closed = time.monotonic() - start
    shutil.rmtree(base)
    print('%-5s N=%-5d threads +%-5d fds +%-5d RSS +%6.1f MiB  open+commit %6.2f ms/db  close %6.2f ms/db' % (
        vfs, n, t1[0] - t0[0], t1[1] - t0[1], t1[2] - t0[2], 1000 * opened / n, 1000 * closed / n),
        flush=True)

c = sqlite3.connect(':memory:'); c.enable_load_extension(True); c.load_extension(sys.argv[1])
for n in map(int, sys.argv[2:]):
    run(n, 'plain')
    run(n, 'ltx')
