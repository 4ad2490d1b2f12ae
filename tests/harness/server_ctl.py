#!/usr/bin/env python3
"""Start and stop the S3-compatible servers the tests run against (CTest fixtures).

    server_ctl.py start moto   --state-dir DIR
    server_ctl.py start s3rver --state-dir DIR --node NODE --node-prefix PREFIX
    server_ctl.py stop  moto|s3rver --state-dir DIR

`start` launches the server on 127.0.0.1 with a free port, waits until it answers, writes
DIR/<server>.port and DIR/<server>.pid, and returns; the server keeps running in the
background with its output in DIR/<server>.log. `stop` ends it. Tests find the port through
the environment variable LTXVFS_TEST_SERVERS_DIR=DIR.

A server never outlives its purpose: it watches the process that ran `start` (ctest, or your
shell) and exits when that process is gone, and it exits after --max-lifetime seconds anyway.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
START_TIMEOUT_S = 30


def proc_start_time(pid):
    """The kernel's start time of `pid` (clock ticks since boot), or None when it is gone.
    Compared with the value recorded at launch, it tells a live parent from a reused pid."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    # Field 22; the command name (field 2) may contain spaces, so split after its ')'.
    return int(stat[stat.rindex(")") + 2:].split()[19])


def still_alive(pid, start_time):
    return proc_start_time(pid) == start_time


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def paths(state_dir, name):
    base = os.path.join(state_dir, name)
    return base + ".port", base + ".pid", base + ".log"


def serve_moto(args):
    """Runs in the background process: moto in this process, until told or orphaned."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port_file, _, _ = paths(args.state_dir, "moto")
    write_atomically(port_file, "%d\n" % server.get_host_and_port()[1])

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    deadline = time.monotonic() + args.max_lifetime
    while not done.wait(1.0):
        if not still_alive(args.watch_pid, args.watch_start) or time.monotonic() > deadline:
            break
    try:
        server.stop()
    finally:
        os._exit(0)


def stop_pid(pid_file):
    try:
        with open(pid_file) as f:
            pid, start = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        return False
    if not still_alive(pid, start):
        os.unlink(pid_file)
        return False
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not still_alive(pid, start):
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
    os.unlink(pid_file)
    return True


def start(args):
    os.makedirs(args.state_dir, exist_ok=True)
    port_file, pid_file, log_file = paths(args.state_dir, args.server)
    if stop_pid(pid_file):
        print("stopped a stale %s left by an earlier run" % args.server)
    for stale in (port_file,):
        if os.path.exists(stale):
            os.unlink(stale)

    watch_pid = os.getppid()
    watch_start = proc_start_time(watch_pid)
    common = ["--state-dir", args.state_dir, "--watch-pid", str(watch_pid),
              "--watch-start", str(watch_start), "--max-lifetime", str(args.max_lifetime)]
    env = dict(os.environ)
    if args.server == "moto":
        try:
            import moto.server  # noqa: F401  (fail here, loudly, rather than in the background)
        except ImportError as e:
            sys.exit("FATAL: %s cannot import moto (%s): install moto[server] for this "
                     "interpreter or configure with -DLTXVFS_PYTHON3=<python with moto>"
                     % (sys.executable, e))
        command = [sys.executable, os.path.abspath(__file__), "_serve-moto"] + common
    else:
        module = os.path.join(args.node_prefix or "", "node_modules", "@20minutes", "s3rver")
        if not args.node_prefix or not os.path.isdir(module):
            sys.exit("FATAL: s3rver is not installed (looked for %s): run scripts/setup.sh"
                     % module)
        if not args.node:
            sys.exit("FATAL: node was not found at configure time: run scripts/setup.sh")
        command = [args.node, os.path.join(HERE, "s3rver_main.js"), "--node-prefix",
                   args.node_prefix] + common
        # s3rver's continuation tokens use a cipher that OpenSSL 3 only has in its legacy provider.
        env["NODE_OPTIONS"] = (env.get("NODE_OPTIONS", "") + " --openssl-legacy-provider").strip()

    with open(log_file, "w") as log:
        # Not inheriting ctest's pipes matters: ctest waits for them to close.
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 env=env, start_new_session=True, close_fds=True)
    write_atomically(pid_file, "%d %d\n" % (child.pid, proc_start_time(child.pid)))

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if os.path.exists(port_file):
            port = open(port_file).read().strip()
            print("%s listening on 127.0.0.1:%s (pid %d, log %s)"
                  % (args.server, port, child.pid, log_file))
            return 0
        if child.poll() is not None:
            break
        time.sleep(0.05)
    child.kill()
    child.wait()
    with open(log_file) as f:
        log_text = f.read()[-4000:]
    sys.exit("FATAL: %s did not start within %d s (exit status %s). Log:\n%s"
             % (args.server, START_TIMEOUT_S, child.poll(), log_text))


def stop(args):
    port_file, pid_file, _ = paths(args.state_dir, args.server)
    stopped = stop_pid(pid_file)
    if os.path.exists(port_file):
        os.unlink(port_file)
    print("%s %s" % (args.server, "stopped" if stopped else "was not running"))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["start", "stop", "_serve-moto"])
    parser.add_argument("server", nargs="?", choices=["moto", "s3rver"])
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--node")
    parser.add_argument("--node-prefix")
    parser.add_argument("--watch-pid", type=int)
    parser.add_argument("--watch-start", type=int)
    parser.add_argument("--max-lifetime", type=int, default=1800)
    args = parser.parse_args()
    args.state_dir = os.path.abspath(args.state_dir)
    if args.action == "_serve-moto":
        return serve_moto(args)
    if args.server is None:
        parser.error("name the server: moto or s3rver")
    return start(args) if args.action == "start" else stop(args)


if __name__ == "__main__":
    sys.exit(main())
