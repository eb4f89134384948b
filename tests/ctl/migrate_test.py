#!/usr/bin/python3
"""migrate_test.py: `finsamctl migrate` on a ledger the previous release wrote.

Why a test of its own: a migration is only tested for real on data written
by the previous release's binaries, not on a store patched to look old. So
this exports the previous release (its tag, else its commit) with
`git archive` into the build tree, builds its finsam-collector,
finsam-agent and finsamctl there once (reused while the commit is the
same), and lets them write a ledger: the OLD collector and an OLD agent's
`demo` on 127.0.0.1 with ephemeral ports, in a temporary directory. The
OLD finsamctl records the exact and the published numbers. Then this
release's binaries must:
  - refuse the old ledger (the collector, and finsamctl's other commands)
    with the one command that migrates it;
  - migrate it (`finsamctl -d DIR migrate`), and say nothing is left to do
    when asked again;
  - find it consistent (`rebuild --verify`), with the same events, the same
    exact numbers and the same published numbers (the publication is
    carried over as it is; a row one release's suppression audit hides and
    the other's shows is left out, since that is decided when read);
  - run the collector on it and take further events from the OLD agent,
    each exactly once.

Exit 0 passed, 1 failed, 77 skipped (no git history: ctest's
SKIP_RETURN_CODE). Usage: migrate_test.py --source DIR --bin DIR --cache DIR
--release TAG --commit SHA [--events N]
"""
import argparse
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
OLD_TARGETS = ("finsam-collector", "finsam-agent", "finsamctl")


def log(msg):
    print("migrate_test: " + msg, flush=True)


