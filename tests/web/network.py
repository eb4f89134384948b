#!/usr/bin/python3
"""network.py: a collector loaded with a demo network of förbund, for the
dashboard's browser test and its screenshots.

Registers N förbund spread over Sweden's 21 län (`finsamctl forbund add`),
gives each its own agent key (DATA/agents/CODE.key: an agent may publish
only for its own förbund), fills every agent's outbox with demo events
(`finsam-agent demo --no-send`), starts the collector with
`--http 127.0.0.1:0 --http-port-file F --publish-interval 1`, lets the
agents deliver (`run --exit-when-empty`, a few at a time) and returns once
the publication covers the whole log: the numbers a reader sees are then
final. Everything lives under one directory; stop() ends the collector.

As a command (to look at the page by hand, or to regenerate the
screenshots of docs/dashboard.md):
    tests/web/network.py --bin BUILD/bin --dir /tmp/net --forbund 83 --serve
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

# Sweden's 21 län, in their official order (county codes AB … BD).
LAN = [
    "Stockholm", "Uppsala", "Södermanland", "Östergötland", "Jönköping", "Kronoberg", "Kalmar", "Gotland",
    "Blekinge", "Skåne", "Halland", "Västra Götaland", "Värmland", "Örebro", "Västmanland", "Dalarna",
    "Gävleborg", "Västernorrland", "Jämtland", "Västerbotten", "Norrbotten",
]
PLACES = [
    "Norra", "Södra", "Östra", "Västra", "Mellersta", "Centrala", "Inre", "Yttre", "Kust", "Skog", "Dal",
    "Berg", "Sjö", "Älv", "Slätt", "Mo", "Ås", "Strand", "Vik", "Näs",
]


def _die_with_parent():
    """In the child: SIGTERM when the test process dies (killed by a ctest
    timeout, say), so no collector is left running."""
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def forbund_list(n, tiny=0):
    """n förbund over the 21 län: (code, name, län, events). The last
    `tiny` get only a handful of events, so every cell of theirs is
    suppressed."""
    out = []
    for i in range(n):
        lan = LAN[i % len(LAN)]
        k = i // len(LAN)
        code = "F%02d" % (i + 1)
        name = "Samordningsförbundet %s %s" % (PLACES[k % len(PLACES)], lan)
        out.append((code, name, lan))
    return out


class Network:
    def __init__(self, bindir, root, n=83, events=300, tiny=0, jobs=3, seed=1, dashboard_dir=None):
        self.bin = bindir
        self.root = root
        self.data = os.path.join(root, "collector")
        self.n, self.events, self.tiny, self.jobs, self.seed = n, events, tiny, jobs, seed
        self.proc = None
        self.port = None
        # --http-dashboard-dir: serve the page from the source tree
        # (default: FINSAM_DASHBOARD_DIR, else the embedded files).
        self.dashboard_dir = dashboard_dir or os.environ.get("FINSAM_DASHBOARD_DIR")
        self.forbund = forbund_list(n)

    def _run(self, *argv, log=None):
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        if r.returncode != 0:
            raise RuntimeError("%s exited %d:\n%s" % (" ".join(argv), r.returncode, r.stdout.decode(errors="replace")))
        return r.stdout

    def _agent_dir(self, code):
        return os.path.join(self.root, "agents", code)

    def _prepare_agent(self, i, f):
        code, name, _ = f
        a = self._agent_dir(code)
        self._run(os.path.join(self.bin, "finsam-agent"), "-d", a, "--forbund", code, "--agent-id",
                  "agent " + name, "keygen")
        shutil.copy(os.path.join(self.data, "keys", "collector.key"), os.path.join(a, "keys", "collector.key"))
        shutil.copy(os.path.join(a, "keys", "agent.key"), os.path.join(self.data, "agents", code + ".key"))
        events = 8 if i >= self.n - self.tiny else self.events
        self._run(os.path.join(self.bin, "finsam-agent"), "-d", a, "--log-level", "warn", "demo", "--events",
                  str(events), "--seed", str(self.seed * 1000 + i), "--no-send")
        return events

    def _deliver(self, f):
        self._run(os.path.join(self.bin, "finsam-agent"), "-d", self._agent_dir(f[0]), "--collector",
                  self.endpoint, "--log-level", "warn", "run", "--exit-when-empty")

    def start(self):
        os.makedirs(os.path.join(self.data, "agents"), exist_ok=True)
        ctl = os.path.join(self.bin, "finsamctl")
        self._run(os.path.join(self.bin, "finsam-collector"), "-d", self.data, "keygen")
        for code, name, lan in self.forbund:
            self._run(ctl, "-d", self.data, "forbund", "add", code, "--name", name, "--lan", lan)
        with concurrent.futures.ThreadPoolExecutor(self.jobs) as ex:
            list(ex.map(lambda a: self._prepare_agent(*a), enumerate(self.forbund)))
        self.endpoint = "tcp://127.0.0.1:%d" % free_port()
        portfile = os.path.join(self.root, "http-port")
        self.log = os.path.join(self.root, "collector.log")
        argv = [os.path.join(self.bin, "finsam-collector"), "-d", self.data, "--endpoint", self.endpoint,
                "--stream-events", "tcp://127.0.0.1:%d" % free_port(),
                "--stream-aggregates", "tcp://127.0.0.1:%d" % free_port(),
                "--stream-replay", "tcp://127.0.0.1:%d" % free_port(),
                "--http", "127.0.0.1:0", "--http-port-file", portfile, "--publish-interval", "1",
                "--log-level", "info"]
        if self.dashboard_dir:
            argv += ["--http-dashboard-dir", self.dashboard_dir]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"),
                                     preexec_fn=_die_with_parent)
        deadline = time.time() + 30
        while not os.path.exists(portfile):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("collector did not start; log:\n" + open(self.log).read())
            time.sleep(0.05)
        self.port = int(open(portfile).read().strip())
        self.base = "http://127.0.0.1:%d" % self.port
        with concurrent.futures.ThreadPoolExecutor(self.jobs) as ex:
            list(ex.map(self._deliver, self.forbund))
        # The agents are done: the log holds everything. Wait until the
        # publication covers it (the collector publishes every second).
        deadline = time.time() + 60
        while True:
            st = self.get("/api/status")
            if st["publication"]["seq"] >= st["events_in_log"] > 0:
                break
            if time.time() > deadline:
                raise RuntimeError("no publication covers the log: %s" % st["publication"])
            time.sleep(0.2)
        return self

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=30) as r:
            return json.load(r)

    def get_bytes(self, path):
        with urllib.request.urlopen(self.base + path, timeout=30) as r:
            return r.read()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="directory of finsam-collector, finsam-agent, finsamctl")
    ap.add_argument("--dir", required=True, help="empty directory for the collector and agents")
    ap.add_argument("--forbund", type=int, default=83)
    ap.add_argument("--events", type=int, default=300, help="demo events per förbund")
    ap.add_argument("--tiny", type=int, default=0, help="the last N förbund get 8 events (all suppressed)")
    ap.add_argument("--serve", action="store_true", help="keep serving until interrupted")
    a = ap.parse_args()
    t0 = time.time()
    net = Network(a.bin, a.dir, a.forbund, a.events, a.tiny).start()
    print("network.py: %d förbund loaded in %.1f s; dashboard at %s/" % (a.forbund, time.time() - t0, net.base),
          flush=True)
    if a.serve:
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    net.stop()


if __name__ == "__main__":
    sys.exit(main())
