#!/usr/bin/env python3
"""Soak for issue 16: a history that no clock, pause or crash can fork or lose. Run by hand, not in CI.

    python3 scripts/soak.py --minutes 30 --work /tmp/soak \
        [--so build/libltxvfs.so --cli build/ltxvfs --shift-so build/tests/vfs/libltxvfs_clock_shift.so]

One writer child (this script, --child) commits to <work>/app.db through `ltx` with a directory
replica <work>/replica and short levels/retention, so compaction and retention run all the time.
After every commit it appends "txid sha256-of-content" to <work>/log/<pid>.log (fsync'd). Every
few seconds the parent picks: kill -9 the writer and start another; SIGSTOP it for 5-40 s (the
lease TTL is 30 s); start a second writer on a fresh database with the same replica and the wall
clock shifted by +-45 s (LD_PRELOAD), which must be refused by the live writer's lease; a
takeover; or nothing.

A takeover (also forced every --takeover-every seconds): SIGSTOP the writer for 35-45 s; meanwhile
restore the replica's newest TXID B into <work>/gen-N.db (`<cli> restore`) and start a successor
writer on it with the same replica and lease_wait_ms=45000, which must take the lease once the old
one runs out and commit (TXIDs B+1, ...: a restored database continues the replica's history).
Then SIGCONT the old writer: its next commit must fail (exit 3, "fenced"), and it must not fork the
history (<pid>.began, beside each log, says which of its commits began after the SIGCONT). The successor is generation N, the primary from then on: kill -9 restarts and pauses apply
to it (the restart reopens gen-N.db). Generation N owns the TXIDs after its base B; what the old
generation logged past B are its unreplicated commits (expected to differ from the successor's).

Checks: every ~2 minutes and at the end, logged TXIDs the replica can restore are restored and
their content compared with the hash logged by the generation owning that TXID (at the end all of
them, up to --max-restores); a restore that differs is a MISMATCH, and so is one that shows a
fenced writer's unreplicated commit. FORK: two hashes logged for one TXID within one generation,
TXIDs going backwards within one, or a successor logging a TXID at or below its base; the base's
content must be the one its owner logged. Then PRAGMA integrity_check of the primary's database
and the newest restore compared with it. Exits 1 on a mismatch, fork, a skewed writer accepted (or
taking the live lease), an old writer that is not fenced, or an error.
"""
import argparse, glob, hashlib, os, random, re, shutil, signal, sqlite3, subprocess, sys, time

if not hasattr(sqlite3.Connection, "enable_load_extension") and sys.executable != "/usr/bin/python3":
    os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)  # e.g. a pyenv build without it

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEASE_WAIT_MS, SUCCESSOR_LEASE_WAIT_MS = 2000, 45000
PARAMS = "levels=2s,10s&retention=10m&retention_grace=5s&lease_wait_ms={}"
EXIT_COMMIT_FAILED, EXIT_OPEN_FAILED = 3, 4


def content_hash(conn):
    h = hashlib.sha256()
    for rid, v in conn.execute("SELECT id, v FROM t ORDER BY id"):
        h.update(rid.to_bytes(8, "big", signed=True) + len(v).to_bytes(4, "big") + v)
    return h.hexdigest()


def plain_hash(path):
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return content_hash(conn)
    finally:
        conn.close()


