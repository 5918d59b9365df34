#!/usr/bin/env python3
"""Compares `lookout detect --json` lines with an Ultralytics predictions file (val/ultralytics_*_predictions.json):
a reference box is matched by an unused detection of the same class with IoU >= IOU and |conf difference| <= CONF.
Prints matched and extra counts and rates; exit status 1 when below the acceptance (MATCHED matched, EXTRA extra).

    compare_predictions.py LINES REFERENCE [--iou 0.95] [--conf 0.01] [--matched 0.98] [--extra 0.02]

The defaults are the GPU acceptance; the CPU's is --iou 0.99 --conf 0.001 --matched 0.99 --extra 0.01."""
import argparse
import json
import os
import sys


def iou(a, b):
    w = max(min(a[2], b[2]) - max(a[0], b[0]), 0)
    h = max(min(a[3], b[3]) - max(a[1], b[1]), 0)
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("lines")
    parser.add_argument("reference")
    parser.add_argument("--iou", type=float, default=0.95)
    parser.add_argument("--conf", type=float, default=0.01)
    parser.add_argument("--matched", type=float, default=0.98)
    parser.add_argument("--extra", type=float, default=0.02)
    args = parser.parse_args()
    lines, reference = args.lines, args.reference
    ref = json.load(open(reference))
    ours = {}
    for line in open(lines):
        if line.startswith("{"):
            d = json.loads(line)
            ours[os.path.basename(d["source"])] = d["detections"]
    total = matched = extra = missing_images = 0
    for name, entry in sorted(ref.items()):
        dets = ours.get(name)
        if dets is None:
            missing_images += 1
            total += len(entry["cls"])
            continue
        used = [False] * len(dets)
        for box, conf, cls in zip(entry["xyxy"], entry["conf"], entry["cls"]):
            total += 1
            best, best_iou = -1, 0.0
            for j, d in enumerate(dets):
                if used[j] or d["class"] != cls:
                    continue
                v = iou(d["box"], box)
                if v >= args.iou and abs(d["confidence"] - conf) <= args.conf and v > best_iou:
                    best, best_iou = j, v
            if best >= 0:
                used[best] = True
                matched += 1
        extra += used.count(False)
    rate, extra_rate = matched / max(total, 1), extra / max(total, 1)
    result = {"reference": os.path.basename(reference), "reference_boxes": total, "matched": matched,
              "matched_rate": round(rate, 5), "extra": extra, "extra_rate": round(extra_rate, 5),
              "images_missing": missing_images, "iou": args.iou, "conf": args.conf,
              "pass": rate >= args.matched and extra_rate <= args.extra}
    print(json.dumps(result))
    sys.exit(0 if result["pass"] else 1)


if __name__ == "__main__":
    main()
