"""bench/ harness: runs pytm, tracemalloc and memray side by side.

Modules: tracers (what each tracer is, in the parent and in the child),
proc (one child process with its rusage), overhead (interleaved timing
runs), accuracy (sampled estimates vs exact), viewer (pytmtop's cost),
machine (what we ran on), stats and report (medians and markdown)."""
