"""pytm child bootstrap: imported by ``site`` in Python children of
``python -m pytm run`` (this directory is on their PYTHONPATH; see
pytm/_tree.py). Starts tracing, leaves sys.path as it would have been,
then runs the user's own sitecustomize, if any."""


def _pytm_boot():
    import importlib
    import os
    import sys
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path
                   if not p or os.path.abspath(p) != here]
    if os.environ.get("PYTM_FOLLOW"):
        pkg_parent = os.path.dirname(os.path.dirname(here))
        added = pkg_parent not in sys.path
        if added:
            sys.path.append(pkg_parent)
        try:
            from pytm import _tree
            _tree.start_child()
        except Exception as exc:  # never break the child's startup
            sys.stderr.write("pytm: child bootstrap failed: %s\n" % exc)
        finally:
            if added and pkg_parent in sys.path:
                sys.path.remove(pkg_parent)
    mine = sys.modules.pop("sitecustomize", None)
    try:
        importlib.import_module("sitecustomize")  # the user's, if any
    except ImportError:
        if mine is not None:
            sys.modules["sitecustomize"] = mine
    except Exception:
        import traceback
        traceback.print_exc()


_pytm_boot()
del _pytm_boot