def child(args):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    loader = sqlite3.connect(":memory:")
    loader.enable_load_extension(True)
    loader.load_extension(args.so)
    try:
        conn = sqlite3.connect(f"file:{args.db}?vfs=ltx&replica={args.replica}&"
                               f"{PARAMS.format(args.lease_wait_ms)}",
                               uri=True, isolation_level=None)
        conn.execute("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB)")
    except sqlite3.Error as e:
        print(f"child {os.getpid()}: open failed: {e}", file=sys.stderr)
        sys.exit(EXIT_OPEN_FAILED)
    os.makedirs(args.log_dir, exist_ok=True)
    began_log = open(os.path.join(args.log_dir, f"{os.getpid()}.began"), "a", buffering=1)
    with open(os.path.join(args.log_dir, f"{os.getpid()}.log"), "a") as log:
        while not stop:
            try:
                began = time.monotonic()  # CLOCK_MONOTONIC, the parent's clock too
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO t(v) VALUES (?)", (os.urandom(random.randint(100, 2000)),))
                r = random.random()
                if r < 0.3:
                    conn.execute("DELETE FROM t WHERE id = (SELECT id FROM t ORDER BY random() LIMIT 1)")
                elif r < 0.5:
                    conn.execute("UPDATE t SET v = randomblob(abs(random()) % 1900 + 100) WHERE id ="
                                 " (SELECT id FROM t ORDER BY random() LIMIT 1)")
                conn.execute("DELETE FROM t WHERE id IN (SELECT id FROM t ORDER BY id LIMIT"
                             " max(0, (SELECT count(*) FROM t) - 800))")  # keeps hashing cheap
                conn.execute("COMMIT")
                txid = conn.execute("SELECT ltx_txid()").fetchone()[0]
                digest = content_hash(conn)
            except sqlite3.Error as e:
                print(f"child {os.getpid()}: commit failed: {e}", file=sys.stderr)
                sys.exit(EXIT_COMMIT_FAILED)
            log.write(f"{txid} {digest}\n")
            log.flush()
            os.fsync(log.fileno())
            began_log.write(f"{txid} {began:.6f}\n")  # a diagnostic: when its BEGIN was sent
            time.sleep(random.uniform(0, 0.05))
    conn.close()


