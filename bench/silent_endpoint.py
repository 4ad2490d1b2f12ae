# Issue 18: N databases replicating to an S3 endpoint that accepts connections and never answers
# (a thread here), beside one database replicating to a directory, all in one process: how long
# the opens take, and how long the healthy database's commits take to reach its store (10 rounds
# of 5 commits, each round also writing every silent database). An A/B of libltxvfs builds.
# Usage: /usr/bin/python3 bench/silent_endpoint.py build/libltxvfs.so N WORK_DIR
# (Debian's python3: it loads extensions.) Bounded: the server stops accepting after 400 s.
import json, os, socket, sqlite3, sys, threading, time, shutil

ext, n = sys.argv[1], int(sys.argv[2])
work = sys.argv[3]
shutil.rmtree(work, ignore_errors=True); os.makedirs(work)
conns_seen = [0]
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(256)
port = srv.getsockname()[1]
clients = []
def serve():
    srv.settimeout(0.2)
    end = time.time() + 400
    while time.time() < end:
        try:
            c, _ = srv.accept(); clients.append(c); conns_seen[0] += 1
        except socket.timeout:
            pass
threading.Thread(target=serve, daemon=True).start()
os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y", AWS_REGION="us-east-1",
                  LTX_CLOSE_TIMEOUT_MS="500")

# Loaded once: the `ltx` VFS stays registered for the process (the first load's connection is
# only the way in).
loader = sqlite3.connect(":memory:"); loader.enable_load_extension(True); loader.load_extension(ext)
loader.close()

def open_db(path, replica):
    return sqlite3.connect(f"file:{path}?vfs=ltx&replica={replica}", uri=True, isolation_level=None)

silent = []
t0 = time.time()
for i in range(n):
    db = open_db(f"{work}/s{i}.db", f"s3://bkt/s{i}?endpoint=http://127.0.0.1:{port}")
    db.execute("create table t(x)"); db.execute("insert into t values (1)")
    silent.append(db)
open_s = time.time() - t0
healthy = open_db(f"{work}/h.db", f"file://{work}/h-replica")
healthy.execute("create table t(x)")
lags = []
for r in range(10):
    for k in range(5):
        healthy.execute("insert into t values (?)", (k,))
    # keep the silent ones busy too
    for db in silent:
        db.execute("insert into t values (2)")
    t = time.time()
    while True:
        s = json.loads(healthy.execute("select ltx_stats()").fetchone()[0])
        if s["uploaded_txid"] >= s["txid"]:
            break
        if time.time() - t > 120:
            break
        time.sleep(0.02)
    lags.append(time.time() - t)
not_sent = sum(json.loads(db.execute("select ltx_stats()").fetchone()[0])["store"].get("not_sent", 0) for db in silent)
lags.sort()
print(json.dumps({"n": n, "open_all_s": round(open_s, 2), "healthy_upload_wait_s_median": round(lags[len(lags)//2], 2),
                  "max": round(lags[-1], 2), "min": round(lags[0], 2), "silent_connections": conns_seen[0], "not_sent": not_sent}))
t = time.time()
for db in silent: db.close()
healthy.close()
print("close_all_s", round(time.time() - t, 2))
