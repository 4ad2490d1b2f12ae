# A replica's open right after its writer's last compaction (issue 17's open: requests and bytes).
# The writer uploads four 12 MB transactions (upload_interval_ms=0: one object each), goes idle,
# and its next history run compacts them into one level-1 file (levels=1s) with no upload after
# it; a replica then opens from that file (one index of ~16,000 pages, 127 KB). Before 9caac8f
# the head did not name that file, so the open guessed 64 KiB of its index, then read the rest
# and its header. Prints the open's requests and bytes (ltx_stats()).
# Usage: /usr/bin/python3 bench/open_after_compaction.py DIR/libltxvfs.so LABEL
import sqlite3, json, time, os, shutil, sys, glob
so = sys.argv[1]
c = sqlite3.connect(':memory:'); c.enable_load_extension(True); c.load_extension(so)
d = '/tmp/ltxvfs-open-after-compaction-' + sys.argv[2]; shutil.rmtree(d, ignore_errors=True); os.makedirs(d)
w = sqlite3.connect('file:%s/app.db?vfs=ltx&upload_interval_ms=0&levels=1s&snapshot_interval=off&retention=off' % d, uri=True, isolation_level=None)
w.execute('create table t(a integer primary key, b blob)')
for k in range(4):
    w.execute('begin')
    for i in range(4000): w.execute('insert into t(b) values(randomblob(3000))')
    w.execute('commit')
txid = w.execute('select ltx_txid()').fetchone()[0]
rep = d + '/app.db-ltx/replica'
for _ in range(600):
    l1 = [f for f in glob.glob(rep + '/ltx/1/*.ltx') if f.endswith('-%016x.ltx' % txid)]
    if l1: break
    time.sleep(0.05)
time.sleep(1.5)
r = sqlite3.connect('file:%s/r.db?vfs=ltx&mode=ro&replica=%s' % (d, rep), uri=True)
r.execute('select count(*) from sqlite_master').fetchall()
s = json.loads(r.execute('select ltx_stats()').fetchone()[0])
print(sys.argv[2], 'L1 file', bool(l1), 'open:', json.dumps(s.get('store')), json.dumps({k: v for k, v in s.items() if 'tail' in k or 'index' in k}))
r.close(); w.close()
shutil.rmtree(d)
