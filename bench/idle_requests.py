# Requests an idle writer and an idle replica send per minute (issue 18), against an S3 endpoint such as
# moto: `python3 -m moto.server -H 127.0.0.1 -p 5123`, then
# `/usr/bin/python3 bench/idle_requests.py build/libltxvfs.so 5123 run1` (the extension from a directory
# named as SQLite expects: libltxvfs.so). Prints the store requests of each minute by kind.
import json, os, sqlite3, subprocess, sys, time, urllib.request
so, port, tag = sys.argv[1], sys.argv[2], sys.argv[3]
ep = 'http://127.0.0.1:%s' % port
bucket = 'idle-%s' % tag
urllib.request.urlopen(urllib.request.Request(ep + '/' + bucket, method='PUT')).read()
os.environ.update(AWS_ACCESS_KEY_ID='test', AWS_SECRET_ACCESS_KEY='test', AWS_REGION='us-east-1', AWS_ENDPOINT_URL=ep)
c = sqlite3.connect(':memory:'); c.enable_load_extension(True); c.load_extension(so)
d = '/tmp/ltxvfs-idle-' + tag; os.makedirs(d, exist_ok=True)
url = 's3://%s/db' % bucket
w = sqlite3.connect('file:%s/app.db?vfs=ltx&replica=%s' % (d, url), uri=True)
w.execute('create table if not exists t(x)'); w.execute('insert into t values(1)'); w.commit()
time.sleep(3)
r = sqlite3.connect('file:%s/r.db?vfs=ltx&mode=ro&poll_ms=1000&replica=%s' % (d, url), uri=True)
r.execute('select count(*) from t').fetchall()
def st(conn): return json.loads(conn.execute('select ltx_stats()').fetchone()[0])['store']
def diff(a, b): return {k: b[k]-a[k] for k in ('requests','puts','gets','heads','lists','deletes')}
time.sleep(5)
w0, r0 = st(w), st(r)
time.sleep(60)
w1, r1 = st(w), st(r)
time.sleep(60)
w2, r2 = st(w), st(r)
print(tag, 'writer min1', diff(w0,w1), 'min2', diff(w1,w2))
print(tag, 'replica min1', diff(r0,r1), 'min2', diff(r1,r2))
