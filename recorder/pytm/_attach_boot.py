"""Runs inside the target of ``python -m pytm attach/detach``.

The bootstrap that ``pytm.attach`` injects (a pending call of
``PyRun_SimpleString``, in the target's main thread, holding the GIL)
imports this module from the attaching command's own pytm directory and
calls ``run(request)``. It starts or stops tracing and reports back
through a status file; it never prints, and never raises into the
target: any exception becomes a status.
"""

import json
import os


def _report(path, result):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f)
    os.replace(tmp, path)  # the command reads it whole or not at all


def _start(req):
    import pytm
    if pytm.is_tracing():
        return {"ok": False, "error": "ALREADY", "arena": pytm.arena_path()}
    kwargs = {}
    if req.get("interval"):
        kwargs["sample_interval"] = req["interval"]
    pytm.start(req.get("nframe") or 1, **kwargs)
    return {"ok": True, "arena": pytm.arena_path(), "pid": os.getpid(),
            "interval": pytm.get_sample_interval(), "pytm": pytm.__file__}


def _stop(req):
    import pytm
    if not pytm.is_tracing():
        return {"ok": False, "error": "NOTTRACED"}
    arena = pytm.arena_path()
    pytm.stop()
    return {"ok": not pytm.is_tracing(), "arena": arena, "pid": os.getpid()}


def run(req):
    """Carries out req (a dict: action "attach" or "detach", status and
    cancel paths, nframe, interval) unless the command gave up on it."""
    if (os.path.exists(req["cancel"])
            or not os.path.isdir(os.path.dirname(req["status"]))):
        return  # the command timed out and said so (and removed its
        # directory): do nothing late
    try:
        result = (_start if req["action"] == "attach" else _stop)(req)
    except Exception as exc:
        result = {"ok": False, "error": "EXC",
                  "message": "%s: %s" % (type(exc).__name__, exc)}
    _report(req["status"], result)
