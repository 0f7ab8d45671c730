"""Training configurations (YAML under training/configs/), validated on load."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cluenet_ros.config import load_yaml, spec
from cluenet_ros.models.baseline import KeypointRCNNConfig
from cluenet_ros.models.stage1 import Stage1Config
from cluenet_ros.models.stage2 import Stage2Config


@dataclass(frozen=True)
class DataSpec:
    format: str = spec("split", choices=("split", "citypersons", "coco"),
                       help="split: a folder written by `cluenet synth` (or converted data); citypersons: "
                            "a Cityscapes root + CityPersons annotations; coco: a COCO person_keypoints file")
    root: str = spec("", help="split folder, Cityscapes root, or COCO image folder")
    annotations: str = spec("", help="citypersons: anno_<split>.mat, or the gtBboxCityPersons folder of the "
                                     "Cityscapes download; coco: the COCO JSON")
    split: str = spec("train", help="Cityscapes split name (citypersons)")
    visibility: str = spec("coco", choices=("coco", "unoccluded"),
                           help="stage-2 source and validation people: which count as fully visible. coco: "
                                "all 13 keypoints labelled visible (all real COCO can tell; drops people whose "
                                "own body hides a keypoint); unoccluded: nothing else hides them, from the "
                                "synthetic sets' exact truth, scored on all 13 true keypoints (datasets.CocoPersons)")

    def validate(self) -> None:
        if not self.root and not (self.format == "coco" and self.annotations):
            raise ValueError("data: 'root' is required")
        if self.format in ("citypersons", "coco") and not self.annotations:
            raise ValueError(f"data: format {self.format} needs 'annotations'")
        from cluenet_ros.data.real_images import refuse_check_set

        refuse_check_set(self.root, self.annotations)


@dataclass(frozen=True)
class OptimConfig:
    optimizer: str = spec("sgd", choices=("sgd", "adam"),
                          help="sgd (the paper's, with momentum) or adam (heatmap regression from "
                               "scratch: its per-parameter scaling makes up for the tiny per-pixel loss)")
    lr: float = spec(0.01, min=0.0)
    momentum: float = spec(0.9, min=0.0, max=1.0)
    weight_decay: float = spec(1e-4, min=0.0)
    lr_step: int = spec(15000, min=1, help="iterations between learning-rate divisions")
    lr_gamma: float = spec(0.1, min=0.0, max=1.0)
    lr_schedule: str = spec("step", choices=("step", "cosine"),
                            help="step: divide by 1/lr_gamma every lr_step iterations (the paper's); "
                                 "cosine: half a cosine from lr down to lr_final x lr at the run's last "
                                 "iteration (lr_step and lr_gamma unused)")
    lr_final: float = spec(0.0, min=0.0, max=1.0, help="cosine only: the last rate as a share of lr")
    warmup_iterations: int = spec(500, min=0, help="linear warm-up from lr/10 (0: none)")
    grad_clip: float = spec(10.0, min=0.0, help="max gradient norm (0: no clipping)")


@dataclass(frozen=True)
class AugmentConfig:
    """Geometric augmentation (scale, flip) and photometric augmentation, whose ranges
    all default to off so that a config without them trains exactly as before. The
    photometric part is for training on synthetic renders that must carry over to
    real cameras (domain randomisation of colour, exposure, sharpness)."""
    scale: tuple[float, float] = spec((0.8, 1.2), min=0.1, length=2)
    hflip: float = spec(0.3, min=0.0, max=1.0)
    brightness: float = spec(0.0, min=0.0, max=1.0, help="brightness factor drawn from [1-b, 1+b]")
    contrast: float = spec(0.0, min=0.0, max=1.0, help="contrast factor drawn from [1-c, 1+c]")
    saturation: float = spec(0.0, min=0.0, max=1.0, help="saturation factor drawn from [1-s, 1+s]")
    hue: float = spec(0.0, min=0.0, max=0.5, help="hue shift drawn from [-h, h] (fraction of the colour circle)")
    grayscale: float = spec(0.0, min=0.0, max=1.0, help="probability of a grey image (3 equal channels)")
    blur: float = spec(0.0, min=0.0, max=1.0, help="probability of a Gaussian blur")
    blur_sigma: tuple[float, float] = spec((0.3, 1.5), min=0.05, length=2, help="its sigma range, pixels")
    random_conv: float = spec(0.0, min=0.0, max=1.0,
                              help="probability of a random convolution (RandConv, Xu et al. 2021): the image "
                                   "through a 3->3 convolution with freshly drawn weights, rescaled to the "
                                   "image's own channel means and spreads, blended with the image by a "
                                   "uniform weight; it changes local texture and colour mapping but keeps "
                                   "shapes, so the detector cannot lean on how the renderer draws surfaces")
    random_conv_kernels: tuple[int, ...] = spec((1, 3, 5, 7), min=1, help="odd kernel sizes it draws from")
    background_plate: float = spec(0.0, min=0.0, max=1.0,
                                   help="stage 1: probability that every pixel the mask leaves as background "
                                        "(the rendered street, cars and poles too) is replaced by a crop of a real "
                                        "photograph from background_plate_dirs, the people kept (training/plates.py)")
    box_shift: float = spec(0.0, min=0.0, max=0.5,
                            help="stage 2: the crop's box is moved by up to this share of its width and height "
                                 "(uniform, each axis), so that stage 2 learns to place the keypoints from crops "
                                 "that sit off the person as stage 1's boxes do; 0: true boxes only")
    background_plate_dirs: tuple[str, ...] = spec(("data/plates",),
                                                  help="folders of plate photographs: a `cluenet data plates` "
                                                       "folder, or any folder of PNG/JPEG photographs without "
                                                       "people (read recursively)")

    def validate(self) -> None:
        if self.blur_sigma[0] > self.blur_sigma[1]:
            raise ValueError(f"augment.blur_sigma {list(self.blur_sigma)}: expected [MIN, MAX] with MIN <= MAX")
        if not self.random_conv_kernels or any(k % 2 == 0 for k in self.random_conv_kernels):
            raise ValueError(f"augment.random_conv_kernels {list(self.random_conv_kernels)}: expected odd sizes "
                             "(a kernel centred on its pixel), at least one")
        if self.background_plate:
            if not self.background_plate_dirs:
                raise ValueError("augment.background_plate > 0 needs at least one folder in "
                                 "augment.background_plate_dirs")
            from cluenet_ros.data.plates import refuse_check_set_overlap

            for folder in self.background_plate_dirs:
                refuse_check_set_overlap(folder)

    @property
    def photometric(self) -> bool:
        return any((self.brightness, self.contrast, self.saturation, self.hue, self.grayscale, self.blur,
                    self.random_conv))


@dataclass(frozen=True)
class UnfreezeConfig:
    frozen_iterations: int = spec(10000, min=0, help="iterations with the whole trunk frozen")
    interval: int = spec(2000, min=1, help="iterations between unfreezing one more stage, from the last")
    keep_frozen: int = spec(0, min=0, max=5, help="stages (from the stem) that stay frozen for good")
    norm_statistics: str = spec("train", choices=("train", "frozen"),
                                help="train: the trunk's batch norms update their running statistics in "
                                     "training; frozen: they keep the statistics of the initial weights while "
                                     "their scale and shift still learn (fine-tunes on data whose image "
                                     "statistics differ from the weights' own)")


@dataclass(frozen=True)
class RunConfig:
    out_dir: str = spec("runs/cluenet", help="checkpoints, TensorBoard logs and losses.jsonl")
    iterations: int = spec(60000, min=1)
    batch_size: int = spec(2, min=1, help="images (stage 1) or people (stage 2) per process")
    seed: int = 0
    workers: int = spec(2, min=0, help="data-loading processes per training process")
    checkpoint_every: int = spec(1000, min=1)
    val_every: int = spec(5000, min=1)
    val_images: int = spec(200, min=1, help="at most this many validation images (or people)")
    log_every: int = spec(20, min=1)
    device: str = spec("auto", choices=("auto", "cuda", "cpu"))
    amp: bool = spec(True, help="mixed precision on CUDA")
    init: str = spec("", help="fine-tuning: a checkpoint (a training run's or a pipeline's, e.g. the demo "
                              "weights) whose model of this stage is the starting point; its architecture "
                              "must match model:. Empty: initialise as model: says. Ignored on --resume "
                              "once the run has a checkpoint of its own")


@dataclass(frozen=True)
class MixSpec:
    """A further training folder that supplies a fixed share of the batches, whatever the
    sizes of the folders: a recipe can then add, say, large people at the inference size
    to small-image scenes without the larger folder crowding out the rest. Each batch
    comes from one folder, so images of one size are padded together and no batch pays
    for the largest image size unless it draws from that folder."""
    data: DataSpec
    share: float = spec(0.25, min=0.0, max=1.0, help="share of the batches drawn from this folder")
    scale: float = spec(1.0, min=0.05, max=4.0,
                        help="this folder's images are resized by this factor on top of the augmentation's "
                             "scale range: large-image data at a smaller recipe's size (0.5 turns 1024x512 "
                             "scenes into 512x256 ones with people half as tall)")


@dataclass(frozen=True)
class Stage1TrainConfig:
    model: Stage1Config = field(default_factory=Stage1Config)
    train: DataSpec = field(default_factory=DataSpec)
    train_mix: tuple[MixSpec, ...] = spec((), help="further training folders, each with its share of the "
                                                     "batches; 'train' supplies the rest")
    val: DataSpec | None = None
    optim: OptimConfig = field(default_factory=OptimConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    unfreeze: UnfreezeConfig = field(default_factory=UnfreezeConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def validate(self) -> None:
        if self.augment.box_shift:
            raise ValueError("augment.box_shift moves stage 2's person crops; stage 1 has none (set it to 0)")
        for name, d in [("train", self.train)] + [(f"train_mix[{i}]", m.data) for i, m in enumerate(self.train_mix)]:
            if d.format not in ("split", "citypersons"):
                raise ValueError(f"{name}: stage 1 reads 'split' or 'citypersons' data, not {d.format!r}")
        shares = sum(m.share for m in self.train_mix)
        if any(m.share <= 0 for m in self.train_mix) or shares >= 1.0:
            raise ValueError(f"train_mix: each share must be above 0 and together below 1 ('train' needs the "
                             f"rest), got {[m.share for m in self.train_mix]}")
        if self.val is not None and self.val.format != "split":
            raise ValueError("val: stage-1 validation reads a split folder (CityPersons evaluation layout "
                             "with mask paths)")


@dataclass(frozen=True)
class MaskAndPredictConfig:
    enabled: bool = True
    max_fraction: float = spec(0.7, min=0.0, max=1.0, help="hidden share of the person at the end")
    curriculum_iterations: int = spec(0, min=0, help="iterations to reach max_fraction (0: the whole run)")
    schedule: str = spec("linear", choices=("linear", "uniform"),
                         help="linear (the paper's: every crop hides the curriculum's current share, "
                              "rising from 0 to max_fraction); uniform (each crop hides a share drawn "
                              "uniformly between 0 and the current share: mean max_fraction/2 at the end)")


@dataclass(frozen=True)
class Stage2ValidationConfig:
    hidden_fractions: tuple[float, ...] = spec((0.0, 0.3, 0.5, 0.7), min=0.0, max=0.95,
                                               help="validation crops are hidden by black patches at each of "
                                                    "these shares; AP is measured per share")
    select: str = spec("mean", help="best.pt is chosen on 'mean' (the mean AP over hidden_fractions) "
                                    "or on one share's AP, named ap_<percent> (e.g. ap_50)")
    seed: int = spec(0, help="seed of the validation patches (the same at every validation)")
    flip_test: bool = spec(False, help="score each crop's heatmaps averaged with its mirror image's, as the "
                                       "pipeline's flip_test does")

    def validate(self) -> None:
        if not self.hidden_fractions:
            raise ValueError("validation.hidden_fractions: at least one share")
        names = {ap_key(f) for f in self.hidden_fractions}
        if self.select != "mean" and self.select not in names:
            raise ValueError(f"validation.select must be 'mean' or one of {sorted(names)}, not {self.select!r}")


def ap_key(fraction: float) -> str:
    """The metric name of the AP at one hidden share: ap_0, ap_30, ap_50, ..."""
    return f"ap_{round(100 * fraction)}"


@dataclass(frozen=True)
class DomainAdaptationConfig:
    enabled: bool = True
    weight: float = spec(1.0, min=0.0, help="weight of L_advE in the encoder's (generator's) update, in the "
                                            "units 'balance' names")
    balance: str = spec("paper", choices=("paper", "mean"),
                        help="'paper': eq. 4 is a sum of squares over each person's heatmaps and the trainer's "
                             "pose loss is their per-pixel mean, so L_advE is divided by keypoints x heatmap "
                             "pixels and weight 1 is the paper's balance; 'mean': weight multiplies L_advE "
                             "against the per-pixel mean as it is (the trainer before session 9)")
    classifier_lr: float = spec(0.001, min=0.0)
    ramp_iterations: int = spec(0, min=0, help="0: the weight is constant; N: it rises over N iterations as "
                                               "DANN's 2/(1+exp(-10 p))-1 (training/schedules.py)")


@dataclass(frozen=True)
class Stage2TrainConfig:
    model: Stage2Config = field(default_factory=Stage2Config)
    source: DataSpec = field(default_factory=lambda: DataSpec(format="coco"))
    target: DataSpec | None = None
    val: DataSpec | None = None
    stage1_checkpoint: str = spec("", help="trained stage 1; when set, a combined cluenet.pt is written")
    crop_padding: float = spec(1.1, min=1.0, max=2.0)
    precise_bn: int = spec(0, min=0, help="before each validation, the batch-norm statistics are re-estimated as "
                                          "the plain average over the crops of this many latest iterations "
                                          "(torch's update_bn; no weight changes), so best.pt is chosen, and "
                                          "saved, with statistics of the network as it is. 0: the running "
                                          "averages training leaves, which lag a fast-moving network "
                                          "(MobileNetV3's momentum is 0.01; docs/accuracy, session 52)")
    source_mix: tuple[MixSpec, ...] = spec((), help="further source folders of people, each with its share of the "
                                                      "crops; 'source' supplies the rest (people of other sizes or "
                                                      "worlds beside the main source, whatever each folder's count)")
    mask_and_predict: MaskAndPredictConfig = field(default_factory=MaskAndPredictConfig)
    domain_adaptation: DomainAdaptationConfig = field(default_factory=DomainAdaptationConfig)
    validation: Stage2ValidationConfig = field(default_factory=Stage2ValidationConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    run: RunConfig = field(default_factory=lambda: RunConfig(batch_size=32))

    def validate(self) -> None:
        for i, m in enumerate(self.source_mix):
            if m.data.format not in ("coco", "split"):
                raise ValueError(f"source_mix[{i}]: stage-2 source people come from 'coco' or 'split' data, "
                                 f"not {m.data.format!r}")
            if m.scale != 1.0:
                raise ValueError(f"source_mix[{i}]: scale resizes stage-1 images; stage 2 resizes every crop to "
                                 f"model.input_size anyway (leave scale out)")
        shares = sum(m.share for m in self.source_mix)
        if any(m.share <= 0 for m in self.source_mix) or shares >= 1.0:
            raise ValueError(f"source_mix: each share must be above 0 and together below 1 ('source' needs the "
                             f"rest), got {[m.share for m in self.source_mix]}")
        if self.domain_adaptation.enabled and self.target is None:
            raise ValueError("domain_adaptation is enabled but no 'target' data is given")


@dataclass(frozen=True)
class BaselineTrainConfig:
    """torchvision's Keypoint R-CNN trained end to end on split folders (the peer of
    the accuracy study)."""
    model: KeypointRCNNConfig = field(default_factory=KeypointRCNNConfig)
    train: DataSpec = field(default_factory=DataSpec)
    val: DataSpec | None = None
    optim: OptimConfig = field(default_factory=OptimConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def validate(self) -> None:
        for name, d in (("train", self.train), ("val", self.val)):
            if d is not None and d.format != "split":
                raise ValueError(f"{name}: the baseline reads split folders (boxes and keypoints per image)")


def load_baseline(path: str | Path) -> BaselineTrainConfig:
    return load_yaml(BaselineTrainConfig, path)


def load_stage1(path: str | Path) -> Stage1TrainConfig:
    return load_yaml(Stage1TrainConfig, path)


def load_stage2(path: str | Path) -> Stage2TrainConfig:
    return load_yaml(Stage2TrainConfig, path)
