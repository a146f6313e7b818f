"""Peak RSS of this process alone, read by the child itself.

A child's ru_maxrss (wait4's rusage) counts the parent's resident set at
fork: `/bin/true` started from a 200 MB parent reports 218 MB. So the
runner's own ~16 MB was the floor of every figure that came from it, and
a tracer's cost was diluted by it. /proc/self/status VmHWM is the
high-water mark of this process's own mappings since exec.
"""


def vm_hwm_kib(status_path="/proc/self/status"):
    """Returns VmHWM (peak resident set, KiB) from `status_path`, or None
    when the file or the field is missing (not Linux)."""
    try:
        with open(status_path) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None
