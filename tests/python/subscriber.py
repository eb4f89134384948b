#!/usr/bin/python3
"""A second finsam stream subscriber, in Python, proving the wire contract.

Uses only Debian's python3-zmq and python3-protobuf, with code generated from
proto/finsam.proto by `protoc --python_out` (the build does this into
build/python). It subscribes to the event stream, replays the event log from
sequence 1 through the replay endpoint, then follows the live stream,
refilling gaps by replay, until it has seen sequences 1..EXPECT. It fails if
any sequence arrives twice or is missing.

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
    s.connect(endpoint)
    return s


class Follower:
    def __init__(self, sub, replay):
        self.sub, self.replay = sub, replay
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
    sub = curve_socket(ctx, zmq.SUB, args.key, args.server_key, args.stream)
    sub.setsockopt(zmq.SUBSCRIBE, b"ev.")
    replay = curve_socket(ctx, zmq.DEALER, args.key, args.server_key, args.replay)
    f = Follower(sub, replay)
    time.sleep(0.2)  # let the SUB subscription reach the publisher
    if args.ready_file:
        open(args.ready_file, "w").close()
    f.replay_range(1)
    deadline = time.time() + args.timeout
    while f.last < args.expect:
        if time.time() > deadline:
            raise SystemExit(f"timed out at sequence {f.last} of {args.expect}")
        if not sub.poll(500):
            if f.last < args.expect:
                f.replay_range(f.last + 1)   # quiet stream: catch up by replay
            continue
        topic, seqb, payload = sub.recv_multipart()
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
