"""Figure 5: snapshot speed, measured by bench/snapshot_speed.py (owned by
the API engineer). We only run it in its own fresh process and include its
output verbatim; if it prints a markdown table, that table is the figure."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(HERE, "snapshot_speed.py")


def run(python, env, quick=False, timeout=900):
    if not os.path.exists(SCRIPT):
        return {"error": "bench/snapshot_speed.py is not present"}
    argv = [python, SCRIPT]
    helptext = subprocess.run(argv + ["--help"], env=env, capture_output=True,
                              text=True, timeout=120).stdout
    if quick and "--quick" in helptext:
        argv.append("--quick")
    elif quick and "--blocks" in helptext and "--runs" in helptext:
        argv += ["--blocks", "200000", "--runs", "3"]
    print("snapshot speed: " + " ".join(argv[1:]), file=sys.stderr, flush=True)
    try:
        r = subprocess.run(argv, env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"argv": argv[1:], "error": "timed out after %d s" % timeout}
    out = {"argv": argv[1:], "returncode": r.returncode, "stdout": r.stdout}
    if r.returncode != 0:
        out["error"] = "exit %d: %s" % (r.returncode, r.stderr[-1500:])
    return out


def markdown(res):
    title = "**Figure 5. Snapshot speed** (bench/snapshot_speed.py"
    if "argv" in res:
        title += ", run as `%s`" % " ".join(
            os.path.relpath(a, os.path.dirname(HERE)) if os.path.isabs(a)
            else a for a in res["argv"])
    title += ")"
    if res.get("error"):
        return title + "\n\nnot measured: " + res["error"]
    return title + "\n\n" + res["stdout"].strip()