def fail(msg):
    log("FAIL: " + msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def run(argv, timeout=120, **kw):
    """Runs argv; returns (exit code, stdout + stderr)."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, **kw)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def previous_commit(source, release, commit):
    """The commit of the previous release, or None without git history."""
    for rev in (release + "^{commit}", commit + "^{commit}"):
        try:
            rc, out = run(["git", "-C", source, "rev-parse", "-q", "--verify", rev], timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if rc == 0:
            return out.strip()
    return None


def build_previous(source, sha, cache):
    """The bin/ directory of the previous release, built once per commit."""
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs build it once
        stamp = os.path.join(cache, "built")
        bindir = os.path.join(cache, "build", "bin")
        if (os.path.exists(stamp) and open(stamp).read().strip() == sha and
                all(os.access(os.path.join(bindir, t), os.X_OK) for t in OLD_TARGETS)):
            log("previous release %s: reusing %s" % (sha[:12], bindir))
            return bindir
        log("previous release %s: exporting and building in %s" % (sha[:12], cache))
        t0 = time.time()
        src = os.path.join(cache, "src")
        for d in (src, os.path.join(cache, "build")):
            shutil.rmtree(d, ignore_errors=True)
        os.makedirs(src)
        archive = subprocess.Popen(["git", "-C", source, "archive", sha], stdout=subprocess.PIPE)
        rc, out = run(["tar", "-x", "-C", src], stdin=archive.stdout)
        archive.stdout.close()
        check(archive.wait() == 0 and rc == 0, "git archive %s failed: %s" % (sha, out))
        rc, out = run(["cmake", "-S", src, "-B", os.path.join(cache, "build"), "-DBUILD_TESTING=OFF",
                       "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], timeout=600)
        check(rc == 0, "configuring the previous release failed:\n" + out[-4000:])
        rc, out = run(["cmake", "--build", os.path.join(cache, "build"), "-j2", "--target"] +
                      list(OLD_TARGETS), timeout=1500)
        check(rc == 0, "building the previous release failed:\n" + out[-4000:])
        with open(stamp, "w") as f:
            f.write(sha + "\n")
        log("previous release built in %.0f s" % (time.time() - t0))
        return bindir


class Cluster:
    """A collector's data directory and one agent's, on ephemeral ports."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.cdir = os.path.join(tmp, "collector")
        self.adir = os.path.join(tmp, "agent-nv")
        self.endpoint = "tcp://127.0.0.1:%d" % free_port()
        self.streams = ["tcp://127.0.0.1:%d" % free_port() for _ in range(3)]
        self.proc = None
        self.logs = 0

    def logfile(self, name):
        self.logs += 1
        return os.path.join(self.tmp, "%02d-%s.log" % (self.logs, name))

    def setup(self, old):
        rc, out = run([os.path.join(old, "finsam-collector"), "-d", self.cdir, "keygen"])
        check(rc == 0, "old collector keygen: " + out)
        rc, out = run([os.path.join(old, "finsam-agent"), "-d", self.adir, "--forbund", "NV", "keygen"])
        check(rc == 0, "old agent keygen: " + out)
        shutil.copy(os.path.join(self.cdir, "keys", "collector.key"),
                    os.path.join(self.adir, "keys", "collector.key"))
        os.makedirs(os.path.join(self.cdir, "agents"), exist_ok=True)
        shutil.copy(os.path.join(self.adir, "keys", "agent.key"), os.path.join(self.cdir, "agents", "nv.key"))

    def collector_argv(self, bindir):
        return [os.path.join(bindir, "finsam-collector"), "-d", self.cdir, "--endpoint", self.endpoint,
                "--endpoint-file", os.path.join(self.tmp, "endpoint"), "--stream-events", self.streams[0],
                "--stream-aggregates", self.streams[1], "--stream-replay", self.streams[2], "--http", "off",
                "--publish-interval", "1", "--log-level", "info"]

    def start(self, bindir, name):
        epfile = os.path.join(self.tmp, "endpoint")
        if os.path.exists(epfile):
            os.unlink(epfile)
        self.log = self.logfile(name)
        self.proc = subprocess.Popen(self.collector_argv(bindir), stdout=open(self.log, "w"),
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while not os.path.exists(epfile):
            if self.proc.poll() is not None or time.time() > deadline:
                fail("%s did not bind; log:\n%s" % (name, open(self.log).read()))
            time.sleep(0.05)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        check(rc == 0, "collector exited %d; log:\n%s" % (rc, open(self.log).read()[-4000:]))
        self.proc = None

    def agent_demo(self, old, events, seed):
        argv = [os.path.join(old, "finsam-agent"), "-d", self.adir, "--collector", self.endpoint,
                "--log-level", "warn", "demo", "--events", str(events), "--seed", str(seed),
                "--exit-when-empty"]
        rc, out = run(argv, timeout=600)
        check(rc == 0, "old agent demo exited %d: %s" % (rc, out[-4000:]))
        rc, out = run([os.path.join(old, "finsam-agent"), "-d", self.adir, "status"])
        check(rc == 0 and "queued" in out, "old agent status: " + out)
        return out

    def ctl(self, bindir, *args, expect=0):
        rc, out = run([os.path.join(bindir, "finsamctl"), "-d", self.cdir] + list(args), timeout=600)
        if expect is not None:
            check(rc == expect, "finsamctl %s exited %d (want %d): %s" % (" ".join(args), rc, expect,
                                                                          out[-4000:]))
        return rc, out

    def json(self, bindir, *args):
        _, out = self.ctl(bindir, *args)
        return json.loads(out)


def numbers(doc):
    """The values of an export as {path: value}, without its time stamp:
    what a reader sees, independent of key order."""
    flat = {}

    def walk(path, v):
        if isinstance(v, dict):
            for k, x in v.items():
                if k != "exported_at":
                    walk(path + "/" + k, x)
        elif isinstance(v, list):
            # Rows are named by their fields, not their position.
            for i, x in enumerate(v):
                name = i
                if isinstance(x, dict):
                    name = "|".join(str(x.get(k)) for k in ("id", "measure", "level", "forbund", "lan",
                                                              "period", "slice") if k in x) or i
                walk("%s[%s]" % (path, name), x)
        else:
            flat[path] = v

    walk("", doc)
    return flat


def row_of(key):
    """The row a value belongs to: its path up to the last row name."""
    return key[:key.rfind("]") + 1]


def compare(what, old, new, audit_may_differ=False):
    a, b = numbers(old), numbers(new)
    check(len(a) > 100, "%s: only %d values before the migration" % (what, len(a)))
    if audit_may_differ:
        # Which rows are hidden is decided when the table is read, by the
        # reading release's suppression audit, not stored: a release whose
        # audit changed (report/interval.c) hides other rows of the very
        # same cells. Those rows are left out on both sides; every value
        # shown by both releases must be the same.
        flipped = {row_of(k) for k in set(a) & set(b) if k.endswith("/suppressed") and a[k] != b[k]}
        if flipped:
            log("%s: %d rows hidden by one release's audit and shown by the other's, left out" %
                (what, len(flipped)))
        a = {k: v for k, v in a.items() if row_of(k) not in flipped}
        b = {k: v for k, v in b.items() if row_of(k) not in flipped}
    only_old = sorted(set(a) - set(b))
    # This release's query names each förbund (the registry: its name and
    # län, under "/forbund/") and gives a share its interval (ci95, from
    # the share and n); the previous one did neither. Added fields are not
    # numbers the migration could change; an interval counts as added only
    # where its share was there before (and is compared as a number).
    added = [k for k in set(b) - set(a)
             if k.startswith("/forbund/") or (k.endswith(("/ci95[0]", "/ci95[1]")) and
                                                k.rsplit("/", 1)[0] + "/share" in a)]
    only_new = sorted(set(b) - set(a) - set(added))
    differ = sorted(k for k in set(a) & set(b) if a[k] != b[k])
    if only_old or only_new or differ:
        for k in differ[:20]:
            log("%s: %s was %r, is %r" % (what, k, a[k], b[k]))
        for k in only_old[:10]:
            log("%s: %s only before" % (what, k))
        for k in only_new[:10]:
            log("%s: %s only after" % (what, k))
        fail("%s: %d values differ, %d only before, %d only after (of %d)" %
             (what, len(differ), len(only_old), len(only_new), len(a)))
    log("%s: %d values equal" % (what, len(a)))


def events_in_log(cluster, bindir):
    return cluster.json(bindir, "status", "--format", "json")["events_in_log"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--bin", required=True, help="this release's binaries")
    ap.add_argument("--cache", required=True, help="where the previous release is built")
    ap.add_argument("--release", required=True)
    ap.add_argument("--commit", required=True)
    ap.add_argument("--events", type=int, default=3000)
    args = ap.parse_args()
    new = args.bin

    sha = previous_commit(args.source, args.release, args.commit)
    if not sha:
        log("SKIP: %s has no git history with %s (%s): the previous release cannot be built" %
            (args.source, args.release, args.commit))
        return SKIP
    old = build_previous(args.source, sha, args.cache)

    tmp = tempfile.mkdtemp(prefix="finsam-migrate-")
    c = Cluster(tmp)
    try:
        # The previous release writes a ledger and publishes it.
        c.setup(old)
        c.start(old, "old-collector")
        c.agent_demo(old, args.events, 1)
        time.sleep(2.5)  # a publication after the last event (--publish-interval 1)
        c.stop()
        before = events_in_log(c, old)
        check(before == args.events, "old ledger: %d events, want %d" % (before, args.events))
        exact_before = c.json(old, "export", "--exact", "--format", "json")
        published_before = c.json(old, "export", "--format", "json")
        log("old ledger: %d events written by %s" % (before, sha[:12]))

        # This release refuses it and names the migration.
        want = "finsamctl -d %s migrate" % c.cdir
        logfile = c.logfile("new-collector-refuses")
        with open(logfile, "w") as f:
            rc = subprocess.run(c.collector_argv(new), stdout=f, stderr=subprocess.STDOUT, timeout=60).returncode
        text = open(logfile).read()
        check(rc != 0 and want in text, "new collector on the old ledger: exit %d: %s" % (rc, text))
        log("new collector refuses the old ledger, exit %d: %s" %
            (rc, [l for l in text.splitlines() if want in l][0]))
        for cmd in (["status"], ["export", "--exact"], ["rebuild", "--verify"]):
            rc, out = c.ctl(new, *cmd, expect=None)
            check(rc != 0 and want in out, "new finsamctl %s on the old ledger: exit %d: %s" % (cmd[0], rc, out))

        # Migrated, then current.
        rc, out = c.ctl(new, "migrate")
        log(out.strip())
        check("events_replayed=%d" % before in out, "migrate: " + out)
        rc, out = c.ctl(new, "migrate")
        check("nothing to do" in out, "migrate again: " + out)
        rc, out = c.ctl(new, "rebuild", "--verify")
        check("differences=0" in out, "rebuild --verify: " + out)
        check(events_in_log(c, new) == before, "events changed by the migration")
        compare("exact numbers", exact_before, c.json(new, "export", "--exact", "--format", "json"))
        compare("published numbers", published_before, c.json(new, "export", "--format", "json"),
                audit_may_differ=True)

        # The new collector runs on it and takes the old agent's events once.
        more = max(args.events // 6, 100)
        c.start(new, "new-collector")
        status = c.agent_demo(old, more, 2)
        c.stop()
        check(events_in_log(c, new) == before + more,
              "after %d more events: %d in the log, want %d" % (more, events_in_log(c, new), before + more))
        check("queued=0" in status, "the old agent still queues events: " + status)
        rc, out = c.ctl(new, "rebuild", "--verify")
        check("differences=0" in out, "rebuild --verify after new events: " + out)
        log("PASS: %d events migrated, %d more accepted once; exact and published numbers unchanged" %
            (before, more))
        return 0
    finally:
        if c.proc:
            c.proc.kill()
            c.proc.wait()
        if os.environ.get("FINSAM_KEEP_TMP"):
            log("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
