"""A service-like loop of about two seconds: request-sized bursts of
parsing, formatting and dict/list churn with a slowly growing cache and
a few hundred distinct allocation sites, so a viewer attached to it has
something changing to refresh (used for the viewer-cost figure)."""

import json
import re

ROUNDS = 5000
WORD = re.compile(r"[a-z]+")


def setup():
    doc = {"user": {"id": 1, "name": "x" * 20, "tags": ["a", "b", "c"]},
           "items": [{"sku": "s%03d" % i, "qty": i, "price": i * 1.25}
                     for i in range(40)]}
    return json.dumps(doc)


def handle(payload, cache, n):
    doc = json.loads(payload)
    total = sum(it["qty"] * it["price"] for it in doc["items"])
    words = WORD.findall(payload)
    key = "%s:%d" % (doc["user"]["name"], n % 5000)
    cache[key] = (total, len(words), [w.upper() for w in words[:8]])
    return "%s -> %.2f (%d words)" % (key, total, len(words))


def run(payload):
    cache = {}
    out = []
    for n in range(ROUNDS):
        for _ in range(5):
            out.append(handle(payload, cache, n))
        if len(out) > 1000:
            del out[:500]
    return cache
