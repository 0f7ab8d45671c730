"""The two-stage inference pipeline: geometry, counts, sizes, batching, flags."""
import threading
import time

import numpy as np
import pytest
import torch
from torchvision.ops import roi_align

from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
from cluenet_ros.inference.geometry import crop_boxes, crop_to_image, image_to_crop
from cluenet_ros.models.checkpoint import save_checkpoint
from conftest import tiny_stage1_config, tiny_stage2_config


@pytest.fixture(scope="module")
def pipeline():
    torch.manual_seed(0)
    return ClueNetPipeline.random(PipelineConfig(device="cpu", score_threshold=0.0, nms_iou=1.0,
                                                 max_detections=20),
                                  tiny_stage1_config(), tiny_stage2_config())


def noise_image(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_crop_boxes_keep_aspect_and_contain_the_box():
    boxes = torch.tensor([[10.0, 20.0, 30.0, 120.0], [0.0, 0.0, 200.0, 50.0]])
    crops = crop_boxes(boxes, (256, 192), padding=1.1)
    w, h = crops[:, 2] - crops[:, 0], crops[:, 3] - crops[:, 1]
    assert torch.allclose(w / h, torch.full((2,), 192 / 256))
    assert (crops[:, :2] <= boxes[:, :2]).all() and (crops[:, 2:] >= boxes[:, 2:]).all()
    assert torch.allclose((crops[:, :2] + crops[:, 2:]) / 2, (boxes[:, :2] + boxes[:, 2:]) / 2)


def test_crop_then_back_projection_round_trip():
    img = torch.zeros(1, 1, 120, 160)
    img[0, 0, 77, 41] = 1.0                # pixel centre at (41.5, 77.5)
    crops = crop_boxes(torch.tensor([[20.0, 30.0, 60.0, 110.0]]), (64, 48), 1.1)
    out = roi_align(img, [crops], output_size=(64, 48), sampling_ratio=1, aligned=True)[0, 0]
    # the crop pixel that samples the bright pixel best maps back to within half a
    # crop pixel (one sampling step) of that pixel's centre
    row, col = divmod(int(out.argmax()), 48)
    back = crop_to_image(torch.tensor([[[col + 0.5, row + 0.5]]]), crops, (64, 48))[0, 0]
    step = (crops[0, 2] - crops[0, 0]) / 48
    assert abs(float(back[0]) - 41.5) <= step / 2 + 1e-4
    assert abs(float(back[1]) - 77.5) <= step / 2 + 1e-4
    pts = torch.rand(1, 13, 2) * 100
    assert torch.allclose(crop_to_image(image_to_crop(pts, crops, (64, 48)), crops, (64, 48)), pts, atol=1e-4)


@pytest.mark.parametrize("count", [0, 1, 20])
def test_pedestrian_counts(pipeline, count):
    if count == 0:
        pipeline.set_thresholds(score=1.0, max_detections=20)
    else:
        pipeline.set_thresholds(score=0.0, max_detections=count)
    try:
        res = pipeline(noise_image(97, 131))
    finally:
        pipeline.set_thresholds(score=0.0, max_detections=20)
    assert len(res) == count
    assert res.keypoints.shape == (count, 13, 3) and res.occluded.shape == (count, 13)
    assert res.visible_boxes.shape == (count, 4) and res.visibility.shape == (count,)
    assert res.mask.shape == (97, 131) and res.mask.dtype == np.uint8
    assert res.ids == [str(i) for i in range(count)]
    if count:
        assert ((res.visibility >= 0) & (res.visibility <= 1)).all()
        vis = res.visible_boxes[res.visibility > 0]
        full = res.boxes[res.visibility > 0]
        assert (vis[:, :2] >= full[:, :2] - 1e-3).all() and (vis[:, 2:] <= full[:, 2:] + 1e-3).all()
        assert ((res.keypoints[..., 2] >= 0) & (res.keypoints[..., 2] <= 1)).all()


@pytest.mark.parametrize("size", [(33, 17), (101, 257), (64, 2)])
def test_odd_image_sizes(pipeline, size):
    res = pipeline(noise_image(*size))
    assert res.mask.shape == size
    assert len(res) > 0  # score threshold 0: the random model always proposes something
    assert (res.boxes[:, :2] >= -1e-3).all()
    assert (res.boxes[:, 2] <= size[1] + 1e-3).all() and (res.boxes[:, 3] <= size[0] + 1e-3).all()
    assert res.keypoints.shape == (len(res), 13, 3) and res.visible_boxes.shape == (len(res), 4)


def test_bad_images_are_rejected(pipeline):
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        pipeline(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="float32"):
        pipeline(np.zeros((10, 10, 3), np.float32))


def test_batch_equals_single_frames(pipeline):
    # frames of one camera share a size; mixed sizes are padded to the largest,
    # which changes what the detector sees near the padding
    a, b = noise_image(97, 131, 1), noise_image(97, 131, 2)
    batched = pipeline.process_batch([a, b])
    for single, res in zip((pipeline(a), pipeline(b)), batched):
        assert len(single) == len(res)
        np.testing.assert_allclose(single.boxes, res.boxes, atol=1e-3)
        np.testing.assert_allclose(single.keypoints, res.keypoints, atol=1e-2)
        np.testing.assert_array_equal(single.mask, res.mask)


def test_batched_stage2_equals_crop_by_crop(pipeline):
    img = noise_image(97, 131, 3)
    t = pipeline._to_tensor(img)
    with torch.inference_mode():
        out = pipeline.stage1([t])[0]
        crops, _, _ = pipeline._crop([t], [out["mask"] > 0.5], [out["boxes"]])
        assert len(crops) == 20
        batched = pipeline.stage2(crops)
        single = torch.cat([pipeline.stage2(c[None]) for c in crops])
    assert torch.allclose(batched, single, atol=1e-5)


def test_occluded_flag_follows_the_mask(pipeline):
    hc, wc = pipeline.crop_hw
    masks = torch.zeros(1, hc, wc)
    masks[0, : hc // 2] = 1.0                   # top half visible
    kps = torch.tensor([[[wc / 2, hc / 4, 1.0], [wc / 2, 3 * hc / 4, 1.0], [-5.0, 3.0, 1.0]]])
    assert pipeline._occluded(kps, masks).tolist() == [[False, True, True]]


def test_visible_box_and_ratio(pipeline):
    hc, wc = pipeline.crop_hw
    box = torch.tensor([[0.0, 0.0, float(wc), float(hc)]])
    region = box.clone()                       # crop equals the box: crop pixel = image pixel
    masks = torch.zeros(1, hc, wc)
    masks[0, : hc // 2, : wc // 4] = 1.0
    vis, ratio = pipeline._visible_boxes(box, masks, region)
    assert vis.tolist() == [[0.0, 0.0, wc / 4, hc / 2]]
    assert ratio.item() == pytest.approx(1 / 8)


def test_from_checkpoint(tmp_path, pipeline):
    path = tmp_path / "cluenet.pt"
    save_checkpoint(path, {"stage1": pipeline.stage1, "stage2": pipeline.stage2})
    loaded = ClueNetPipeline.from_checkpoint(path, pipeline.config)
    img = noise_image(97, 131, 4)
    a, b = pipeline(img), loaded(img)
    np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-4)


def test_bgr_input_is_swapped_on_the_device(pipeline):
    rgb = noise_image(60, 80, 7)
    a = pipeline(rgb)
    b = pipeline(np.ascontiguousarray(rgb[..., ::-1]), bgr=True)
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-5)


def test_stage_timings_are_reported(pipeline):
    t = {}
    pipeline.process_batch([noise_image(60, 80)], timings=t)
    assert set(t) == {"preprocess", "stage1", "crop_mask", "stage2", "postprocess"}
    assert all(v >= 0 for v in t.values()) and t["stage1"] > 0


def test_random_pipeline_is_seeded_and_leaves_the_global_rng_alone():
    s1, s2 = tiny_stage1_config(), tiny_stage2_config()

    def weights(pipe):
        return torch.cat([p.detach().flatten() for p in pipe.stage1.parameters()] +
                         [p.detach().flatten() for p in pipe.stage2.parameters()])

    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    a = ClueNetPipeline.random(PipelineConfig(device="cpu"), s1, s2)
    assert torch.equal(torch.random.get_rng_state(), state)  # drawn in a forked RNG
    torch.manual_seed(456)  # the caller's seed does not matter
    b = ClueNetPipeline.random(PipelineConfig(device="cpu"), s1, s2)
    c = ClueNetPipeline.random(PipelineConfig(device="cpu"), s1, s2, seed=1)
    assert torch.equal(weights(a), weights(b))
    assert not torch.equal(weights(a), weights(c))
    # seed=None draws from the global RNG, as a plain module constructor does
    torch.manual_seed(7)
    d = ClueNetPipeline.random(PipelineConfig(device="cpu"), s1, s2, seed=None)
    torch.manual_seed(7)
    e = ClueNetPipeline.random(PipelineConfig(device="cpu"), s1, s2, seed=None)
    assert torch.equal(weights(d), weights(e)) and not torch.equal(weights(d), weights(a))
    img = noise_image(96, 128, seed=3)
    ra, rb = a(img), b(img)
    assert torch.equal(torch.as_tensor(ra.boxes), torch.as_tensor(rb.boxes))


def test_settings_changed_while_frames_run_apply_to_whole_frames():
    """The node changes settings from its parameter callback while the inference thread is
    inside a frame: each frame must run under one set of settings, never half of each."""
    pipe = ClueNetPipeline.random(PipelineConfig(device="cpu", score_threshold=0.0, nms_iou=1.0, max_detections=20),
                                  tiny_stage1_config(), tiny_stage2_config())
    stop, toggles = threading.Event(), [0]

    def toggle():
        on = False
        while not stop.is_set():
            on = not on
            pipe.set_flip_test(on)
            pipe.set_detection_flip_test(on)
            toggles[0] += 1
            time.sleep(0.0002)

    worker = threading.Thread(target=toggle, daemon=True)
    worker.start()
    try:
        for i in range(25):
            res = pipe(noise_image(97, 131, seed=i))
            n = len(res)
            assert n > 0 and res.keypoints.shape == (n, 13, 3) and res.occluded.shape == (n, 13)
            assert res.visible_boxes.shape == (n, 4) and np.isfinite(res.keypoints).all()
    finally:
        stop.set()
        worker.join()
    assert toggles[0] > 25, "the settings did not change while frames ran"
    # settings changed from several threads at once are all kept (none overwrites another's)
    pipe.set_flip_test(False)
    pipe.set_detection_flip_test(False)
    threads = [threading.Thread(target=lambda k=k: [pipe.set_mask_threshold(k / 10) for _ in range(200)]) for k in (3,)]
    threads.append(threading.Thread(target=lambda: [pipe.set_flip_test(bool(j % 2)) for j in range(201)]))
    threads.append(threading.Thread(target=lambda: [pipe.set_thresholds(max_detections=5 + j % 2) for j in range(200)]))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (pipe.config.mask_threshold, pipe.config.flip_test, pipe.config.max_detections) == (0.3, False, 6)


def test_keep_spares_stage2_the_rows_left_out(pipeline):
    """A tracker's choice between the stages: stage 2 sees only the kept rows, and
    they come out as the full result's rows, in the order given."""
    img = noise_image(97, 131, 4)
    full = pipeline(img)
    assert len(full) == 20
    crops, seen = [], []
    handle = pipeline.stage2.register_forward_hook(lambda m, args, out: crops.append(args[0].shape[0]))
    try:
        def keep(boxes, scores):
            seen.append((boxes.copy(), scores.copy()))
            return [7, 0, 12]
        kept = pipeline(img, keep=keep)
        assert crops == [3]  # three crops, not twenty
        nothing = pipeline(img, keep=lambda b, s: [])
        assert crops == [3] and len(nothing) == 0 and nothing.keypoints.shape == (0, 13, 3)
    finally:
        handle.remove()
    (boxes, scores), = seen
    np.testing.assert_allclose(boxes, full.boxes, atol=1e-4)
    np.testing.assert_allclose(scores, full.scores, atol=1e-6)
    rows = [7, 0, 12]
    np.testing.assert_allclose(kept.boxes, full.boxes[rows], atol=1e-4)
    np.testing.assert_allclose(kept.scores, full.scores[rows], atol=1e-6)
    np.testing.assert_allclose(kept.keypoints, full.keypoints[rows], atol=1e-2)
    np.testing.assert_allclose(kept.visible_boxes, full.visible_boxes[rows], atol=1e-3)
    np.testing.assert_array_equal(kept.occluded, full.occluded[rows])
    np.testing.assert_array_equal(kept.mask, full.mask)
    np.testing.assert_array_equal(nothing.mask, full.mask)


def test_keep_is_asked_once_per_frame_in_order(pipeline):
    a, b = noise_image(97, 131, 5), noise_image(97, 131, 6)
    singles = [pipeline(a), pipeline(b)]
    asked = []

    def keep(boxes, scores):
        asked.append(len(asked))
        return [len(asked)]  # frame 0 keeps row 1, frame 1 row 2
    res = pipeline.process_batch([a, b], keep=keep)
    assert asked == [0, 1] and [len(r) for r in res] == [1, 1]
    for k, (single, r) in enumerate(zip(singles, res)):
        np.testing.assert_allclose(r.boxes, single.boxes[[k + 1]], atol=1e-3)


@pytest.mark.parametrize("bad, msg", [(lambda b, s: [20], "row 20 of 20"), (lambda b, s: [-1], "row -1"),
                                      (lambda b, s: [1, 1], "more than once"),
                                      (lambda b, s: s > 0.5, "row indices"), (lambda b, s: [0.5], "row indices")])
def test_keep_must_name_rows(pipeline, bad, msg):
    with pytest.raises(ValueError, match=msg):
        pipeline(noise_image(97, 131, 4), keep=bad)
