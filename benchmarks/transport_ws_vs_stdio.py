#!/usr/bin/env python3
"""Warm `model/segment` through the browser transport (WebSocket) and through stdio, side by side.

Starts two release daemons, one on stdio (LSP framing) and one with `--listen http://127.0.0.1:0`,
loads the same model in both, and sends the same request to each in turn, interleaved, N times:
one CamVid image inline (base64), mask and overlay back inline, which is what the browser app
sends and gets. Prints each transport's median and the ratio WebSocket / stdio (target <= 1.2).
The WebSocket client here is a few lines of socket + base64 + hashlib (RFC 6455, masked frames).

    swift build -c release --product segslimd
    python3 benchmarks/transport_ws_vs_stdio.py [--n 30] [--model M.onnx] [--image IMG]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from rpc_roundtrip import RawConnection as StdioDaemon  # noqa: E402  (LSP-framed JSON-RPC on a child's stdin/stdout)
SHARED = REPO.parent / "shared"
TARGET = 1.2


class WebSocketDaemon:
    """segslimd --listen http://127.0.0.1:0, spoken to over its /rpc WebSocket."""

    def __init__(self, daemon, web_root):
        self.proc = subprocess.Popen([daemon, "--listen", "http://127.0.0.1:0", "--web-root", web_root],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        m = None
        while m is None:   # log lines may come before the one that says where it serves
            line = self.proc.stderr.readline().decode()
            if not line:
                raise RuntimeError("segslimd exited before printing its URL")
            m = re.match(r"segslimd: serving http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]+)$", line.strip())
        self.port, self.token = int(m.group(1)), m.group(2)
        # Keep draining stderr so a chatty daemon never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        self.sock = socket.create_connection(("127.0.0.1", self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /rpc?token=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                           "Origin: http://127.0.0.1:%d\r\n\r\n" % (self.token, self.port, key, self.port)).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("handshake: connection closed")
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        expected = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        if not head.startswith(b"HTTP/1.1 101") or b"Sec-WebSocket-Accept: " + expected not in head:
            raise RuntimeError("handshake refused: %r" % head)
        self.next_id = 1

    def send_text(self, payload: bytes):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 1 << 16:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        # XOR with the repeated mask, via big integers (fast enough in pure Python).
        reps = (n + 3) // 4
        full = (mask * reps)[:n]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(full, "big")).to_bytes(n, "big") if n else b""
        self.sock.sendall(header + mask + masked)

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(max(1 << 16, n - len(self.buf)))
            if not chunk:
                raise RuntimeError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_message(self):
        data = b""
        while True:
            b0, b1 = self.read_exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self.read_exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self.read_exact(8))[0]
            payload = self.read_exact(n)
            opcode = b0 & 0x0F
            if opcode == 0x8:
                raise RuntimeError("server closed: %r" % payload)
            if opcode in (0x9, 0xA):
                continue
            data += payload
            if b0 & 0x80:
                return data

    def call(self, method, params=None):
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        self.next_id += 1
        if params is not None:
            msg["params"] = params
        self.send_text(json.dumps(msg, separators=(",", ":")).encode())
        while True:
            answer = json.loads(self.read_message())
            if answer.get("id") == msg["id"]:
                if "error" in answer:
                    raise RuntimeError(answer["error"])
                return answer["result"]

    def close(self):
        self.sock.close()
        self.proc.terminate()
        self.proc.wait(30)


def first_val_image():
    val = SHARED / "data" / "camvid" / "val.txt"
    rel = val.read_text().split()[0]
    return str(SHARED / "data" / "camvid" / rel)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--daemon", default=str(REPO / ".build" / "release" / "segslimd"))
    ap.add_argument("--model", default=str(SHARED / "models" / "lraspp_mbv3_camvid.onnx"))
    ap.add_argument("--image", help="default: the first CamVid val image")
    ap.add_argument("--n", type=int, default=30, help="timed requests per transport (default 30)")
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()

    image = args.image or first_val_image()
    with open(image, "rb") as f:
        data = base64.b64encode(f.read()).decode()
    params_for = lambda mid: {"id": mid, "images": [{"data": data, "name": os.path.basename(image)}]}

    web_root = tempfile.mkdtemp(prefix="segslim-bench-web-")
    stdio, ws = StdioDaemon(args.daemon), WebSocketDaemon(args.daemon, web_root)
    try:
        for d in (stdio, ws):
            d.call("initialize", {"clientInfo": {"name": "transport_ws_vs_stdio.py"}})
            d.mid = d.call("model/load", {"path": os.path.abspath(args.model)})["id"]
            for _ in range(args.warmup):
                d.call("model/segment", params_for(d.mid))
        times = {"stdio": [], "websocket": []}
        answer_bytes = 0
        clock = time.perf_counter
        for i in range(args.n):
            order = [("stdio", stdio), ("websocket", ws)] if i % 2 == 0 else [("websocket", ws), ("stdio", stdio)]
            for name, d in order:
                t0 = clock()
                r = d.call("model/segment", params_for(d.mid))
                times[name].append((clock() - t0) * 1000.0)
                answer_bytes = len(json.dumps(r))
    finally:
        stdio.close()
        ws.close()

    print("daemon: %s" % args.daemon)
    print("model: %s\nimage: %s (%d bytes base64 in, ~%d bytes of JSON answer out: mask + overlay inline)"
          % (args.model, image, len(data), answer_bytes))
    print("machine: %d CPUs; %d interleaved requests per transport after %d warm-up" % (os.cpu_count() or 0, args.n, args.warmup))
    med = {k: statistics.median(v) for k, v in times.items()}
    for k in ("stdio", "websocket"):
        v = sorted(times[k])
        print("%-9s median %8.2f ms   min %8.2f   max %8.2f" % (k, med[k], v[0], v[-1]))
    ratio = med["websocket"] / med["stdio"]
    print("ratio websocket / stdio (medians): %.3f   [%s <= %.1f]" % (ratio, "PASS" if ratio <= TARGET else "FAIL", TARGET))
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
