#!/usr/bin/env python3
"""Replicate a database from Python through ltxvfs.

    python3 replicate.py app.db /path/to/libltxvfs.so

Any Python whose sqlite3 module supports load_extension works (Debian's /usr/bin/python3 does;
some self-built Pythons are compiled without it). The replica is app.db-ltx/replica unless
LTX_REPLICA_URL or a replica= URI parameter names another (s3://bucket/prefix, file:///dir).
"""
import sqlite3
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "app.db"
extension = sys.argv[2] if len(sys.argv) > 2 else "libltxvfs"

# Load once per process: the "ltx" VFS is then available to every connection.
loader = sqlite3.connect(":memory:")
loader.enable_load_extension(True)
loader.load_extension(extension)
loader.close()

db = sqlite3.connect(f"file:{path}?vfs=ltx", uri=True)
with db:
    db.execute("CREATE TABLE IF NOT EXISTS readings(id INTEGER PRIMARY KEY, value REAL)")
    db.executemany("INSERT INTO readings(value) VALUES (?)", [(i * 0.5,) for i in range(100)])
txid = db.execute("SELECT ltx_txid()").fetchone()[0]
print(f"committed through TXID {txid}")
print(db.execute("SELECT ltx_stats()").fetchone()[0])
db.close()
