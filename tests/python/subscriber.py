#!/usr/bin/python3
"""A second finsam stream subscriber, in Python, proving the wire contract.

Uses only Debian's python3-zmq and python3-protobuf, with code generated from
proto/finsam.proto by `protoc --python_out` (the build does this into
build/python). It subscribes to events on the live socket (a DEALER that
sends a Subscribe and renews it), replays the event log from sequence 1
through the replay endpoint, then follows the live stream, refilling gaps by
replay, until it has seen sequences 1..EXPECT. It fails if any sequence
arrives twice or is missing, or if the collector ends the subscription.

  subscriber.py --stream tcp://127.0.0.1:7711 --replay tcp://127.0.0.1:7713 \
      --key subscriber.key_secret --server-key collector.key --expect 20000
"""
import argparse
import struct
import sys
import time

import zmq
import zmq.auth

import finsam_pb2 as pb


def curve_socket(ctx, kind, key, server_key, endpoint):
    public, secret = zmq.auth.load_certificate(key)
    server_public, _ = zmq.auth.load_certificate(server_key)
    s = ctx.socket(kind)
    s.curve_publickey, s.curve_secretkey, s.curve_serverkey = public, secret, server_public
    s.linger = 0
    s.rcvhwm = 100000  # live messages wait here while a replay runs
    s.connect(endpoint)
    return s


class Live:
    """The subscription: sent once, renewed every resubscribe_ms."""

    def __init__(self, sock, prefixes):
        self.sock, self.prefixes = sock, prefixes
        self.every = 2.0      # until the collector says otherwise
        self.due = 0.0

    def subscribe(self):
        self.sock.send(pb.Subscribe(prefixes=self.prefixes).SerializeToString())
        self.due = time.monotonic() + self.every

    def keepalive(self):
        if time.monotonic() >= self.due:
            self.subscribe()

    def control(self, topic, payload):
        """Handles subscribe.ok / subscribe.end; exits on the latter."""
        reply = pb.SubscribeReply.FromString(payload)
        if topic == b"subscribe.end":
            raise SystemExit(f"subscription ended: {reply.error_text}")
        self.every = reply.resubscribe_ms / 1000.0

    def start(self):
        """Subscribes and waits for subscribe.ok: from then on every
        matching message is sent to us, so the replay misses nothing."""
        self.subscribe()
        if not self.sock.poll(10000):
            raise SystemExit("no answer to Subscribe")
        topic, _, payload = self.sock.recv_multipart()
        if not topic.startswith(b"subscribe."):
            raise SystemExit(f"unexpected first message {topic!r}")
        self.control(topic, payload)


class Follower:
    def __init__(self, live, replay):
        self.live, self.replay = live, replay
        self.seen = {}        # seq -> topic
        self.last = 0         # highest contiguous sequence delivered
        self.replayed = 0
        self.gaps = 0

    def deliver(self, topic, seq, payload):
        ev = pb.Event.FromString(payload)   # must decode with the public schema
        assert len(ev.id) == 16 and ev.forbund, "malformed event"
        if seq in self.seen:
            raise SystemExit(f"sequence {seq} delivered twice")
        if seq != self.last + 1:
            raise SystemExit(f"sequence {seq} out of order after {self.last}")
        self.seen[seq] = topic
        self.last = seq

    def replay_range(self, start, until=None):
        nxt = start
        while True:
            self.live.keepalive()             # a long replay must not end the subscription
            req = pb.ReplayRequest(kind=pb.ReplayRequest.KIND_EVENTS, from_seq=nxt, limit=1000)
            self.replay.send(req.SerializeToString())
            while True:
                if not self.replay.poll(10000):
                    raise SystemExit("replay timed out")
                topic, seqb, payload = self.replay.recv_multipart()
                seq = struct.unpack(">Q", seqb)[0]
                if topic == b"replay.end":
                    end = pb.ReplayEnd.FromString(payload)
                    if end.HasField("error"):
                        raise SystemExit(f"replay refused: {end.error_text}")
                    progressed = end.next_seq != nxt
                    nxt = end.next_seq
                    if end.done or not progressed or (until and nxt >= until):
                        return
                    break
                if seq > self.last and (until is None or seq < until):
                    self.deliver(topic.decode(), seq, payload)
                    self.replayed += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stream", required=True)
    ap.add_argument("--replay", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--server-key", required=True)
    ap.add_argument("--expect", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--ready-file")
    args = ap.parse_args()

    ctx = zmq.Context()
    sock = curve_socket(ctx, zmq.DEALER, args.key, args.server_key, args.stream)
    live = Live(sock, ["ev."])
    replay = curve_socket(ctx, zmq.DEALER, args.key, args.server_key, args.replay)
    f = Follower(live, replay)
    live.start()
    if args.ready_file:
        open(args.ready_file, "w").close()
    f.replay_range(1)
    deadline = time.time() + args.timeout
    while f.last < args.expect:
        if time.time() > deadline:
            raise SystemExit(f"timed out at sequence {f.last} of {args.expect}")
        live.keepalive()
        if not sock.poll(500):
            if f.last < args.expect:
                f.replay_range(f.last + 1)   # quiet stream: catch up by replay
            continue
        topic, seqb, payload = sock.recv_multipart()
        if topic.startswith(b"subscribe."):
            live.control(topic, payload)
            continue
        seq = struct.unpack(">Q", seqb)[0]
        if seq <= f.last:
            continue                          # already delivered by replay
        if seq > f.last + 1:
            f.gaps += 1
            f.replay_range(f.last + 1, seq)
        f.deliver(topic.decode(), seq, payload)
    missing = [s for s in range(1, args.expect + 1) if s not in f.seen]
    if missing:
        raise SystemExit(f"missing sequences: {missing[:10]}")
    print(f"python subscriber: {len(f.seen)} sequences, each once "
          f"(replayed {f.replayed}, gaps refilled {f.gaps})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
