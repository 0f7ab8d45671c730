"""Session 52: end-to-end keypoint AP of bigval150 runs with only the detections matched to a
person kept (box IoU >= 0.5, greedy by score), and the matched people's OKS. Run once from /tmp
before it was committed here; output in matched_oks.txt.

    .venv/bin/python docs/accuracy/real_world/s52/matched_oks.py big_shipped big_cand   # runs/s52/<name>
"""
import json, numpy as np, sys
from cluenet_ros.evaluation.pose import keypoint_ap, load_coco
from cluenet_ros import keypoints as kp
import torch
from torchvision.ops import box_iou
gt = load_coco('data/s44/bigval150/val/coco_keypoints.json')
by_img = {}
for a in gt['annotations']: by_img.setdefault(a['image_id'], []).append(a)
sig = np.asarray(kp.OKS_SIGMAS)
for run in sys.argv[1:]:
    d = json.load(open(f'runs/s52/{run}/detections.json')); k = json.load(open(f'runs/s52/{run}/keypoints.json'))
    keep, oks_list = [], []
    idx_by_img = {}
    for i, r in enumerate(d): idx_by_img.setdefault(r['image_id'], []).append(i)
    for img, anns in by_img.items():
        anns = [a for a in anns if a.get('num_keypoints', 0) > 0]
        idx = sorted(idx_by_img.get(img, []), key=lambda i: -d[i]['score'])
        if not anns or not idx: continue
        g = torch.tensor([[a['bbox'][0], a['bbox'][1], a['bbox'][0]+a['bbox'][2], a['bbox'][1]+a['bbox'][3]] for a in anns])
        b = torch.tensor([[d[i]['bbox'][0], d[i]['bbox'][1], d[i]['bbox'][0]+d[i]['bbox'][2], d[i]['bbox'][1]+d[i]['bbox'][3]] for i in idx])
        iou = box_iou(b, g).numpy(); used = set()
        for r, i in enumerate(idx):
            j = int(iou[r].argmax())
            if iou[r, j] >= 0.5 and j not in used:
                used.add(j); keep.append(k[i])
                a = anns[j]; t = np.asarray(a['keypoints'], float).reshape(13, 3); p = np.asarray(k[i]['keypoints']).reshape(13, 3)
                v = t[:, 2] > 0; dd = ((p[:, :2]-t[:, :2])**2).sum(1); var = (2*sig)**2
                e = dd/var/(a['area']+np.spacing(1))/2
                oks_list.append(np.exp(-e[v]).mean())
    o = np.asarray(oks_list)
    print(run, 'all', round(100*keypoint_ap(gt, k)['AP'], 2), 'matched-only AP', round(100*keypoint_ap(gt, keep)['AP'], 2),
          'matched', len(keep), 'OKS median', round(float(np.median(o)), 3), 'OKS>=0.5', round(float((o >= .5).mean()), 3), 'OKS>=0.75', round(float((o >= .75).mean()), 3))
