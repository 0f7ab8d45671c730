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


def ordered_scene(pyrender, **kwargs):
    """A pyrender Scene that draws its meshes and binds its lights in the order they were
    added. pyrender keeps nodes in sets, which iterate in the order of object addresses
    (different in every process), and sorts meshes only by their pose's distance to the
    camera, the same for every mesh placed in world coordinates. Draw order decides
    which surface wins a depth-test tie, and light order the shader's summation order:
    with plain Scenes, two renders of one seed differed in a few pixels, by up to 22
    levels, and masks could differ at ties too."""
    return _ordered_scene_class(pyrender)(**kwargs)


_ORDERED: dict = {}


def _ordered_scene_class(pyrender):
    cls = _ORDERED.get(id(pyrender.Scene))
    if cls is None:
        base = pyrender.Scene

        class OrderedScene(base):
            def add_node(self, node, parent_node=None):
                order = self.__dict__.setdefault("_insertion_order", {})
                order.setdefault(node, len(order))
                return super().add_node(node, parent_node)

            def _in_order(self, nodes) -> list:
                order = self.__dict__.get("_insertion_order", {})
                return sorted(nodes, key=lambda n: order.get(n, len(order)))

            @property
            def mesh_nodes(self):
                return self._in_order(base.mesh_nodes.fget(self))

            @property
            def light_nodes(self):
                return self._in_order(base.light_nodes.fget(self))

        cls = _ORDERED[id(pyrender.Scene)] = OrderedScene
    return cls
