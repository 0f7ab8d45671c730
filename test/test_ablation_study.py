"""Issue 17's ablation study, prepared (not run): the shifted synthetic target domain
of `cluenet synth --domain target`, and tools/ablation_study.sh end to end at a tiny
size (data, three variants, evaluation JSON, resumption)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cluenet_ros.cli import main as cluenet
from cluenet_ros.data.split import SplitFolder

REPO = Path(__file__).resolve().parents[1]


def test_target_domain_is_shifted_and_annotated_alike(tmp_path):
    for domain in ("source", "target"):
        assert cluenet(["synth", "--out", str(tmp_path / domain), "--images", "3", "--seed", "4", "--size",
                        "256x128", "--split", "s", "--people", "2-3", "--domain", domain]) == 0
    src, tgt = SplitFolder.open(tmp_path / "source" / "s"), SplitFolder.open(tmp_path / "target" / "s")
    assert len(tgt.coco["annotations"]) > 0 and len(tgt.citypersons["annotations"]) > 0
    assert set(tgt.coco["annotations"][0]) == set(src.coco["annotations"][0])  # same labels, same format

    def colour(split):  # mean red / blue of the images: the target's light and camera are warm
        rgb = np.stack([split.read_rgb(i).reshape(-1, 3).mean(0) for i in split.images])
        return float((rgb[:, 0] / rgb[:, 2]).mean())

    assert colour(tgt) > colour(src) + 0.2
    # the source domain is unchanged by the option (same seed: byte-identical images)
    assert cluenet(["synth", "--out", str(tmp_path / "again"), "--images", "3", "--seed", "4", "--size",
                    "256x128", "--split", "s", "--people", "2-3"]) == 0
    for img in src.images:
        assert (tmp_path / "again" / "s" / img["file_name"]).read_bytes() == (src.root / img["file_name"]).read_bytes()


def test_synth_reuse_keeps_its_own_recipe_and_refuses_another(tmp_path, capsys):
    """--reuse (what the study script renders with): the same recipe keeps the data, another
    recipe, or a folder with no recipe, is refused rather than trained on."""
    args = ["synth", "--out", str(tmp_path / "d"), "--images", "2", "--seed", "4", "--size", "128x64", "--split",
            "s", "--people", "1-1", "--reuse"]
    assert cluenet(args) == 0
    recipe = json.loads((tmp_path / "d" / "synth.json").read_text())
    assert recipe["images"] == 2 and recipe["seed"] == 4 and recipe["options"]["width"] == 128
    images = sorted((tmp_path / "d" / "s").iterdir())
    stamps = [f.stat().st_mtime_ns for f in images]
    capsys.readouterr()
    assert cluenet(args) == 0 and "kept" in capsys.readouterr().out
    assert [f.stat().st_mtime_ns for f in sorted((tmp_path / "d" / "s").iterdir())] == stamps
    assert cluenet(args[:6] + ["5"] + args[7:]) == 2   # another seed
    err = capsys.readouterr().err
    assert "another recipe" in err and "seed: 4 there, 5 asked" in err
    assert [f.stat().st_mtime_ns for f in sorted((tmp_path / "d" / "s").iterdir())] == stamps
    (tmp_path / "d" / "synth.json").unlink()            # data from before recipes, or a render cut short
    assert cluenet(args) == 2 and "has no synth.json" in capsys.readouterr().err
    # without --reuse it renders again, and records the recipe
    assert cluenet(args[:-1]) == 0 and json.loads((tmp_path / "d" / "synth.json").read_text()) == recipe


def test_recipes_record_later_world_options_only_when_set():
    """A world option added after recipes were first recorded (the clutter set) is left out
    of the recipe at the value every earlier folder was rendered with, so those folders stay
    reusable, and is written, so that --reuse tells them apart, when set otherwise."""
    from cluenet_ros.synth.cli import RECORDED_WHEN_SET, recipe
    from cluenet_ros.synth.dataset import SynthOptions
    from cluenet_ros.synth.realistic.world import WorldOptions

    def world(**kw):
        return recipe(4, 1, SynthOptions(world="realistic", world_options=WorldOptions(clutter=10, **kw)),
                      "procedural")["options"]["world_options"]

    assert RECORDED_WHEN_SET == {"clutter_kinds": "street"}
    street, wide = world(), world(clutter_kinds="wide")
    assert "clutter_kinds" not in street and street["clutter"] == 10
    assert wide.pop("clutter_kinds") == "wide" and wide == street


def test_studies_on_one_data_folder_render_it_alike():
    """Studies that share a data folder must ask for the same data, or the second one's
    --reuse refuses it; every study.yaml key is one the script knows."""
    import yaml

    by_folder = {}
    for f in sorted((REPO / "training" / "configs" / "ablations").glob("*/study.yaml")):
        study = yaml.safe_load(f.read_text())
        data = {k: study[k] for k in ("images", "target_images", "size", "people", "source", "target")}
        by_folder.setdefault(study["data"], []).append((f.parent.name, data))
        for variant in study.get("variants", []):
            assert (f.parent / f"{variant}.yaml").is_file(), (f, variant)
    assert len(by_folder["data/ablation_realistic"]) == 3 and len(by_folder["data/ablation"]) == 2
    for studies in by_folder.values():
        assert all(d == studies[0][1] for _, d in studies), studies


def test_study_yaml_with_an_unknown_key_is_refused(tmp_path):
    (tmp_path / "study.yaml").write_text("data: x\nsource_args: --seed 1\n")
    res = subprocess.run([str(REPO / "tools" / "ablation_study.sh")], env=dict(os.environ, CONFIGS=str(tmp_path)),
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and "unknown keys ['source_args']" in res.stderr
    assert not (tmp_path / "x").exists()


def test_ablation_study_script_at_a_tiny_size(tmp_path):
    env = dict(os.environ, DATA=str(tmp_path / "data"), RUNS=str(tmp_path / "runs"),
               OUT_JSON=str(tmp_path / "ablation.json"), SEEDS="3", ITERATIONS="2", IMAGES="20", SIZE="256x128",
               PEOPLE="2-4", VAL_PEOPLE="6", OMP_NUM_THREADS="1",
               EXTRA="model: {encoder: resnet18, input_size: [64, 64], deconv_channels: 16, domain_channels: 8}",
               RUN_EXTRA="batch_size: 2, workers: 0, val_every: 1000, checkpoint_every: 1000, val_images: 4")
    res = subprocess.run([str(REPO / "tools" / "ablation_study.sh")], env=env, capture_output=True, text=True,
                         timeout=900)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    report = json.loads((tmp_path / "ablation.json").read_text())
    assert set(report["variants"]) == {"full", "no_mask_and_predict", "no_domain_adaptation"}
    for v in report["variants"].values():
        assert list(v["ap_vs_occlusion"]) == ["0.2", "0.3", "0.4", "0.5", "0.6", "0.7"]
        assert all(0.0 <= x <= 1.0 for x in v["ap_vs_occlusion"].values())
        assert 0.0 <= v["target_domain_ap"] <= 1.0 and v["iterations"] == 2 and v["seeds"] == [3]
        # the mean is the mean of the per-seed values, and each run's cost is recorded
        assert [np.mean(x) for x in v["ap_vs_occlusion_per_seed"].values()] == list(v["ap_vs_occlusion"].values())
        assert v["target_domain_ap_per_seed"] == [v["target_domain_ap"]]
        assert len(v["train_seconds_per_seed"]) == 1 and 0.0 < v["train_seconds_per_seed"][0] < 900
    # the variants trained what they name
    cfg = {v: torch.load(tmp_path / "runs" / v / "seed3" / "last.pt", weights_only=True)["train_config"]
           for v in report["variants"]}
    assert cfg["full"]["mask_and_predict"]["enabled"] and cfg["full"]["domain_adaptation"]["enabled"]
    assert not cfg["no_mask_and_predict"]["mask_and_predict"]["enabled"]
    assert not cfg["no_domain_adaptation"]["domain_adaptation"]["enabled"]
    assert all(c["run"]["seed"] == 3 and c["target"]["root"].endswith("target/train") for c in cfg.values())
    # resumable: a second run trains nothing more and gives the same figures
    stamps = {v: (tmp_path / "runs" / v / "seed3" / "last.pt").stat().st_mtime_ns for v in report["variants"]}
    res = subprocess.run([str(REPO / "tools" / "ablation_study.sh")], env=env, capture_output=True, text=True,
                         timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads((tmp_path / "ablation.json").read_text()) == report
    assert stamps == {v: (tmp_path / "runs" / v / "seed3" / "last.pt").stat().st_mtime_ns for v in report["variants"]}
    # data rendered with another recipe is refused, not trained on
    res = subprocess.run([str(REPO / "tools" / "ablation_study.sh")], env=dict(env, SOURCE_ARGS="--seed 2"),
                         capture_output=True, text=True, timeout=900)
    assert res.returncode != 0 and "seed: 1 there, 2 asked" in res.stderr
    assert stamps == {v: (tmp_path / "runs" / v / "seed3" / "last.pt").stat().st_mtime_ns for v in report["variants"]}
    # a study longer than one machine's life goes on from saved run states (CHECKPOINTS): a
    # run with no last.pt of its own starts from them (the same wall times: nothing retrained)
    kept = tmp_path / "kept"
    for v in report["variants"]:
        (kept / v / "seed3").mkdir(parents=True)
        for name in ("last.pt", "losses.jsonl"):
            shutil.copy(tmp_path / "runs" / v / "seed3" / name, kept / v / "seed3" / name)
    shutil.rmtree(tmp_path / "runs")
    res = subprocess.run([str(REPO / "tools" / "ablation_study.sh")], env=dict(env, CHECKPOINTS=str(kept)),
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("goes on from the saved state") == 3
    assert json.loads((tmp_path / "ablation.json").read_text()) == report

    # the figure of the study: drawn from the JSON and the runs' loss logs
    res = subprocess.run([sys.executable, str(REPO / "tools" / "ablation_plot.py"),
                          "--json", str(tmp_path / "ablation.json"), "--runs", str(tmp_path / "runs"),
                          "--out", str(tmp_path / "ablation.png"), "--window", "1"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    import cv2

    png = cv2.imread(str(tmp_path / "ablation.png"))
    assert png is not None and png.shape[1] > png.shape[0] > 300 and png.std() > 10


def test_long_budget_variants_differ_only_in_the_mechanism_they_name():
    """issue17_long: the study at the demo's budget with the near-zero heatmap start
    for every variant, so that the comparison is of the mechanisms alone."""
    from dataclasses import asdict

    from cluenet_training.config import load_stage2

    folder = REPO / "training" / "configs" / "ablations" / "issue17_long"
    cfg = {v: asdict(load_stage2(folder / f"{v}.yaml")) for v in ("full", "no_mask_and_predict", "no_domain_adaptation")}
    short = asdict(load_stage2(REPO / "training" / "configs" / "ablations" / "issue17" / "full.yaml"))
    full = cfg["full"]
    assert full["model"]["output_init_std"] == 0.001 and short["model"]["output_init_std"] == 0.1
    assert (full["run"]["iterations"], full["optim"]["lr_step"]) == (4 * short["run"]["iterations"], 3600)
    assert full["mask_and_predict"]["enabled"] and full["domain_adaptation"]["enabled"]

    def without(c, *keys):
        c = {k: dict(v) if isinstance(v, dict) else v for k, v in c.items()}
        for k in keys:
            c.pop(k, None)
        c["run"].pop("out_dir")
        return c

    assert without(cfg["no_mask_and_predict"], "mask_and_predict") == without(full, "mask_and_predict")
    assert not cfg["no_mask_and_predict"]["mask_and_predict"]["enabled"]
    assert without(cfg["no_domain_adaptation"], "domain_adaptation") == without(full, "domain_adaptation")
    assert not cfg["no_domain_adaptation"]["domain_adaptation"]["enabled"]


def test_realistic_variants_differ_only_in_the_mechanism_they_name():
    """issue17_realistic: the study on the realistic world, eq. 3 at the paper's balance
    (weight 1 against eq. 4 summed), the paper's heatmap start, 1200 iterations."""
    from dataclasses import asdict

    from cluenet_training.config import load_stage2

    folder = REPO / "training" / "configs" / "ablations" / "issue17_realistic"
    cfg = {v: asdict(load_stage2(folder / f"{v}.yaml")) for v in ("full", "no_mask_and_predict", "no_domain_adaptation")}
    full = cfg["full"]
    assert full["model"]["output_init_std"] == 0.1
    assert full["domain_adaptation"] == {"enabled": True, "weight": 1.0, "balance": "paper", "classifier_lr": 0.001,
                                         "ramp_iterations": 0}
    assert full["mask_and_predict"]["enabled"] and full["mask_and_predict"]["schedule"] == "linear"
    assert (full["run"]["iterations"], full["optim"]["lr_step"]) == (1200, 900)
    assert full["source"]["root"] != full["target"]["root"] and "realistic" in full["target"]["root"]

    def without(c, *keys):
        c = {k: dict(v) if isinstance(v, dict) else v for k, v in c.items()}
        for k in keys:
            c.pop(k, None)
        c["run"].pop("out_dir")
        return c

    assert without(cfg["no_mask_and_predict"], "mask_and_predict") == without(full, "mask_and_predict")
    assert not cfg["no_mask_and_predict"]["mask_and_predict"]["enabled"]
    assert without(cfg["no_domain_adaptation"], "domain_adaptation") == without(full, "domain_adaptation")
    assert not cfg["no_domain_adaptation"]["domain_adaptation"]["enabled"]
    # the same-data pair for the balance fix: only eq. 3's weighting differs
    old = asdict(load_stage2(folder / "full_balance_mean.yaml"))
    assert without(old, "domain_adaptation") == without(full, "domain_adaptation")
    assert old["domain_adaptation"] == dict(full["domain_adaptation"], weight=0.1, balance="mean")


