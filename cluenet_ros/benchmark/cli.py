"""``cluenet bench``: latency, throughput and memory of ClueNet (and peers)."""
from __future__ import annotations

import json
from pathlib import Path


def _resolution(text: str) -> tuple[int, int]:
    w, h = (int(v) for v in text.lower().split("x"))
    return w, h


def register(sub) -> None:
    p = sub.add_parser("bench", help="measure latency, throughput and memory")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--resolution", type=_resolution, default=(2048, 1024), help="WIDTHxHEIGHT")
    p.add_argument("--precision", default="fp16", choices=("fp32", "fp16", "bf16"), help="CUDA autocast")
    p.add_argument("--config", help="model YAML (stage1/stage2); default the full-size paper model")
    p.add_argument("--people", type=int, default=10)
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--compile", action="store_true", help="torch.compile the trunk and stage 2")
    p.add_argument("--backend", default="auto", choices=("auto", "torch", "onnxruntime", "openvino"),
                   help="runtime of ClueNet's dense networks (auto: the fastest installed); the peer runs "
                        "eagerly in torch, the way its users run it")
    p.add_argument("--int8", action="store_true",
                   help="int8 dense networks (backend onnxruntime or openvino; quantised at set-up, calibrated "
                        "on synthetic images; not counted as run time)")
    p.add_argument("--weights", help="a ClueNet checkpoint (its own configuration; --config is then ignored) "
                                     "instead of random weights: int8 is then calibrated on a trained model, "
                                     "and its graphs come from / go to the backend cache")
    p.add_argument("--standalone", action="store_true",
                   help="time the torch-free standalone pipeline (the node's standalone:=true) in a process of its "
                        "own, so that its peak RSS is the node's: --weights (default the packaged demo weights), "
                        "exported once into the backend cache; --backend: the runtime of its dense stage-1 graph "
                        "(auto: openvino where installed; openvino also runs stage 2 there), the rest on onnxruntime")
    p.add_argument("--compare", choices=("keypointrcnn",),
                   help="also time a torchvision peer: eagerly, and on the CPU also exported to ONNX Runtime "
                        "where that is installed (ratios on the same runtime and across runtimes)")
    p.add_argument("--no-detection-flip-test", dest="detection_flip_test", action="store_false",
                   help="stage 1 on the frame alone (the node's detection_flip_test:=false); default: also on "
                        "its mirror image, as the node does")
    p.add_argument("--detection-extra-scale", type=float, default=None,
                   help="stage 1 also at this multiple of the input scale (the node's detection_extra_scale; "
                        "default the node's)")
    p.add_argument("--stage2-scaling", action="store_true", help="stage 2 with 1 and 20 crops")
    p.add_argument("--node", action="store_true", help="the node's own overhead and DDS transport")
    p.add_argument("--node-message-objects", action="store_true",
                   help="with --node: the node with raw_publishing:=false (outputs built as rclpy message objects)")
    p.add_argument("--json", help="write the figures here")
    p.set_defaults(func=run)


