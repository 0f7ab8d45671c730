"""pyrender, imported headless: EGL (Mesa's software renderer on CPU machines).

OSMesa is not used: pyrender's PyOpenGL pin breaks it. numpy 2 removed
``np.infty``, which pyrender 0.1.45 still reads at import.
"""
from __future__ import annotations

import os


def import_pyrender():
    """pyrender with ``PYOPENGL_PLATFORM=egl`` unless the caller chose a platform."""
    if "pyrender" not in __import__("sys").modules:
        os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
        if os.environ["PYOPENGL_PLATFORM"] == "osmesa":
            raise RuntimeError("PYOPENGL_PLATFORM=osmesa is broken with pyrender's PyOpenGL pin; unset it or use egl")
        import numpy as np

        if not hasattr(np, "infty"):
            np.infty = np.inf  # removed in numpy 2; pyrender 0.1.45 reads it
    import logging

    logging.getLogger("OpenGL.acceleratesupport").setLevel(logging.WARNING)  # an INFO line on every start
    try:
        import pyrender
    except ImportError as e:
        raise RuntimeError(f"the realistic world needs pyrender and PyOpenGL ({e}); run `make setup`") from None
    return pyrender
