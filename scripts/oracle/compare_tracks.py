#!/usr/bin/env python3
"""Compares two trackers' outputs on one video, and each against ground truth.

    python3 compare_tracks.py LOOKOUT.jsonl REFERENCE.jsonl [--gt VIDEO.gt.jsonl]

LOOKOUT.jsonl is `lookout track --json` (detections with "id"); REFERENCE.jsonl is {"frame", "tracks": [[x1, y1, x2,
y2, id, ...]]} (scripts/ultralytics_track_reference.py, or scripts/oracle/ultralytics_bytetrack.py). Boxes of the two
outputs are paired per frame by optimal assignment at IoU >= 0.5; identity agreement is the share of paired boxes whose
ids agree under the best one-to-one relabelling (the mapping maximising agreeing pairs). With --gt, CLEAR MOT (MOTA)
and IDF1 at IoU >= 0.5 for both. Needs numpy and lap.
"""
import argparse
import json

import lap
import numpy as np


def load(path):
    frames = []
    for line in open(path):
        entry = json.loads(line)
        if "tracks" in entry:
            frames.append([(t[4], np.array(t[:4], float)) for t in entry["tracks"]])
        elif "boxes" in entry:  # ground truth: [x1, y1, x2, y2, cls, id]
            frames.append([(b[5], np.array(b[:4], float)) for b in entry["boxes"]])
        else:
            frames.append([(d["id"], np.array(d["box"], float)) for d in entry["detections"] if "id" in d])
    return frames


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def pair(xs, ys, threshold=0.5):
    if not xs or not ys:
        return []
    cost = np.array([[1 - iou(x[1], y[1]) for y in ys] for x in xs])
    _, rows, _ = lap.lapjv(cost, extend_cost=True, cost_limit=1 - threshold + 1e-9)
    return [(i, j) for i, j in enumerate(rows) if j >= 0]


def best_mapping(counts):
    a_ids = sorted({a for a, _ in counts})
    b_ids = sorted({b for _, b in counts})
    if not a_ids:
        return 0
    cost = np.zeros((len(a_ids), len(b_ids)))
    for (a, b), n in counts.items():
        cost[a_ids.index(a), b_ids.index(b)] = -n
    _, rows, _ = lap.lapjv(cost, extend_cost=True, cost_limit=-0.5)
    return sum(-cost[i, j] for i, j in enumerate(rows) if j >= 0)


def mot(truth, output):
    gt = sum(len(f) for f in truth)
    hyp = sum(len(f) for f in output)
    last, fn, fp, sw, pairs = {}, 0, 0, 0, {}
    for t, o in zip(truth, output):
        for tid, tb in t:
            for oid, ob in o:
                if iou(tb, ob) >= 0.5:
                    pairs[(tid, oid)] = pairs.get((tid, oid), 0) + 1
        matched, taken_t, taken_o = [], set(), set()
        for i, (tid, tb) in enumerate(t):
            if tid in last:
                for j, (oid, ob) in enumerate(o):
                    if oid == last[tid] and j not in taken_o and iou(tb, ob) >= 0.5:
                        matched.append((i, j)); taken_t.add(i); taken_o.add(j)
                        break
        rest_t = [i for i in range(len(t)) if i not in taken_t]
        rest_o = [j for j in range(len(o)) if j not in taken_o]
        for a, b in pair([t[i] for i in rest_t], [o[j] for j in rest_o]):
            i, j = rest_t[a], rest_o[b]
            if t[i][0] in last and last[t[i][0]] != o[j][0]:
                sw += 1
            matched.append((i, j))
        for i, j in matched:
            last[t[i][0]] = o[j][0]
        fn += len(t) - len(matched)
        fp += len(o) - len(matched)
    idtp = best_mapping(pairs)
    return {"mota": 1 - (fn + fp + sw) / gt, "idf1": 2 * idtp / (gt + hyp), "idsw": sw, "fn": fn, "fp": fp}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lookout")
    parser.add_argument("reference")
    parser.add_argument("--gt")
    args = parser.parse_args()
    a, b = load(args.lookout), load(args.reference)
    n = min(len(a), len(b))
    counts, paired = {}, 0
    for fa, fb in zip(a[:n], b[:n]):
        for i, j in pair(fa, fb):
            counts[(fa[i][0], fb[j][0])] = counts.get((fa[i][0], fb[j][0]), 0) + 1
            paired += 1
    agree = best_mapping(counts)
    result = {"frames": n, "paired_boxes": paired, "same_identity": agree, "agreement": agree / paired if paired else 0}
    if args.gt:
        truth = load(args.gt)[:n]
        result["lookout_vs_gt"] = mot(truth, a[:n])
        result["reference_vs_gt"] = mot(truth, b[:n])
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
