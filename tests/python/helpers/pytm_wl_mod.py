"""Module run by `python -m pytm run -m pytm_wl_mod` (test-only)."""
import sys

if __name__ == "__main__":
    import pytm
    data = [bytes(1000) for _ in range(1000)]
    print("tracing=%s argv=%s" % (pytm.is_tracing(), sys.argv[1:]))
    sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
