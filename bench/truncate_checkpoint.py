# What a TRUNCATE checkpoint costs the replica: a database of SIZE_MB of random 1,000-byte rows
# (incompressible: the bytes a whole-database file would upload), then ROUNDS times one 1-row
# commit followed by PRAGMA wal_checkpoint(TRUNCATE). Prints the bytes uploaded, the full files
# and the objects across the rounds, and their time (uploads included), from ltx_stats(); and
# the same rounds' time through plain SQLite on a copy of the database.
#
#   /usr/bin/python3 bench/truncate_checkpoint.py build/libltxvfs.so /tmp/truncate-bench 50 10
#
# (Debian's python3: its sqlite3 module can load extensions.) Run it against two builds to
# compare them; WORK_DIR is emptied first.
import json
import os
import shutil
import sqlite3
import sys
import time

if len(sys.argv) != 5:
    sys.exit("usage: truncate_checkpoint.py EXTENSION.so WORK_DIR SIZE_MB ROUNDS")
so, work, size_mb, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
loader = sqlite3.connect(":memory:")
loader.enable_load_extension(True)
loader.load_extension(so)
db = sqlite3.connect(f"file:{work}/a.db?vfs=ltx&upload_interval_ms=0", uri=True,
                     isolation_level=None)
db.execute("CREATE TABLE t(v)")
db.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
           "INSERT INTO t SELECT randomblob(1000) FROM n", (size_mb * 1000,))
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.execute("INSERT INTO t VALUES (0)")


def stats():
    return json.loads(db.execute("SELECT ltx_stats()").fetchone()[0])


def settled():
    # Everything committed so far uploaded (at most 30 s).
    for _ in range(600):
        s = stats()
        if s["uploaded_txid"] == s["txid"]:
            return s
        time.sleep(0.05)
    return stats()


before = settled()
start = time.time()
for i in range(rounds):
    db.execute("INSERT INTO t VALUES (?)", (i,))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
after = settled()
print(f"{so}: {size_mb} MB database, {rounds} x (1-row commit + TRUNCATE checkpoint): "
      f"{(after['bytes_uploaded'] - before['bytes_uploaded']) / 1e6:.2f} MB uploaded, "
      f"{after['full_files'] - before['full_files']} full files, "
      f"{after['objects_uploaded'] - before['objects_uploaded']} objects, "
      f"{time.time() - start:.3f} s")
ltx_s = time.time() - start
db.close()

plain = sqlite3.connect(f"{work}/a.db", isolation_level=None)  # the same file, without ltx
start = time.time()
for i in range(rounds):
    plain.execute("INSERT INTO t VALUES (?)", (i,))
    plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
plain_s = time.time() - start
plain.close()
print(f"  the same rounds through plain SQLite: {plain_s:.3f} s (ltx, its uploads included: "
      f"{ltx_s / plain_s:.1f}x)")
shutil.rmtree(work, ignore_errors=True)