class Soak:
    def __init__(self, a):
        self.a, self.started = a, time.time()
        self.replica, self.db = os.path.join(a.work, "replica"), os.path.join(a.work, "app.db")
        self.log_dir = os.path.join(a.work, "log")
        self.mine = []  # every child Popen, to end leftovers by PID
        self.n = dict(kills=0, pauses=0, long_pauses=0, skewed=0, refused=0, accepted=0,
                      took_live_lease=0, writer_exits=0, restores=0, not_restore_points=0,
                      mismatches=0, forks=0, errors=0, takeovers_tried=0, takeovers=0, fenced=0,
                      unfenced=0, late_commits=0, late_begun=0, unreplicated=0, not_owner_logged=0)
        self.compared = {}  # txid -> hash already verified
        # Writer generations: [{"base": TXID restored to start it (0: none), "base_hash", "db"}];
        # generation g owns the TXIDs after its base (up to the next generation's base).
        self.gens = [dict(base=0, base_hash=None, db=self.db)]
        self.last_takeover = self.started

    def say(self, msg):
        print(f"[{time.strftime('%H:%M:%S')} +{time.time() - self.started:6.0f}s] {msg}", flush=True)

    def problem(self, kind, msg):
        self.n[kind] += 1
        self.say(f"{kind.upper()}: {msg}")

    def spawn(self, db, log_dir, env_extra=None, stderr_name="writer", gen=None,
              lease_wait_ms=LEASE_WAIT_MS):
        env = dict(os.environ, **(env_extra or {}))
        err = open(os.path.join(self.a.work, f"{stderr_name}-{len(self.mine)}.stderr"), "w")
        p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", "--db", db,
                              "--replica", self.replica, "--log-dir", log_dir, "--so", self.a.so,
                              "--lease-wait-ms", str(lease_wait_ms)],
                             env=env, stderr=err)
        p.stderr_path, p.gen = err.name, gen
        self.mine.append(p)
        return p

    def why(self, p):
        """The extension's error if the child printed one, else its last stderr line."""
        lines = open(p.stderr_path).read().strip().splitlines()
        return next((l for l in lines if l.startswith("ltxvfs error")), lines[-1] if lines else "")

    def logged(self, pid=None, gen=None):
        """[(txid, hash)] in commit order: files by the order their writers started."""
        out = []
        for p in self.mine:
            path = os.path.join(self.log_dir, f"{p.pid}.log")
            if ((pid is None or p.pid == pid) and (gen is None or p.gen == gen)
                    and os.path.exists(path)):
                with open(path) as f:
                    out += [tuple(l.split()) for l in f if l.endswith("\n") and len(l.split()) == 2]
        return [(int(t), h) for t, h in out]

    def owner(self, txid):
        """The generation whose history the replica holds at txid."""
        return max(g for g, info in enumerate(self.gens) if info["base"] < txid)

    def cli(self, *args, timeout=180):
        return subprocess.run([self.a.cli, *args], capture_output=True, text=True, timeout=timeout)

    def ls(self):
        """(max_txid of every file, newest restorable TXID or 0); reports forks left out and gaps."""
        r = self.cli("ls", self.replica)
        if r.returncode != 0:
            self.problem("errors", f"ls failed: {r.stderr.strip()}")
            return set(), 0
        ends = {int(m.group(2)) for m in re.finditer(r"^\s+(\d+)\s+(\d+)\s", r.stdout, re.M)}
        m = re.search(r"^restorable: .*newest (\d+)", r.stdout, re.M)
        for line in r.stdout.splitlines():
            if line.startswith(("left out:", "warning:")):
                self.say(f"ls: {line}")
        return ends, int(m.group(1)) if m else 0

    def restore(self, txid):
        """The restored content's hash, None when txid is no restore point (or no longer one)."""
        out = os.path.join(self.a.work, "restore.db")
        for f in glob.glob(out + "*"):
            os.remove(f)
        r = self.cli("restore", self.replica, "-o", out, "--txid", str(txid))
        if r.returncode != 0:
            if "cannot be" in r.stderr:
                self.n["not_restore_points"] += 1
                return None
            raise RuntimeError(f"restore --txid {txid}: {r.stderr.strip()}")
        self.n["restores"] += 1
        return plain_hash(out)

    def check_history(self, final):
        entries = self.logged()
        by_gen = {g: self.logged(gen=g) for g in range(len(self.gens))}
        by_txid = {}  # txid -> {generation: {hashes}}
        for g, es in by_gen.items():
            for t, h in es:
                by_txid.setdefault(t, {}).setdefault(g, set()).add(h)
        self.n["forks"] = 0  # recounted from the whole log each time
        for t, per_gen in sorted(by_txid.items()):
            for g, hs in per_gen.items():
                if len(hs) > 1:
                    self.problem("forks", f"TXID {t} logged by generation {g} with {len(hs)} different hashes")
        for g, es in by_gen.items():
            for prev, cur in zip(es, es[1:]):
                if cur[0] <= prev[0] and cur[1] != prev[1]:
                    self.problem("forks", f"generation {g}: TXID went from {prev[0]} back to {cur[0]}")
            below = [t for t, _ in es if t <= self.gens[g]["base"]]
            if below:
                self.problem("forks", f"generation {g} (restored at TXID {self.gens[g]['base']}) logged"
                                      f" TXIDs at or below it: {below[:5]}")
        # A successor's base must be the content its owner logged at that TXID.
        for g, info in enumerate(self.gens[1:], 1):
            if info.get("base_checked"):
                continue
            logged = by_txid.get(info["base"], {}).get(self.owner(info["base"]))
            if logged:
                info["base_checked"] = True
                if info["base_hash"] not in logged:
                    self.problem("mismatches", f"generation {g}'s base (restored TXID {info['base']}) hash "
                                               f"{info['base_hash'][:16]} != logged {min(logged)[:16]}")
        # What fenced generations logged past their successor's base: never replicated.
        self.n["unreplicated"] = sum(len({t for t, _ in by_gen[g] if t > self.gens[g + 1]["base"]})
                                     for g in range(len(self.gens) - 1))
        ends, newest = self.ls()
        todo = sorted(t for t in by_txid if t in ends and t <= newest and t not in self.compared)
        cap = self.a.max_restores if final else 15
        if len(todo) > cap:  # an even sample; during the run the newest (retention is near)
            todo = ([todo[round(i * (len(todo) - 1) / (cap - 1))] for i in range(cap)] if final
                    else todo[-cap:])
        for t in todo:
            try:
                got = self.restore(t)
            except (RuntimeError, subprocess.TimeoutExpired, sqlite3.Error) as e:
                if final or t in self.ls()[0]:  # not just retention racing the restore
                    self.problem("errors", str(e))
                continue
            if got is None:
                continue
            self.compared[t] = got
            g = self.owner(t)
            if g in by_txid[t]:
                if got not in by_txid[t][g]:
                    self.problem("mismatches", f"restored TXID {t} hash {got[:16]} != logged by its owner, "
                                               f"generation {g}: {min(by_txid[t][g])[:16]}")
            else:  # only a fenced generation logged it (e.g. the owner was killed before logging)
                self.n["not_owner_logged"] += 1
                if any(got in hs for hs in by_txid[t].values()):
                    self.problem("mismatches", f"restored TXID {t} is generation {sorted(by_txid[t])}'s "
                                               f"unreplicated commit, not generation {g}'s history")
        self.say(f"history check: {len(entries)} commits logged by {len(self.gens)} generations, "
                 f"{len(todo)} restore attempts, {len(self.compared)} TXIDs compared so far, "
                 f"newest restorable {newest}")

    def start_writer(self):
        self.writer = self.spawn(self.db, self.log_dir, gen=len(self.gens) - 1)
        self.say(f"writer {self.writer.pid} started on {os.path.basename(self.db)}")

    def skewed_writer(self):
        if self.writer.poll() is not None or not self.logged(self.writer.pid):
            return self.say("skew: skipped, the writer has not committed yet")
        self.n["skewed"] += 1
        shift = random.choice([45000, -45000])
        db = os.path.join(self.a.work, f"other-{self.n['skewed']}.db")
        p = self.spawn(db, os.path.join(self.a.work, "log-other"), stderr_name="skewed",
                       env_extra={"LD_PRELOAD": self.a.shift_so, "LTXVFS_CLOCK_SHIFT_MS": str(shift)})
        try:
            rc = p.wait(timeout=LEASE_WAIT_MS / 1000 + 15)
        except subprocess.TimeoutExpired:
            p.kill(); p.wait(); rc = None
        why = self.why(p)
        if rc == EXIT_OPEN_FAILED and "lease is held" in why:
            self.n["refused"] += 1
            self.say(f"skew {shift:+d} ms: writer {p.pid} on {db} refused by the lease")
        elif rc == EXIT_OPEN_FAILED:  # refused later than the lease check: it had taken the lease
            self.problem("took_live_lease", f"skewed writer {p.pid} got past the live lease: {why}")
        else:
            self.problem("accepted", f"skewed writer {p.pid} on {db} was not refused (rc {rc}): {why}")

    def pause(self):
        d = random.uniform(5, 40)
        self.n["pauses"] += 1
        self.n["long_pauses"] += d > 30
        self.say(f"SIGSTOP writer {self.writer.pid} for {d:.1f} s")
        os.kill(self.writer.pid, signal.SIGSTOP)
        time.sleep(d)
        os.kill(self.writer.pid, signal.SIGCONT)
        self.say(f"SIGCONT writer {self.writer.pid}")

    def takeover(self):
        """Pause the writer past the lease TTL, start a successor from the replica's newest TXID."""
        old, gen = self.writer, len(self.gens)
        if old.poll() is not None or not self.logged(old.pid):
            return self.say("takeover: skipped, the writer has not committed yet")
        self.n["takeovers_tried"] += 1
        self.last_takeover = time.time()
        d = random.uniform(35, 45)
        self.say(f"TAKEOVER {gen}: SIGSTOP writer {old.pid} for {d:.1f} s")
        t0 = time.time()
        os.kill(old.pid, signal.SIGSTOP)
        db, succ = os.path.join(self.a.work, f"gen-{gen}.db"), None
        try:
            r = self.cli("restore", self.replica, "-o", db)
            m = re.search(r"at TXID (\d+)", r.stdout)
            if r.returncode != 0 or not m:
                return self.problem("errors", f"takeover {gen}: restoring the newest TXID failed "
                                              f"(rc {r.returncode}): {(r.stderr or r.stdout).strip()}")
            base, base_hash = int(m.group(1)), plain_hash(db)
            succ = self.spawn(db, self.log_dir, gen=gen, lease_wait_ms=SUCCESSOR_LEASE_WAIT_MS,
                              stderr_name=f"successor{gen}")
            self.say(f"takeover {gen}: restored TXID {base} into {os.path.basename(db)} "
                     f"({time.time() - t0:.1f} s into the pause); successor {succ.pid} started")
            while time.time() < t0 + d + 30:  # past the pause only while the successor has no commit
                time.sleep(0.5)
                if succ.poll() is not None or (time.time() >= t0 + d and self.logged(succ.pid)):
                    break
            first = self.logged(succ.pid)
            if not first:
                why = self.why(succ) if succ.poll() is not None else "still no commit"
                self.problem("errors", f"takeover {gen}: successor {succ.pid} did not commit within "
                                       f"{time.time() - t0:.0f} s (rc {succ.poll()}): {why}")
                if succ.poll() is None:
                    succ.kill(); succ.wait()
                return
            self.say(f"takeover {gen}: successor {succ.pid} committed {len(first)} transactions, "
                     f"first TXID {first[0][0]} (base {base}), after {time.time() - t0:.1f} s")
            self.gens.append(dict(base=base, base_hash=base_hash, db=db))
            self.db, self.writer = db, succ
            self.n["takeovers"] += 1
        finally:
            at_cont, cont_time = len(self.logged(old.pid)), time.monotonic()
            os.kill(old.pid, signal.SIGCONT)
            self.say(f"SIGCONT writer {old.pid}")
        if self.writer is old:
            return
        try:
            rc = old.wait(timeout=30)
        except subprocess.TimeoutExpired:
            rc = None
        late = len(self.logged(old.pid)) - at_cont
        self.n["late_commits"] += late
        try:  # of those logged after SIGCONT, the ones that did not begin before the SIGSTOP
            with open(os.path.join(self.log_dir, f"{old.pid}.began")) as f:
                begun_after = sum(1 for l in f if len(l.split()) == 2 and float(l.split()[1]) >= cont_time)
        except (OSError, ValueError):
            begun_after = -1
        self.n["late_begun"] += max(begun_after, 0)
        if rc == EXIT_COMMIT_FAILED:
            self.n["fenced"] += 1
            self.say(f"takeover {gen}: old writer {old.pid} fenced after {late} more commits "
                     f"({begun_after} begun after SIGCONT): {self.why(old)}")
        elif rc is None:
            self.problem("unfenced", f"old writer {old.pid} still running 30 s after SIGCONT, "
                                     f"{late} commits since: killing it")
            old.kill(); old.wait()
        else:
            self.problem("unfenced", f"old writer {old.pid} exited with {rc} after {late} commits, "
                                     f"not refused a commit: {self.why(old)}")

    def run(self):
        self.start_writer()
        deadline, next_check = self.started + self.a.minutes * 60, time.time() + 120
        last_progress, last_count = time.time(), 0
        while time.time() < deadline:
            time.sleep(random.uniform(2, 6))
            if self.writer.poll() is not None:
                self.n["writer_exits"] += 1
                self.say(f"writer {self.writer.pid} exited with {self.writer.returncode}: {self.why(self.writer)}")
                self.start_writer()
            count = len(self.logged(self.writer.pid))
            if count != last_count:
                last_progress, last_count = time.time(), count
            elif time.time() - last_progress > 60:
                self.problem("errors", f"writer {self.writer.pid} made no progress for 60 s; killing it")
                self.writer.kill(); self.writer.wait()
                continue
            action = random.choices(["kill", "pause", "skew", "takeover", "none"], [25, 15, 25, 5, 30])[0]
            if self.a.takeover_every and time.time() - self.last_takeover >= self.a.takeover_every:
                action = "takeover"
            if action == "kill":
                self.n["kills"] += 1
                self.say(f"kill -9 writer {self.writer.pid}")
                self.writer.kill(); self.writer.wait()
                self.start_writer()
                last_progress, last_count = time.time(), 0
            elif action == "pause":
                self.pause()
                last_progress = time.time()
            elif action == "skew":
                self.skewed_writer()
            elif action == "takeover":
                self.takeover()
                last_progress, last_count = time.time(), len(self.logged(self.writer.pid))
            if time.time() >= next_check:
                self.check_history(final=False)
                next_check = time.time() + 120

    def finish(self):
        self.say(f"stopping writer {self.writer.pid}")
        self.writer.send_signal(signal.SIGTERM)
        try:
            self.writer.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.problem("errors", f"writer {self.writer.pid} did not close within 30 s")
        for p in self.mine:  # leftovers, only our own PIDs
            if p.poll() is None:
                p.kill(); p.wait()
        self.check_history(final=True)
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        ic = conn.execute("PRAGMA integrity_check").fetchone()[0]
        current = content_hash(conn)
        conn.close()
        if ic != "ok":
            self.problem("errors", f"{os.path.basename(self.db)} integrity_check: {ic}")
        _, newest = self.ls()
        try:
            got = self.restore(newest) if newest else None
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            got = self.problem("errors", str(e))
        entries, name = self.logged(), os.path.basename(self.db)
        if got != current:
            self.problem("mismatches", f"newest restore (TXID {newest}) differs from {name}")
        self.say(f"final: {name} integrity_check {ic}; newest restorable TXID {newest} "
                 f"{'matches' if got == current else 'DIFFERS from'} {name}; last logged TXID "
                 f"{max((t for t, _ in self.logged(gen=len(self.gens) - 1)), default=None)}")
        n = self.n
        print(f"\nSUMMARY minutes={(time.time() - self.started) / 60:.1f} commits_logged={len(entries)} "
              f"kills={n['kills']} pauses={n['pauses']} (over 30 s: {n['long_pauses']}) "
              f"writer_exits={n['writer_exits']}\n  skewed writers: started={n['skewed']} "
              f"refused={n['refused']} accepted={n['accepted']} took_live_lease={n['took_live_lease']}"
              f"\n  takeovers: tried={n['takeovers_tried']} done={n['takeovers']} "
              f"old_writers_fenced={n['fenced']} not_fenced={n['unfenced']} "
              f"their_commits_logged_after_SIGCONT={n['late_commits']} (begun after it: {n['late_begun']}) "
              f"old_writers_unreplicated_commits={n['unreplicated']}"
              f"\n  restores compared={n['restores']} not_restore_points={n['not_restore_points']} "
              f"distinct_txids={len(self.compared)} only_logged_by_a_fenced_writer={n['not_owner_logged']}"
              f"\n  mismatches={n['mismatches']} forks={n['forks']} "
              f"errors={n['errors']}")
        return 1 if any(n[k] for k in ("mismatches", "forks", "accepted", "took_live_lease", "unfenced",
                                                 "errors")) else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--work", default="/tmp/soak")
    ap.add_argument("--so", default=os.path.join(REPO, "build/libltxvfs.so"))
    ap.add_argument("--cli", default=os.path.join(REPO, "build/ltxvfs"))
    ap.add_argument("--shift-so", default=os.path.join(REPO, "build/tests/vfs/libltxvfs_clock_shift.so"))
    ap.add_argument("--max-restores", type=int, default=400)
    ap.add_argument("--takeover-every", type=float, default=0, metavar="SECONDS",
                    help="also force a takeover when this long has passed since the last (or the start)")
    ap.add_argument("--lease-wait-ms", type=int, default=LEASE_WAIT_MS, help=argparse.SUPPRESS)
    for hidden in ("--db", "--replica", "--log-dir"):
        ap.add_argument(hidden, help=argparse.SUPPRESS)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.so, a.cli, a.shift_so = map(os.path.abspath, (a.so, a.cli, a.shift_so))
    if a.child:
        return child(a)
    a.work = os.path.abspath(a.work)
    marker = os.path.join(a.work, ".soak")
    if os.path.isdir(a.work) and os.listdir(a.work):
        if not os.path.exists(marker):
            sys.exit(f"{a.work} is not empty and not an earlier soak's directory")
        shutil.rmtree(a.work)
    os.makedirs(a.work, exist_ok=True)
    open(marker, "w").close()
    soak = Soak(a)
    try:
        soak.run()
    finally:
        rc = soak.finish()
    sys.exit(rc)


if __name__ == "__main__":
    main()
