"""ONNX Runtime and OpenVINO sessions on numpy arrays, with the project's settings.

One place for how a compiled graph is run on the CPU (threads, no spinning, f32),
shared by the dense-network backends (:mod:`.backends`, torch tensors around these)
and the torch-free standalone pipeline (:mod:`.standalone`).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np


def cache_root() -> Path:
    """Where exported graphs are kept: ``CLUENET_CACHE_DIR``, else the XDG cache."""
    env = os.environ.get("CLUENET_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cluenet_ros" / "backends"


_SHARED_ARENA: list[bool] = []
_SHARED_ARENA_LOCK = threading.Lock()


def _shared_arena() -> None:
    """Register one CPU arena with ONNX Runtime's environment, once per process."""
    with _SHARED_ARENA_LOCK:
        if not _SHARED_ARENA:
            import onnxruntime as ort

            info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
            ort.create_and_register_allocator(info, ort.OrtArenaCfg(0, -1, -1, -1))
            _SHARED_ARENA.append(True)


class OnnxRuntimeSession:
    def __init__(self, path: Path, threads: int, memory_pattern: bool = True, shared_arena: bool = False):
        """``memory_pattern=False``: no pre-planned block per input shape (peak RSS of
        the mobile standalone pipeline at 1024x512: 431 instead of 583 MiB, at the
        same speed within this machine's noise; docs/bench/README.md).
        ``shared_arena``: intermediate tensors from one arena for every session that asks
        for it, instead of one arena each that keeps its own peak."""
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.enable_mem_pattern = memory_pattern
        if shared_arena:
            _shared_arena()
            so.add_session_config_entry("session.use_env_allocators", "1")
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # no busy-waiting between runs: ONNX Runtime's workers would otherwise spin
        # on the cores that torch's RPN/RoI heads and post-processing need next
        # (measured at 1024x512 on 2 cores: post-processing 137 ms instead of 7 ms)
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def __call__(self, *arrays: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, dict(zip(self.inputs, arrays)))


class OpenVinoSession:
    def __init__(self, path: Path, threads: int, cache: Path):
        import openvino as ov

        core = ov.Core()
        core.set_property({"CACHE_DIR": str(cache)})
        # f32 throughout: on CPUs with bf16/AMX units OpenVINO would otherwise pick
        # bf16 and the outputs would no longer match PyTorch's
        self.compiled = core.compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32",
                                                              "PERFORMANCE_HINT": "LATENCY",
                                                              "INFERENCE_NUM_THREADS": threads})
        self.request = self.compiled.create_infer_request()
        self.outputs = list(self.compiled.outputs)

    def __call__(self, *arrays: np.ndarray) -> list[np.ndarray]:
        res = self.request.infer(dict(enumerate(arrays)))
        # the request reuses its output buffers on the next call: copy out
        return [res[o].copy() for o in self.outputs]


def open_session(backend: str, path: Path, threads: int, folder: Path, memory_pattern: bool = True,
                 shared_arena: bool = False):
    """A session for ``path`` on ``backend`` (OpenVINO keeps its compiled blobs in
    ``folder``/openvino_cache; ``memory_pattern`` and ``shared_arena`` are ONNX Runtime's)."""
    if backend == "onnxruntime":
        return OnnxRuntimeSession(path, threads, memory_pattern, shared_arena)
    if backend == "openvino":
        blobs = folder / "openvino_cache"
        blobs.mkdir(exist_ok=True)
        return OpenVinoSession(path, threads, blobs)
    raise ValueError(f"no compiled runtime named {backend!r}")