def run(args) -> int:
    from dataclasses import replace

    from cluenet_ros.benchmark.pipeline_bench import (BenchOptions, bench_keypointrcnn,
                                                      bench_keypointrcnn_onnxruntime, bench_pipeline,
                                                      bench_stage2_scaling, environment)
    from cluenet_ros.benchmark.standalone_bench import bench_standalone
    from cluenet_ros.inference.backends import installed

    if args.detection_extra_scale is None:
        from cluenet_ros.inference.interface import PipelineConfig

        args.detection_extra_scale = PipelineConfig().detection_extra_scale
    opt = BenchOptions(args.device, args.resolution, args.precision, args.config, args.people, args.frames,
                       args.warmup, args.compile, args.backend, args.int8, args.weights, args.detection_flip_test,
                       args.detection_extra_scale)
    if args.standalone:
        from cluenet_ros.inference.onnx_export import default_weights

        opt = replace(opt, weights=args.weights or str(default_weights()))
        res = {**bench_standalone(opt), "environment": environment()}
    else:
        res = {**bench_pipeline(opt), "environment": environment()}
    print(f"ClueNet on {res['device']} at {res['resolution']} ({res['precision']}, backend {res['backend']}"
          f"{' int8' if res['int8'] else ''}{', stage-1 flip test' if res.get('detection_flip_test') else ', no stage-1 flip test'}"
          f"{', extra scale %g' % res['detection_extra_scale'] if res.get('detection_extra_scale') else ''}"
          f"{', standalone: no torch in its process' if res.get('standalone') else ''}), "
          f"{res['people']} pedestrians, {res['frames']} frames")
    for stage, ms in res["stages_ms"].items():
        print(f"  {stage:<12} {ms:9.2f} ms")
    print(f"  end to end   mean {res['e2e_ms_mean']:.2f} ms, median {res['e2e_ms_median']:.2f} ms, "
          f"p95 {res['e2e_ms_p95']:.2f} ms, {res['fps']:.2f} frames/s")
    print(f"  peak memory  {res['peak_mem_mb']:.0f} MiB ({'CUDA max allocated' if 'cuda' in res['device'] else 'CPU RSS'})"
          + (f"; RSS now {res['rss_anon_mb']:.0f} MiB anonymous + {res['rss_file_mb']:.0f} MiB file-backed "
             f"(libraries)" if res.get("rss_anon_mb") else "")
          + (f"; `import torch, torchvision` alone: {res['rss_import_mb']:.0f} MiB" if res.get("rss_import_mb") else ""))
    if args.compare:
        peer = bench_keypointrcnn(opt)
        res.update(peer)
        res["ratio"] = res["e2e_ms_median"] / peer["peer_ms_median"]
        print(f"  {peer['peer']} (eager torch): median {peer['peer_ms_median']:.2f} ms; "
              f"ClueNet ({res['backend']}) / peer = {res['ratio']:.2f}")
        if res["backend"] == "torch":
            res["e2e_ms_median_torch"] = res["e2e_ms_median"]
        else:  # the same runtime on both sides: the architectures' cost alone
            res["e2e_ms_median_torch"] = bench_pipeline(replace(opt, backend="torch", int8=False))["e2e_ms_median"]
        res["ratio_same_runtime_torch"] = res["e2e_ms_median_torch"] / peer["peer_ms_median"]
        print(f"  same runtime (both eager torch): ClueNet {res['e2e_ms_median_torch']:.2f} ms / peer = "
              f"{res['ratio_same_runtime_torch']:.2f}")
        if res["device"] == "cpu" and installed("onnxruntime"):  # the peer exports whole: time it there too
            res.update(bench_keypointrcnn_onnxruntime(opt))
            if res["backend"] == "onnxruntime" and not res["int8"]:
                res["e2e_ms_median_onnxruntime"] = res["e2e_ms_median"]
            else:
                res["e2e_ms_median_onnxruntime"] = bench_pipeline(
                    replace(opt, backend="onnxruntime", int8=False))["e2e_ms_median"]
            peer_ort = res["peer_onnxruntime_ms_median"]
            res["ratio_same_runtime_onnxruntime"] = res["e2e_ms_median_onnxruntime"] / peer_ort
            res["ratio_against_peer_onnxruntime"] = res["e2e_ms_median"] / peer_ort
            print(f"  {peer['peer']} on onnxruntime (exported in {res['peer_onnxruntime_export_s']:.0f} s, "
                  f"max |diff| to eager {res['peer_onnxruntime_max_abs_diff']:.2g}): median {peer_ort:.2f} ms")
            print(f"  same runtime (both onnxruntime): ClueNet {res['e2e_ms_median_onnxruntime']:.2f} ms / peer = "
                  f"{res['ratio_same_runtime_onnxruntime']:.2f}; ClueNet ({res['backend']}) / peer on onnxruntime = "
                  f"{res['ratio_against_peer_onnxruntime']:.2f}")
    if args.stage2_scaling:
        sc = bench_stage2_scaling(opt)
        res["stage2_ms_by_crops"] = sc
        print(f"  stage 2: 1 crop {sc[1]:.2f} ms, 20 crops {sc[20]:.2f} ms (x{sc[20] / sc[1]:.2f})")
    if args.node:
        from cluenet_ros.benchmark.node_bench import bench_node

        res["node"] = bench_node(people=args.people, raw_publishing=not args.node_message_objects)
        for size, figs in res["node"].items():
            print(f"  node at {size}: own overhead median {figs['node_overhead_ms_median']:.2f} ms "
                  f"(p95 {figs['node_overhead_ms_p95']:.2f}) with every output subscribed, "
                  f"{figs['node_overhead_none_subscribed_ms_median']:.2f} ms "
                  f"(p95 {figs['node_overhead_none_subscribed_ms_p95']:.2f}) with none; "
                  f"image transport {figs['transport_ms_median']:.2f} ms")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=2) + "\n")
    return 0
