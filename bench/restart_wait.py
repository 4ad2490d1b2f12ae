# How long SQLite's first commit after a VACUUM waits for the builder (issue 17: speedtest1's test
# 210, ALTER TABLE right after a VACUUM, took 1 ms on unix and 35 ms through ltx). VACUUM writes the
# whole database to the WAL, a checkpoint follows, and the next commit restarts the WAL, which
# waits until everything the old WAL held is built and synced (ltx_stats().overwrite_wait_us).
# Builds of the extension alternate, ROUNDS rounds each; medians at the end.
# Usage: /usr/bin/python3 bench/restart_wait.py ROUNDS A/libltxvfs.so [B/libltxvfs.so ...]
import json, os, shutil, sqlite3, statistics, subprocess, sys, tempfile

def one(so):
    # A child process per measurement: an extension, once loaded, stays in its process.
    code = r'''
import json, sqlite3, sys, time
so, d = sys.argv[1], sys.argv[2]
c = sqlite3.connect(':memory:'); c.enable_load_extension(True); c.load_extension(so)
db = sqlite3.connect('file:%s/x.db?vfs=ltx' % d, uri=True, isolation_level=None)
db.execute('CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c TEXT)')
db.execute('BEGIN')
for i in range(200000):
    db.execute('INSERT INTO t VALUES(?, ?, ?)', (i, 'x%d' % (i * 7919 % 100000), 'some words %d' % i))
db.execute('COMMIT')
db.execute('CREATE INDEX tb ON t(b)')
time.sleep(1)
st = lambda: json.loads(db.execute('SELECT ltx_stats()').fetchone()[0])
before = st()
db.execute('VACUUM')
t = time.perf_counter(); db.execute('ALTER TABLE t ADD COLUMN d INT DEFAULT 5'); t = time.perf_counter() - t
after = st()
print(json.dumps({'pages': db.execute('PRAGMA page_count').fetchone()[0], 'commit_ms': t * 1e3,
                  'wait_ms': (after['overwrite_wait_us'] - before['overwrite_wait_us']) / 1e3}))
db.close()
'''
    d = tempfile.mkdtemp(prefix='ltxvfs-restart-wait-')
    try:
        out = subprocess.run(['/usr/bin/python3', '-c', code, so, d], check=True,
                             capture_output=True, text=True).stdout
        return json.loads(out)
    finally:
        shutil.rmtree(d)

rounds, builds = int(sys.argv[1]), sys.argv[2:]
results = {so: [] for so in builds}
print('load before: %s' % open('/proc/loadavg').read().split()[:3])
for r in range(rounds):
    for so in builds:
        m = one(so)
        results[so].append(m)
        print('round %d %s: %d pages, the commit after VACUUM %.1f ms, of it waiting %.1f ms'
              % (r + 1, so, m['pages'], m['commit_ms'], m['wait_ms']), flush=True)
for so in builds:
    w = sorted(m['wait_ms'] for m in results[so])
    print('%s: wait median %.1f ms (%.1f-%.1f), commit median %.1f ms'
          % (so, statistics.median(w), w[0], w[-1], statistics.median(m['commit_ms'] for m in results[so])))
print('load after: %s' % open('/proc/loadavg').read().split()[:3])