def test_capsule_studies_keep_the_adversarial_balance_they_ran_with():
    """The capsule-world studies and the demo ran eq. 3 at weight 0.1 against the per-pixel
    mean pose loss; their configs pin balance: mean so that they reproduce."""
    from cluenet_training.config import load_stage2

    for name in ("issue17/full.yaml", "issue17_long/full.yaml", "../demo_stage2.yaml"):
        da = load_stage2(REPO / "training" / "configs" / "ablations" / name).domain_adaptation
        assert (da.weight, da.balance) == (0.1, "mean"), name
    for name in ("stage2_paper.yaml", "stage2_small_cpu.yaml"):
        da = load_stage2(REPO / "training" / "configs" / name).domain_adaptation
        assert (da.weight, da.balance) == (1.0, "paper"), name


def _bootstrap_tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location("ablation_bootstrap", REPO / "tools" / "ablation_bootstrap.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bootstrap_ranks_runs_against_the_noise_of_their_people():
    """tools/ablation_bootstrap.py: a run that is exact on every person is ahead of a
    noisy one in every draw; a run against itself differs by exactly 0; AP on the
    identity draw is the project's keypoint AP of the set."""
    from cluenet_ros import keypoints as kp
    from cluenet_ros.evaluation.pose import keypoint_ap

    tool = _bootstrap_tool()
    rng = np.random.default_rng(0)
    n = 30
    anns, exact, noisy = [], [], []
    for i in range(n):
        xy = rng.uniform(20, 80, (kp.NUM_KEYPOINTS, 2))
        k = np.concatenate([xy, np.full((kp.NUM_KEYPOINTS, 1), 2.0)], 1)
        anns.append({"id": i + 1, "image_id": i + 1, "category_id": 1, "iscrowd": 0, "area": 3600.0,
                     "bbox": [20, 20, 60, 60], "keypoints": k.ravel().tolist(), "num_keypoints": kp.NUM_KEYPOINTS})
        exact.append({"image_id": i + 1, "category_id": 1, "score": 1.0,
                      "keypoints": k.ravel().tolist()})
        off = k.copy()
        off[:, :2] += rng.normal(0, 3 + 6 * (i % 3), (kp.NUM_KEYPOINTS, 2))
        noisy.append({"image_id": i + 1, "category_id": 1, "score": 1.0, "keypoints": off.ravel().tolist()})
    gt = {"images": [{"id": i + 1, "width": 100, "height": 100} for i in range(n)],
          "annotations": anns, "categories": [kp.coco_category()]}
    out = tool.bootstrap(gt, {"exact": exact, "noisy": noisy, "noisy_again": noisy}, resamples=40, seed=1)
    assert out["people"] == n
    assert out["runs"]["exact"]["ap"] == 1.0
    assert out["runs"]["noisy"]["ap"] == keypoint_ap(gt, noisy)["AP"] < 0.9
    lo, hi = out["runs"]["noisy"]["ci95"]
    assert lo < out["runs"]["noisy"]["ap"] < hi  # the people's spread shows
    ahead = out["pairs"]["exact - noisy"]
    assert ahead["share_first_ahead"] == 1.0 and ahead["ci95"][0] > 0
    same = out["pairs"]["noisy - noisy_again"]
    assert same["difference"] == 0.0 and same["ci95"] == [0.0, 0.0] and same["share_first_ahead"] == 0.0


def test_unoccluded_round_changes_only_which_people_stage2_sees():
    """issue17_unoccluded: the session-9 realistic study, variant for variant, with
    the source and validation people chosen by visibility 'unoccluded' (the target
    domain is unlabelled, so it has no such choice)."""
    from dataclasses import asdict

    from cluenet_training.config import load_stage2

    root = REPO / "training" / "configs" / "ablations"
    for v in ("full", "no_mask_and_predict", "no_domain_adaptation", "full_balance_mean"):
        new = asdict(load_stage2(root / "issue17_unoccluded" / f"{v}.yaml"))
        old = asdict(load_stage2(root / "issue17_realistic" / f"{v}.yaml"))
        assert new["source"] == dict(old["source"], visibility="unoccluded"), v
        assert new["val"] == dict(old["val"], visibility="unoccluded"), v
        assert old["source"]["visibility"] == old["val"]["visibility"] == "coco", v
        assert new["target"] == old["target"], v
        assert new["run"]["out_dir"].endswith(f"ablation17_unoccluded/{v}"), v
        for section in set(new) - {"source", "val", "run"}:
            assert new[section] == old[section], (v, section)
        assert dict(new["run"], out_dir="") == dict(old["run"], out_dir=""), v


@pytest.mark.parametrize("variant", ["full", "no_domain_adaptation"])
def test_curriculum_pair_changes_only_the_schedule(variant):
    """issue17_unoccluded/{variant}_uniform is {variant} with Mask and Predict's uniform
    schedule, and nothing else (the curriculum pair of session 12, and the
    domain-adaptation pair on that schedule of session 13)."""
    from dataclasses import asdict

    from cluenet_training.config import load_stage2

    root = REPO / "training" / "configs" / "ablations" / "issue17_unoccluded"
    full, uniform = (asdict(load_stage2(root / f"{v}.yaml")) for v in (variant, f"{variant}_uniform"))
    assert full["mask_and_predict"]["schedule"] == "linear"
    assert uniform["mask_and_predict"] == dict(full["mask_and_predict"], schedule="uniform")
    assert uniform["run"]["out_dir"].endswith(f"ablation17_unoccluded/{variant}_uniform")
    for section in set(full) - {"mask_and_predict", "run"}:
        assert uniform[section] == full[section], section
    assert dict(uniform["run"], out_dir="") == dict(full["run"], out_dir="")


@pytest.mark.parametrize("variant", ["full_uniform", "no_mask_and_predict", "no_domain_adaptation_uniform"])
def test_long_study_changes_only_the_budget(variant):
    """issue17_unoccluded_long/{variant} is the session-13 variant at four times the
    iterations, with the learning-rate step at the same three-quarter point; nothing
    about the model, data or mechanisms differs, so the two studies compare."""
    from dataclasses import asdict

    from cluenet_training.config import load_stage2

    root = REPO / "training" / "configs" / "ablations"
    short = asdict(load_stage2(root / "issue17_unoccluded" / f"{variant}.yaml"))
    long = asdict(load_stage2(root / "issue17_unoccluded_long" / f"{variant}.yaml"))
    assert long["run"]["iterations"] == 4 * short["run"]["iterations"] == 4800
    assert long["optim"] == dict(short["optim"], lr_step=4 * short["optim"]["lr_step"])
    assert long["run"]["out_dir"].endswith(f"ablation17_unoccluded_long/{variant}")
    same = dict(long["run"], out_dir="", iterations=0, val_every=0)
    assert same == dict(short["run"], out_dir="", iterations=0, val_every=0)
    for section in set(long) - {"optim", "run"}:
        assert long[section] == short[section], section


def test_the_paper_config_keeps_the_papers_curriculum_and_the_small_one_the_winner():
    from cluenet_training.config import load_stage2

    configs = REPO / "training" / "configs"
    assert load_stage2(configs / "stage2_paper.yaml").mask_and_predict.schedule == "linear"
    assert load_stage2(configs / "stage2_small_cpu.yaml").mask_and_predict.schedule == "uniform"


def test_a_study_is_scored_on_the_people_its_runs_validated_on(tmp_path):
    """tools/ablation_eval.py and ablation_bootstrap.py take the validation people from
    the runs (val.visibility; runs older than the key validated on 'coco') and refuse
    runs that disagree."""
    import torch

    from cluenet_training.datasets import DatasetError
    from cluenet_training.stage2 import runs_visibility

    def run(name, val):
        path = tmp_path / f"{name}.pt"
        torch.save({"train_config": {"val": val}}, path)
        return path

    old = run("old", {"format": "split", "root": "x"})
    a = run("a", {"format": "split", "root": "x", "visibility": "unoccluded"})
    b = run("b", {"format": "split", "root": "x", "visibility": "unoccluded"})
    assert runs_visibility([old]) == "coco"
    assert runs_visibility([a, b]) == "unoccluded"
    with pytest.raises(DatasetError, match="different people"):
        runs_visibility([a, old])


def _tool(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_stage2_score_compares_checkpoints_with_the_trainers_validation(tmp_path, capsys):
    """tools/stage2_score.py: a run's checkpoint and a combined file score as the
    trainer's validate() does, each at its own crop padding; bad input is one line."""
    from cluenet_ros.models import ClueNetStage2
    from cluenet_ros.models.checkpoint import save_checkpoint
    from cluenet_training.config import Stage2ValidationConfig
    from cluenet_training.datasets import CocoPersons
    from cluenet_training.stage2 import validate
    from conftest import tiny_stage2_config

    assert cluenet(["synth", "--out", str(tmp_path / "data"), "--images", "4", "--seed", "5", "--size", "256x128",
                    "--split", "val", "--people", "3-4"]) == 0
    val_dir = tmp_path / "data" / "val"
    torch.manual_seed(0)
    models = [ClueNetStage2(tiny_stage2_config()) for _ in range(2)]
    run_ck, combined, bare = tmp_path / "last.pt", tmp_path / "combined.pt", tmp_path / "bare.pt"
    save_checkpoint(run_ck, {"stage2": models[0]}, train_config={"crop_padding": 1.1})
    save_checkpoint(combined, {"stage2": models[1]}, provenance={"stage2": {"train_config": {"crop_padding": 1.3}}})
    save_checkpoint(bare, {"stage2": models[1]})
    out = tmp_path / "score.json"
    tool = _tool("stage2_score")
    calls = []  # random tiny models score about 0 AP: check what each was scored with, too

    def spy(model, data, limit, padding, device, validation):
        calls.append((model.state_dict()["decoder.body.9.weight"].clone(), limit, padding, validation.hidden_fractions))
        return validate(model, data, limit, padding, device, validation)

    tool.validate = spy
    assert tool.main(["--checkpoint", f"run={run_ck}", "--checkpoint", f"combined={combined}", "--val", str(val_dir),
                      "--levels", "0", "0.5", "--people", "6", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["visibility"] == "coco" and set(report["checkpoints"]) == {"run", "combined"}
    val = CocoPersons(val_dir / "coco_keypoints.json", val_dir, visibility="coco")
    assert len(val) > 0
    for call, (name, model, pad) in zip(calls, (("run", models[0], 1.1), ("combined", models[1], 1.3)), strict=True):
        got = report["checkpoints"][name]
        assert got["crop_padding"] == pad
        assert torch.equal(call[0], model.state_dict()["decoder.body.9.weight"]) and call[1:] == (6, pad, (0.0, 0.5))
        want = validate(model.float(), val, 6, pad, torch.device("cpu"),
                        Stage2ValidationConfig(hidden_fractions=(0.0, 0.5)))
        assert got["ap_vs_occlusion"] == {"0.0": want["ap_0"], "0.5": want["ap_50"]}
    assert "run " in capsys.readouterr().out
    assert tool.main(["--checkpoint", f"bare={bare}", "--val", str(val_dir), "--levels", "0"]) == 2
    assert "no stage-2 crop_padding" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tool.main(["--checkpoint", str(bare), "--val", str(val_dir)])  # no NAME=
