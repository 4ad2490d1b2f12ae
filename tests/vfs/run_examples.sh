#!/usr/bin/env bash
# Runs the three examples (C, Python, sqlite3 shell) against fresh databases, restores each
# replica with the ltxvfs tool and checks the restored copy equals the database.
# argv: <extension .so> <ltxvfs tool> <C example binary> <python3> <source dir> <scratch dir>
set -euo pipefail
ext=$1 tool=$2 cexample=$3 python=$4 src=$5 scratch=$6
rm -rf "$scratch"; mkdir -p "$scratch"

compare() {  # <db> <replica>
  "$tool" restore "$2" -o "$1.restored" >/dev/null
  a=$(sqlite3 "$1" .sha3sum); b=$(sqlite3 "$1.restored" .sha3sum)
  [ "$a" = "$b" ] || { echo "MISMATCH for $1: $a vs $b"; exit 1; }
  echo "ok: $1 restores identically"
}

# A long upload interval: the C example's commits all go up at close, as one object (what the
# TXID checks below rely on; nothing depends on timing).
LTX_UPLOAD_INTERVAL_MS=600000 "$cexample" "$scratch/c.db" "$ext" | tee "$scratch/c.out"
ctxid=$(sed -n 's/^committed through TXID \([0-9][0-9]*\)$/\1/p' "$scratch/c.out")
[ -n "$ctxid" ] && [ "$ctxid" -ge 2 ] || { echo "unexpected C example output"; exit 1; }
compare "$scratch/c.db" "$scratch/c.db-ltx/replica"

"$python" "$src/examples/replicate.py" "$scratch/py.db" "$ext" | tee "$scratch/py.out"
grep -q '"uploaded_txid"' "$scratch/py.out"
compare "$scratch/py.db" "$scratch/py.db-ltx/replica"

sed -e "s|\.load ./build/libltxvfs|.load ${ext%.so}|" -e "s|/tmp/ltxvfs-example|$scratch/shell|" \
  "$src/examples/session.sql" > "$scratch/session.sql"
mkdir -p "$scratch/shell"
sqlite3 < "$scratch/session.sql" | tee "$scratch/shell.out"
# ltx_txid() prints the newest TXID: a positive number (how many depends on how the new database
# was created, not on this test).
grep -qx '[1-9][0-9]*' "$scratch/shell.out"
compare "$scratch/shell/app.db" "$scratch/shell/app.db-ltx/replica"

# The CLI refuses to overwrite, and restores to a TXID.
if "$tool" restore "$scratch/c.db-ltx/replica" -o "$scratch/c.db.restored" 2>/dev/null; then
  echo "restore overwrote an existing file"; exit 1
fi
"$tool" restore "$scratch/c.db-ltx/replica" -o "$scratch/c.db.restored" --force --txid "$ctxid" >/dev/null
# The transactions went up as one object: an inner TXID is refused with a reason, never restored
# wrongly.
inner=$((ctxid - 1))
if "$tool" restore "$scratch/c.db-ltx/replica" -o "$scratch/inner.db" --txid "$inner" 2>"$scratch/inner.err"; then
  echo "restored TXID $inner, which no object ends at"; exit 1
fi
grep -q "TXID $inner" "$scratch/inner.err"
[ ! -e "$scratch/inner.db" ]
echo "all examples ok"
