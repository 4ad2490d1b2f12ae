# A replica's open of a large database (issue 17: "an open of at most 2 round trips and 256 KiB
# whatever the history"): the requests and bytes the open reads, then one point query's, then a
# full scan compared with the primary. The writer loads MB megabytes (default 1024) of rows
# through ltx in ~5 MB transactions into a directory replica and closes; then
#   1. the replica opens from the history as the writer left it;
#   2. `ltxvfs compact --snapshot` (a snapshot at the newest TXID), and it opens again;
#   3. the same store with head.json's index directories taken out ("dirs"), as a head written
#      before them: every index is read whole at the open.
# PARAMS (optional) go into the writer's URI: `upload_interval_ms=0` uploads every transaction as
# its own object, as W4's writer does (a fast writer's long level 0, issue 17).
# Usage: /usr/bin/python3 bench/large_open.py DIR/libltxvfs.so DIR/ltxvfs [MB [PARAMS]]
import glob, json, os, shutil, sqlite3, subprocess, sys, time

so, cli = sys.argv[1], sys.argv[2]
mb = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
params = '&' + sys.argv[4] if len(sys.argv) > 4 else ''
d = '/tmp/ltxvfs-large-open'
shutil.rmtree(d, ignore_errors=True)
os.makedirs(d)
c = sqlite3.connect(':memory:')
c.enable_load_extension(True)
c.load_extension(so)
w = sqlite3.connect('file:%s/app.db?vfs=ltx%s' % (d, params), uri=True, isolation_level=None)
w.execute('pragma journal_mode=wal')
w.execute('create table t(a integer primary key, b blob)')
w.execute('create index tb on t(substr(b, 1, 8))')
rows_per_tx = 5 * 1024 * 1024 // 3000
t0 = time.time()
for _ in range(mb // 5):
    w.execute('begin')
    for _ in range(rows_per_tx):
        w.execute('insert into t(b) values(randomblob(3000))')
    w.execute('commit')
want = w.execute('select count(*), sum(length(b)), max(a) from t').fetchone()
w.close()
print('loaded %d MB in %.1f s: %s' % (mb, time.time() - t0, want), flush=True)
rep = d + '/app.db-ltx/replica'


def open_once(label):
    # The open and the first query (the schema): what a replica reads before its first page.
    # The poller reads the rest of the long indexes right after the open (lazy_index.h): its
    # GETs and bytes are counted apart (index.wholes_fetched, index.whole_bytes).
    t = time.time()
    r = sqlite3.connect('file:%s/r-%s.db?vfs=ltx&mode=ro&replica=%s&poll_ms=600000' %
                        (d, label, rep), uri=True)
    r.execute('select count(*) from sqlite_master').fetchall()
    opened = time.time() - t
    # The rest of the indexes read (counted when asked for, received a little later): once the
    # bytes received stop moving, what the open itself read is the rest, and the query below
    # shows the steady state.
    s, prev = None, None
    for _ in range(100):
        time.sleep(0.1)
        s = json.loads(r.execute('select ltx_stats()').fetchone()[0])
        if prev is not None and s['store'] == prev['store'] and s['index'] == prev['index']:
            break
        prev = s
    st, ix = s['store'], s['index']
    print('%-15s open + schema %6.1f ms, %3d files (%d long), %3d GETs, %7.1f KiB '
          '(rest of the long indexes: %d GETs, %.1f KiB)' %
          (label, opened * 1000, s['objects'], ix['lazy'], st['gets'] - ix['wholes_fetched'],
           (st['bytes_received'] - ix['whole_bytes']) / 1024, ix['wholes_fetched'],
           ix['whole_bytes'] / 1024), flush=True)
    s = s['store']
    g, b = s['gets'], s['bytes_received']
    t = time.time()
    r.execute('select length(b) from t where a = ?', (want[2] // 3,)).fetchall()
    s = json.loads(r.execute('select ltx_stats()').fetchone()[0])['store']
    print('%-15s point query %5.1f ms, %d GETs, %.1f KiB' %
          ('', (time.time() - t) * 1000, s['gets'] - g, (s['bytes_received'] - b) / 1024),
          flush=True)
    t = time.time()
    got = r.execute('select count(*), sum(length(b)), max(a) from t').fetchone()
    print('%-15s full scan %.2f s, %s' % ('', time.time() - t,
                                            'equal' if got == want else 'DIFFERENT %s' % (got,)),
          flush=True)
    r.close()
    if got != want:
        sys.exit(1)


open_once('as written')
subprocess.run([cli, 'compact', '--snapshot', rep], check=True)
open_once('after compact')
head = rep + '/head.json'
h = json.load(open(head))
h.pop('dirs', None)
json.dump(h, open(head, 'w'))
open_once('no directories')
shutil.rmtree(d)
