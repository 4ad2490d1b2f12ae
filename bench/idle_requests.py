# Requests an idle writer and an idle replica send per minute (issue 18), against an S3 endpoint such as
# moto: `python3 -m moto.server -H 127.0.0.1 -p 5123`, then
# `/usr/bin/python3 bench/idle_requests.py build/libltxvfs.so 5123 run1` (the extension from a directory
# named as SQLite expects: libltxvfs.so). Prints the store requests of each minute by kind.
# An optional 4th argument measures that many minutes (default 2) and adds the writer's mean
# over minutes 2..N (the target: at most 1 request a minute after the first).
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
minutes = int(sys.argv[4]) if len(sys.argv) > 4 else 2
time.sleep(5)
ws, rs = [st(w)], [st(r)]
for _ in range(minutes):
    time.sleep(60)
    ws.append(st(w)); rs.append(st(r))
if minutes == 2:
    print(tag, 'writer min1', diff(ws[0],ws[1]), 'min2', diff(ws[1],ws[2]))
    print(tag, 'replica min1', diff(rs[0],rs[1]), 'min2', diff(rs[1],rs[2]))
else:
    for m in range(minutes):
        print(tag, 'min%d' % (m + 1), 'writer', diff(ws[m], ws[m+1]), 'replica', diff(rs[m], rs[m+1]))
    later = diff(ws[1], ws[-1])
    print(tag, 'writer mean over minutes 2-%d:' % minutes,
          {k: round(v / (minutes - 1), 2) for k, v in later.items()})
