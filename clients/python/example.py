#!/usr/bin/env python3
"""A tour of the SegSlim Python client: spawn a daemon, ask it how it is, list its
techniques, and start then cancel a slow request with progress.

    SEGSLIMD=.build/debug/segslimd python3 clients/python/example.py

(without $SEGSLIMD the client looks in .build/release, .build/debug, then $PATH).
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from segslim import Client, SegSlimError  # noqa: E402


def show(title, value):
    print("== %s" % title)
    print(json.dumps(value, indent=2, sort_keys=True))


def main() -> int:
    with Client.spawn(args=["--enable-debug-methods"]) as client:
        init = client.initialize(client_name="example.py")
        show("initialize", init)

        status = client.request("server/status", timeout=10)
        show("server/status", status)
        print("   idle RSS: %.1f MB, uptime %.1f ms" % (status["rssBytes"] / 1e6, status["uptimeMs"]))

        show("technique/list", client.request("technique/list", timeout=10))

        if "debug/sleep" in init["capabilities"]["methods"]:
            print("== debug/sleep 10 s, cancelled after 0.3 s")
            pending = client.request_async(
                "debug/sleep", {"durationMs": 10000, "steps": 50},
                progress=lambda v: print("   progress: %-6s %4s %s" % (
                    v["kind"], "%d%%" % v["percentage"] if "percentage" in v else "",
                    v.get("message", ""))))
            time.sleep(0.3)
            pending.cancel()
            try:
                pending.result(timeout=10)
            except SegSlimError as e:
                print("   answer: %s (code %d == REQUEST_CANCELLED: %s)"
                      % (e, e.code, e.code == SegSlimError.REQUEST_CANCELLED))

        try:
            client.request("model/load", {"path": "missing.onnx"})
        except SegSlimError as e:
            print("== model/load (not there yet): %s" % e)

    print("== daemon exited with status %d" % client.process.returncode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
