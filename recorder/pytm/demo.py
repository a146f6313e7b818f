"""A small program with a memory leak, to watch under pytmtop.

    pytmtop -- python -m pytm.demo          # live view
    python -m pytm run -m pytm.demo         # traced, attach with pytmtop -p PID

It runs a toy request loop. Three sites hold memory: a response cache
that never evicts (the leak), a bounded log ring, and per-request
scratch buffers freed at once. Watch the cache's line climb in Size Diff
(press b, wait, press d), group by traceback (t) to see who calls it.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import time

_cache: dict[str, bytes] = {}
_log: collections.deque[str] = collections.deque(maxlen=2000)


def render(user: int, page: int) -> bytes:
    body = {"user": user, "page": page, "items": list(range(page % 50))}
    return json.dumps(body).encode() * 4


def cached_render(user: int, page: int) -> bytes:
    key = f"{user}:{page}"
    hit = _cache.get(key)
    if hit is None:
        hit = _cache[key] = render(user, page)  # the leak: never evicted
    return hit


def scratch(n: int) -> int:
    buf = [bytearray(64) for _ in range(n)]  # freed when we return
    return sum(len(b) for b in buf)


def handle(rng: random.Random) -> None:
    user = rng.randrange(100_000)
    page = rng.randrange(20)
    cached_render(user, page)
    scratch(rng.randrange(10, 200))
    _log.append(f"GET /u/{user}/p/{page} 200")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pytm.demo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=0,
                    help="stop after this many seconds (default: run until Ctrl-C)")
    ap.add_argument("--rate", type=int, default=2000, help="requests per second")
    args = ap.parse_args(argv)
    rng = random.Random(1)
    start = time.monotonic()
    try:
        while not args.seconds or time.monotonic() - start < args.seconds:
            t0 = time.monotonic()
            for _ in range(max(1, args.rate // 10)):
                handle(rng)
            time.sleep(max(0.0, 0.1 - (time.monotonic() - t0)))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
