"""A real collector and real agents in a temporary directory.

Everything binds 127.0.0.1 on ephemeral ports (`tcp://127.0.0.1:*`, HTTP
port 0) and is found through the files the collector writes after binding
(--endpoint-file, --stream-endpoint-file, --http-port-file). Keys and
allow-lists are set up the way the docs describe (README "Using it",
docs/streams.md "Sockets and keys"): `finsam-collector keygen`, one
`finsam-agent --forbund F keygen` per site whose agent.key is copied to
DATA/agents/, the collector's public key copied to each agent, and an
aggregates-only subscriber certificate in DATA/subscribers/.

Every wait is on something observable (a file, a process exit, a count in
`finsamctl status`), with a deadline.

Readers see the collector's *publication* (docs/security.md (e)): the
collector here publishes every second (`--publish-interval 1`), and
`wait_publication` waits until `finsamctl status` says the last
publication covers a log position (and, where asked, ran after a given
time). `--publish-max-age` is a parameter of `start`: the attack reads the
static tables in the steady state a quiet week produces (every changed cell
republished, so max-age 1 s), and runs differencing with the default
(7 days), where the refresh threshold is what a live reader faces.

Agents refuse insats codes their configuration does not declare: each
agent gets an INI file with an `[insatser]` section naming the codes the
generator uses (`code = any`), passed as `-c FILE` before the command.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request


class ClusterError(RuntimeError):
    pass


def _wait(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise ClusterError(f"timed out waiting for {what}")


class Cluster:
    def __init__(self, bindir, keep=False, min_units=None, log=print, insatser=()):
        self.bindir = os.path.abspath(bindir)
        self.keep = keep
        self.log = log
        self.dir = tempfile.mkdtemp(prefix="finsam-attack-")
        self.data = os.path.join(self.dir, "collector")
        self.min_units = min_units
        self.proc = None
        self.agents = {}
        self.tails = []
        self.endpoint = None
        self.streams = {}
        self.http_port = None
        self.sub_key = os.path.join(self.dir, "sub-agg.key")
        self.insatser = list(insatser)
        self.agent_cfg = {}
        self.max_age = None
        self.restarts = 0

    def bin(self, name):
        return os.path.join(self.bindir, name)

    def run(self, argv, timeout=60, check=True, capture=True):
        r = subprocess.run(argv, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=timeout)
        if check and r.returncode != 0:
            raise ClusterError(f"{' '.join(argv)} exited {r.returncode}: {r.stderr.decode(errors='replace')[-2000:]}")
        return r

    # ---- collector -----------------------------------------------------
    def init(self):
        """Keys first: agents and subscribers are on the allow-lists before
        the collector starts (an agent refused at its first handshake is not
        retried by libzmq, so it must never be refused here)."""
        self.run([self.bin("finsam-collector"), "-d", self.data, "keygen"])

    def start(self, max_age=None):
        """Starts the collector (publishing every second; `max_age` seconds
        for --publish-max-age, None = the default of 7 days)."""
        if not os.path.exists(self.sub_key):
            # An aggregates-only subscriber: the key a downstream system gets.
            self.run([self.bin("finsamctl"), "-d", self.data, "keygen", self.sub_key, "--access", "aggregates"])
            os.makedirs(os.path.join(self.data, "subscribers"), exist_ok=True)
            shutil.copy(self.sub_key, os.path.join(self.data, "subscribers", "attack-agg.key"))
        tag = f"-{self.restarts}" if self.restarts else ""
        self.epfile = os.path.join(self.dir, f"endpoint{tag}")
        self.sfile = os.path.join(self.dir, f"stream-endpoints{tag}")
        self.hfile = os.path.join(self.dir, f"http-port{tag}")
        self.max_age = max_age
        argv = [self.bin("finsam-collector"), "-d", self.data, "--publish-interval", "1",
                "--endpoint", "tcp://127.0.0.1:*", "--endpoint-file", self.epfile,
                "--stream-events", "tcp://127.0.0.1:*", "--stream-aggregates", "tcp://127.0.0.1:*",
                "--stream-replay", "tcp://127.0.0.1:*", "--stream-endpoint-file", self.sfile,
                "--http", "127.0.0.1:0", "--http-port-file", self.hfile, "--log-level", "info"]
        if self.min_units:
            argv += ["--min-units", str(self.min_units)]
        if max_age is not None:
            argv += ["--publish-max-age", str(int(max_age))]
        self.collector_log = open(os.path.join(self.dir, f"collector{tag}.log"), "wb")
        self.proc = subprocess.Popen(argv, stdout=self.collector_log, stderr=subprocess.STDOUT)

        def bound():
            if self.proc.poll() is not None:
                raise ClusterError(f"collector exited {self.proc.returncode}; log in {self.dir}/collector.log")
            if not (os.path.exists(self.epfile) and os.path.exists(self.hfile) and os.path.exists(self.sfile)):
                return False
            roles = {l.split()[0] for l in open(self.sfile).read().split("\n") if l.strip()}
            return {"stream-all", "replay"} <= roles and open(self.hfile).read().strip()
        _wait(bound, 20, "the collector to bind")
        self.endpoint = open(self.epfile).read().strip()
        for line in open(self.sfile).read().split("\n"):
            if line.strip():
                kind, ep = line.split()
                self.streams[kind] = ep           # stream-all, stream-agg, replay
        self.http_port = int(open(self.hfile).read().strip())
        self.log(f"collector: ingest {self.endpoint}, streams {self.streams}, http {self.http_port}, "
                 f"publish-max-age {max_age or 'default'}")

    def restart(self, max_age=None):
        """Stops the collector (and the tails) and starts it again on the
        same data directory, on new ports."""
        self.stop()
        self.restarts += 1
        self.start(max_age)

    def stop(self):
        for t in self.tails:
            t.stop()
        self.tails = []
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- agents --------------------------------------------------------
    def add_agent(self, forbund):
        adir = os.path.join(self.dir, f"agent-{forbund}")
        self.run([self.bin("finsam-agent"), "-d", adir, "--forbund", forbund, "keygen"])
        shutil.copy(os.path.join(self.data, "keys", "collector.key"), os.path.join(adir, "keys", "collector.key"))
        shutil.copy(os.path.join(adir, "keys", "agent.key"), os.path.join(self.data, "agents", f"{forbund}.key"))
        # The site declares its insats codes (agents/examples/agent.ini).
        cfg = os.path.join(self.dir, f"agent-{forbund}.ini")
        with open(cfg, "w") as fh:
            fh.write("[insatser]\n" + "".join(f"{code} = any\n" for code in self.insatser))
        self.agent_cfg[forbund] = cfg
        self.agents[forbund] = adir
        return adir

    def agent_argv(self, forbund):
        return [self.bin("finsam-agent"), "-c", self.agent_cfg[forbund], "-d", self.agents[forbund]]

    def agent_import(self, forbund, path):
        r = self.run(self.agent_argv(forbund) + ["--log-level", "warn", "import", path], timeout=120,
                     check=False)
        if r.returncode != 0:
            raise ClusterError(f"import {path} for {forbund} exited {r.returncode}: "
                               f"{r.stderr.decode(errors='replace')[-3000:]}")
        return r.stdout.decode()

    def agent_run_spawn(self, forbund):
        return subprocess.Popen(self.agent_argv(forbund) + ["--collector", self.endpoint, "--log-level", "warn",
                                                            "run", "--exit-when-empty"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def deliver(self, forbunds, timeout=120):
        """Runs the agents until their outboxes are empty (all acknowledged)."""
        procs = {f: self.agent_run_spawn(f) for f in forbunds}
        for f, p in procs.items():
            try:
                _, err = p.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                raise ClusterError(f"agent {f} did not empty its outbox in {timeout}s")
            if p.returncode != 0:
                raise ClusterError(f"agent {f} run exited {p.returncode}: {err.decode(errors='replace')[-2000:]}")

    # ---- operator views --------------------------------------------------
    def status(self):
        r = self.run([self.bin("finsamctl"), "-d", self.data, "status", "--format", "json"])
        return json.loads(r.stdout)

    def last_seq(self):
        st = self.status()
        c = st.get("collector") or {}
        return int(c.get("last_seq") or st.get("events_in_log") or 0)

    def publication(self):
        """(seq, at_ms) of the last publication (finsamctl status)."""
        p = self.status().get("publication") or {}
        return int(p.get("seq") or 0), int(p.get("at_ms") or 0)

    def wait_publication(self, seq, after_ms=0, timeout=60, settled=False):
        """Waits until the last publication covers log position `seq` and
        ran at or after `after_ms` (wall clock, ms) — or, with `settled`,
        left no changed cell waiting (an idle collector then publishes
        nothing more); returns (seq, at_ms)."""
        def done():
            p = self.status().get("publication") or {}
            s, at = int(p.get("seq", 0)), int(p.get("at_ms", 0))
            if s < seq:
                return None
            if settled:
                return (s, at) if int(p.get("cells_waiting", 1)) == 0 else None
            return (s, at) if at >= after_ms else None
        return _wait(done, timeout, f"a publication covering sequence {seq}")

    def ctl(self, args, timeout=60):
        r = self.run([self.bin("finsamctl"), "-d", self.data] + args, timeout=timeout)
        return r.stdout

    def http_get(self, path, timeout=300):
        """(status, body bytes); errors are answers, not exceptions."""
        url = f"http://127.0.0.1:{self.http_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def tail_cmd(self, prefix="agg.", extra=()):
        return [self.bin("finsamctl"), "-d", self.data, "tail", prefix, "--key", self.sub_key + "_secret",
                "--server-key", os.path.join(self.data, "keys", "collector.key"),
                "--stream", self.streams.get("stream-agg", self.streams["stream-all"]),
                "--replay", self.streams["replay"],
                "--format", "json"] + list(extra)


class Tail:
    """`finsamctl tail` in the background, output to a file (one JSON per line)."""

    def __init__(self, cluster, prefix="agg.", extra=(), name="tail"):
        self.path = os.path.join(cluster.dir, f"{name}.jsonl")
        self.out = open(self.path, "wb")
        self.err = open(self.path + ".log", "wb")
        self.proc = subprocess.Popen(cluster.tail_cmd(prefix, extra), stdout=self.out, stderr=self.err)
        cluster.tails.append(self)

    def lines(self):
        out = []
        with open(self.path, "rb") as fh:
            for line in fh:
                if line.endswith(b"\n"):
                    out.append(json.loads(line))
        return out

    def max_seq(self):
        best = 0
        with open(self.path, "rb") as fh:
            for line in fh:
                if line.endswith(b"\n"):
                    best = max(best, json.loads(line).get("seq", 0))
        return best

    def wait_seq(self, seq, timeout=30):
        _wait(lambda: self.max_seq() >= seq, timeout, f"the stream to reach sequence {seq}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        self.err.close()
