# Issue 17's `vacuum3.test` (11x unix's time through ltx): SQLite's I/O-error scripts delete and
# rebuild their database for every error they inject, thousands of times. This is that cycle:
# delete test.db, open it, build a small database in one transaction, VACUUM it into another
# page size, close; ROUNDS times through plain SQLite (WAL mode) and through ltx (a directory
# replica beside the database, as the TCL runs use), one after the other in one process. Prints
# each step's median per VFS, in milliseconds. With BLOCKS, ltx then goes on for BLOCKS more
# blocks of ROUNDS cycles on the same database and prints each block's medians beside the number
# of level-0 files in its replica (which retention_grace keeps for 5 minutes: a cost that grows).
# Usage: /usr/bin/python3 bench/rebuild_cycle.py EXT.so ROUNDS [BLOCKS]
import os, shutil, sqlite3, statistics, sys, tempfile, time

BUILD = '''PRAGMA page_size=1024; BEGIN; CREATE TABLE t1(a, b, c);
  INSERT INTO t1 VALUES(1, randomblob(50), randomblob(50));
  INSERT INTO t1 SELECT a+2, b, c FROM t1; INSERT INTO t1 SELECT a+4, b, c FROM t1;
  INSERT INTO t1 SELECT a+8, b, c FROM t1; INSERT INTO t1 SELECT a+16, b, c FROM t1;
  CREATE TABLE t2 AS SELECT * FROM t1; COMMIT; DROP TABLE t2;'''


def cycle(path, vfs, times):
    t0 = time.monotonic()
    for suffix in ('', '-wal', '-shm', '-journal'):
        try:
            os.unlink(path + suffix)
        except FileNotFoundError:
            pass
    t1 = time.monotonic()
    uri = 'file:%s%s' % (path, '?vfs=ltx' if vfs == 'ltx' else '')
    db = sqlite3.connect(uri, uri=True, isolation_level=None)
    if vfs == 'plain':
        db.execute('PRAGMA journal_mode=WAL')
    t2 = time.monotonic()
    db.executescript(BUILD)
    t3 = time.monotonic()
    db.executescript('PRAGMA page_size=4096; VACUUM;')
    t4 = time.monotonic()
    db.close()
    t5 = time.monotonic()
    for name, a, b in (('delete', t0, t1), ('open', t1, t2), ('build', t2, t3),
                       ('vacuum', t3, t4), ('close', t4, t5), ('total', t0, t5)):
        times.setdefault(name, []).append(1000 * (b - a))


def medians(times):
    return '  '.join('%s %.2f' % (k, statistics.median(v)) for k, v in times.items())


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit('usage: rebuild_cycle.py EXT.so ROUNDS [BLOCKS]')
    so, rounds = sys.argv[1], int(sys.argv[2])
    blocks = int(sys.argv[3]) if len(sys.argv) == 4 else 0
    c = sqlite3.connect(':memory:')
    c.enable_load_extension(True)
    c.load_extension(so)
    c.close()
    base = tempfile.mkdtemp(prefix='ltxvfs-rebuild-')
    try:
        print('load %.2f, %d rounds' % (os.getloadavg()[0], rounds))
        for vfs in ('plain', 'ltx'):
            os.makedirs(os.path.join(base, vfs))
            times = {}
            for _ in range(rounds):
                cycle(os.path.join(base, vfs, 'test.db'), vfs, times)
            print('%-5s ' % vfs + medians(times) + '  (ms, medians)', flush=True)
        path = os.path.join(base, 'ltx', 'test.db')
        for block in range(blocks):
            times = {}
            for _ in range(rounds):
                cycle(path, 'ltx', times)
            level0 = len(os.listdir(path + '-ltx/replica/ltx/0'))
            print('ltx   after %5d cycles, %5d level-0 files: %s' % (
                (block + 2) * rounds, level0, medians(times)), flush=True)
    finally:
        shutil.rmtree(base)


main()
