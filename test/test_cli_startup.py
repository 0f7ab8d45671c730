"""`cluenet --help` and every `cluenet <command> --help` answer without importing
torch (3 of the 4 s the help took was torch's import): a behaviour test on the
modules a help run loads, not a timing test (timings: docs/bench/README.md)."""
import json
import subprocess
import sys

HELPS = [[], ["bench"], ["eval"], ["eval", "full"], ["eval", "detection"], ["eval", "pose"],
         ["eval", "segmentation"], ["eval", "compare"], ["synth"], ["demo"], ["bag"], ["bag", "make"],
         ["bag", "eval"], ["export"], ["train"], ["train", "stage1"], ["train", "combine"], ["cache"], ["cache", "list"], ["cache", "prune"]]

PROBE = r"""
import contextlib, io, json, sys
from cluenet_ros.cli import main
out = {}
for argv in json.loads(sys.argv[1]):
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        try:
            main(argv + ["--help"])
        except SystemExit as exit:
            code = exit.code
    heavy = sorted(m for m in ("torch", "torchvision", "cv2", "rclpy", "onnxruntime", "openvino")
                   if m in sys.modules)
    out[" ".join(argv) or "(none)"] = {"code": code, "heavy": heavy, "usage": text.getvalue().startswith("usage:")}
print(json.dumps(out))
"""


def test_help_of_every_command_imports_no_heavy_library():
    res = subprocess.run([sys.executable, "-c", PROBE, json.dumps(HELPS)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert len(got) == len(HELPS)
    for command, r in got.items():
        assert r["code"] == 0 and r["usage"], (command, r)
        assert r["heavy"] == [], f"`cluenet {command} --help` imported {r['heavy']}"


def test_a_command_that_needs_torch_still_gets_it(tmp_path):
    """The lazy imports happen when a command runs (here: an export check failure path
    needs torch and onnxruntime and reports one line)."""
    res = subprocess.run([sys.executable, "-m", "cluenet_ros.cli", "export", "--onnx", str(tmp_path / "m.onnx"),
                          "--weights", str(tmp_path / "missing.pt")], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "missing.pt" in res.stderr and "Traceback" not in res.stderr
