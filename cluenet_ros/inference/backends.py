"""Inference backends for the dense networks: eager PyTorch, ONNX Runtime, OpenVINO.

What a backend runs: the dense part of stage 1 (normalised, padded image batch ->
mask logits and F_att) and all of stage 2 (crops -> heatmaps). The region proposal
network and the RoI heads (data-dependent NMS and sampling) stay in PyTorch for
every backend; they consume F_att as a tensor.

Export happens once per model: both graphs go to ONNX in a cache folder named by
a hash of the weights (every parameter and buffer, the model configuration, the
torch version and the opset), and a later start with the same weights loads the
files from there. OpenVINO also keeps its compiled blobs in that folder. Frames
never trigger an export: the graphs take any batch and image size. With ``int8``
(:func:`quantize_compiled`, :mod:`.quantize`) the fp32 graphs are quantised once,
calibrated on synthetic images, into int8 QDQ graphs in the same folder.

``auto`` takes the first installed of :data:`PREFERENCE` on the CPU (the order
measured in docs/bench/backends.md) and eager PyTorch on CUDA (the ONNX runtimes
here are CPU builds).
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from cluenet_ros.inference.interface import BACKENDS  # noqa: F401  (one list for every pipeline)
from cluenet_ros.inference.cache import EXPORT_INFO, mark_used
from cluenet_ros.inference.runtimes import cache_root

LOG = logging.getLogger(__name__)

PREFERENCE = ("openvino", "onnxruntime", "torch")
_SCRATCH: "weakref.WeakSet[tempfile.TemporaryDirectory]" = weakref.WeakSet()
_MODULE = {"onnxruntime": "onnxruntime", "openvino": "openvino"}


def installed(backend: str) -> bool:
    if backend == "torch":
        return True
    return importlib.util.find_spec(_MODULE[backend]) is not None


def available() -> list[str]:
    return [b for b in PREFERENCE if installed(b)]


def resolve_backend(name: str, device: torch.device) -> str:
    """The concrete backend for ``name`` on ``device``; ValueError/RuntimeError
    with a one-line reason when it cannot be used."""
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    if name == "auto":
        return "torch" if device.type != "cpu" else available()[0]
    if name != "torch":
        if device.type != "cpu":
            raise ValueError(f"backend {name!r} runs on the CPU only; use device cpu or backend torch")
        if not installed(name):
            raise RuntimeError(f"backend {name!r} requested but the Python package '{_MODULE[name]}' is not "
                               f"installed (pip install {_MODULE[name]})")
    return name


def weights_hash(*modules: torch.nn.Module, extra: str = "") -> str:
    """SHA-256 of every parameter and buffer (names, shapes, dtypes, bytes), the
    modules' configurations and ``extra``: the same weights give the same key."""
    h = hashlib.sha256()
    h.update(f"torch {torch.__version__}; {extra}".encode())
    for i, module in enumerate(modules):
        h.update(f"module {i}: {getattr(module, 'config', None)!r}".encode())
        for name, t in module.state_dict().items():
            t = t.detach().cpu().contiguous()
            h.update(f"{name} {tuple(t.shape)} {t.dtype}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:24]


@dataclass
class CompiledModels:
    """Callables on torch tensors (CPU, float32) that replace the eager modules."""

    backend: str
    stage1_dense: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
    stage2: Callable[[torch.Tensor], torch.Tensor]
    folder: Path
    exported: bool  # False: the files came from the cache
    int8: bool = False
    quantized: bool = False  # int8 only: True when quantised now, False: from the cache
    # persist=False only: the temporary folder, removed once nothing (these models or
    # the runner callables) refers to it any more, or at interpreter exit
    scratch: tempfile.TemporaryDirectory | None = None


def compile_models(stage1, stage2, backend: str, cache: Path | None = None, persist: bool = True,
                   example_size: tuple[int, int] | None = None) -> CompiledModels:
    """Export (or load from the cache) and compile both dense graphs for ``backend``.

    ``persist=False`` exports into a temporary folder (random weights: a key that
    would never be seen again). The runners hold that folder: it is deleted when the
    last of them is dropped, so repeated test runs and plumbing checks do not leave
    ~100 MB per export behind in the temp directory."""
    from cluenet_ros.inference.onnx_export import OPSET, export_stage1_dense, export_stage2

    if backend not in ("onnxruntime", "openvino"):
        raise ValueError(f"no compiled form for backend {backend!r}")
    stage1, stage2 = stage1.eval(), stage2.eval()
    key = weights_hash(stage1, stage2, extra=f"opset {OPSET}; stage1 normalised input")
    scratch = None if persist else tempfile.TemporaryDirectory(prefix="cluenet_backend_")
    if scratch is not None:
        _SCRATCH.add(scratch)
    folder = (cache or cache_root()) / key if persist else Path(scratch.name)
    folder.mkdir(parents=True, exist_ok=True)
    s1_path, s2_path = folder / "stage1_dense.onnx", folder / "stage2.onnx"
    exported = not (s1_path.is_file() and s2_path.is_file())
    if exported:
        div = stage1.config.size_divisible
        size = example_size or (max(div, 256 // div * div), max(div, 128 // div * div))
        with torch.no_grad():
            # write to temporary names first: a start interrupted half-way must not
            # leave a file that a later start would take for a complete export
            tmp1, tmp2 = folder / "stage1_dense.onnx.part", folder / "stage2.onnx.part"
            export_stage1_dense(stage1, tmp1, size, normalize=False)
            export_stage2(stage2, tmp2)
            tmp2.replace(s2_path)
            tmp1.replace(s1_path)
        LOG.info("exported the dense networks for backend %s to %s", backend, folder)
    elif persist:
        mark_used(folder)  # the last use, for `cluenet cache prune --older-than`
    if persist and not (folder / EXPORT_INFO).is_file():
        # the key holds the torch version, so a folder read here was made with this one;
        # `cluenet cache` flags it once another torch is installed (no start reads it then)
        try:
            (folder / EXPORT_INFO).write_text(json.dumps({"torch": torch.__version__, "opset": OPSET}) + "\n")
        except OSError:  # a read-only cache
            pass
    stage1_dense, stage2_fn = _runners(backend, s1_path, s2_path, folder, scratch)
    return CompiledModels(backend, stage1_dense, stage2_fn, folder, exported, scratch=scratch)


def remove_temporary_exports() -> None:
    """Delete every persist=False export folder still alive. For processes that leave
    through ``os._exit`` (the node does), where no finalizer would run."""
    for scratch in list(_SCRATCH):
        scratch.cleanup()


def _runners(backend: str, s1_path: Path, s2_path: Path, folder: Path,
             scratch: tempfile.TemporaryDirectory | None = None):
    """(stage-1 dense, stage-2) callables on torch tensors running the two ONNX files
    on ``backend``. Each callable keeps ``scratch`` (a temporary export folder) alive."""
    from cluenet_ros.inference.runtimes import open_session

    threads = torch.get_num_threads()
    r1, r2 = (open_session(backend, p, threads, folder) for p in (s1_path, s2_path))

    def stage1_dense(x, _keep=scratch):
        logits, feats = r1(x.detach().float().contiguous().numpy())
        return torch.from_numpy(logits), torch.from_numpy(feats)

    def stage2_fn(x, _keep=scratch):
        return torch.from_numpy(r2(x.detach().float().contiguous().numpy())[0])

    return stage1_dense, stage2_fn


def quantize_compiled(compiled: CompiledModels, calibration_pipeline: Callable[[], object],
                      recipe=None) -> CompiledModels:
    """The int8 (QDQ) form of ``compiled``'s graphs on the same backend, quantised
    once per weights and calibration recipe (see :mod:`.quantize`) and cached beside
    the fp32 files. ``calibration_pipeline()`` returns a pipeline running
    ``compiled``'s fp32 runners; it is called only when quantising."""
    from cluenet_ros.inference.quantize import DEFAULT_RECIPE, quantize_models

    q = quantize_models(compiled.folder, calibration_pipeline, recipe or DEFAULT_RECIPE)
    s1, s2 = _runners(compiled.backend, q.stage1, q.stage2, compiled.folder, compiled.scratch)
    return CompiledModels(compiled.backend, s1, s2, compiled.folder, compiled.exported, int8=True,
                          quantized=q.quantized, scratch=compiled.scratch)
