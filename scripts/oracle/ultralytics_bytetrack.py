#!/usr/bin/env python3
"""Ultralytics' own BYTETracker as an oracle for Lookout's tracker, without torch.

Ultralytics' tracker needs only NumPy and `lap`, but its package imports torch on the way in. This loads the real
`ultralytics/trackers/byte_tracker.py` (and its kalman_filter, matching, stracks, basetrack) from an unpacked
Ultralytics wheel, giving it stand-ins for the two package `__init__`s it would otherwise run and taking the two
helpers it needs from Ultralytics' own source files (`xywh2ltwh` from utils/ops.py, `bbox_ioa` from utils/metrics.py,
extracted with `ast`): the tracking code that runs is Ultralytics' own, unmodified.

  detections mode: python3 ultralytics_bytetrack.py --ultralytics DIR --detections dets.jsonl --out tracks.jsonl
  video mode:      python3 ultralytics_bytetrack.py --ultralytics DIR --video clip.mp4 --model m.onnx \
                       --reference ../shared/reference --detections-out dets.jsonl --out tracks.jsonl

DIR holds the `ultralytics` package (e.g. `pip install --no-deps --target DIR ultralytics-8.4.190-*.whl`). Video mode
runs what `model.track(video, tracker='bytetrack.yaml')` runs with an ONNX model: frames from cv2.VideoCapture, the
NumPy mirror of Ultralytics' predict numerics (`--reference`, ref_yolo_ultralytics.py) through onnxruntime at conf 0.1
(model.track's default), and BYTETracker with bytetrack.yaml. Needs numpy, lap, pyyaml (and cv2, onnxruntime for
video mode).

Detections JSONL: {"frame": i, "detections": [[x1, y1, x2, y2, conf, cls], ...]} (original pixels).
Tracks JSONL:     {"frame": i, "tracks": [[x1, y1, x2, y2, id, score, cls, idx], ...]} (BYTETracker.update's rows).
"""
import argparse
import ast
import json
import logging
import os
import sys
import types

import numpy as np


def functions_from(path, names, namespace):
    """Executes only the top-level functions `names` of the Python file `path` in `namespace`."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    wanted = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in names]
    missing = set(names) - {node.name for node in wanted}
    if missing:
        raise SystemExit(f"{path}: no function {sorted(missing)}")
    exec(compile(ast.Module(body=wanted, type_ignores=[]), path, "exec"), namespace)


def load_bytetracker(root):
    package = os.path.join(root, "ultralytics")
    if not os.path.isdir(package):
        raise SystemExit(f"{root}: no ultralytics package here")

    def stand_in(name, path=None):
        module = types.ModuleType(name)
        if path:
            module.__path__ = [path]
        sys.modules[name] = module
        return module

    stand_in("ultralytics", package)
    utils = stand_in("ultralytics.utils", os.path.join(package, "utils"))
    utils.LOGGER = logging.getLogger("ultralytics")
    stand_in("ultralytics.trackers", os.path.join(package, "trackers"))
    stand_in("ultralytics.trackers.utils", os.path.join(package, "trackers", "utils"))
    torch = types.ModuleType("torch")  # only for `isinstance(x, torch.Tensor)` checks: nothing here is a tensor
    torch.Tensor = type("Tensor", (), {})
    ops = stand_in("ultralytics.utils.ops")
    ops.__dict__.update(np=np, torch=torch)
    functions_from(os.path.join(package, "utils", "ops.py"), ["xywh2ltwh"], ops.__dict__)
    metrics = stand_in("ultralytics.utils.metrics")
    metrics.__dict__.update(np=np, torch=torch)
    functions_from(os.path.join(package, "utils", "metrics.py"), ["bbox_ioa"], metrics.__dict__)
    metrics.batch_probiou = None  # oriented boxes only
    import importlib

    module = importlib.import_module("ultralytics.trackers.byte_tracker")
    import yaml

    config = yaml.safe_load(open(os.path.join(package, "cfg", "trackers", "bytetrack.yaml"), encoding="utf-8"))
    return module.BYTETracker, types.SimpleNamespace(**config)


class Boxes:
    """What BYTETracker.update reads of Ultralytics' Boxes after .cpu().numpy(): conf, cls, xywh, masks."""

    def __init__(self, rows):
        rows = np.asarray(rows, np.float32).reshape(-1, 6)
        self.data = rows
        self.xyxy = rows[:, :4]
        self.conf = rows[:, 4]
        self.cls = rows[:, 5]
        x1, y1, x2, y2 = self.xyxy.T  # xyxy2xywh in float32, as torch computes it
        self.xywh = np.stack([(x1 + x2) / np.float32(2), (y1 + y2) / np.float32(2), x2 - x1, y2 - y1], 1)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, mask):
        return Boxes(self.data[mask])


def track(tracker, frames, out):
    with open(out, "w") as f:
        for frame, rows in frames:
            result = tracker.update(Boxes(rows), None)
            tracks = [[float(v) for v in row[:4]] + [int(row[4]), float(row[5]), int(row[6]), int(row[7])]
                      for row in result]
            f.write(json.dumps({"frame": frame, "tracks": tracks}) + "\n")


def video_detections(video, model, reference):
    sys.path.insert(0, reference)
    import cv2
    import onnxruntime
    import ref_yolo_ultralytics as ref

    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    capture = cv2.VideoCapture(video)
    frame = 0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        det, _, _ = ref.predict(session, image, conf=0.1, iou=0.7)
        yield frame, [[float(v) for v in row[:5]] + [int(row[5])] for row in det]
        frame += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ultralytics", required=True)
    parser.add_argument("--detections")
    parser.add_argument("--video")
    parser.add_argument("--model")
    parser.add_argument("--reference")
    parser.add_argument("--detections-out")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    tracker_class, config = load_bytetracker(args.ultralytics)
    tracker = tracker_class(config)
    if args.detections:
        frames = [(entry["frame"], entry["detections"]) for entry in map(json.loads, open(args.detections))]
    else:
        frames = list(video_detections(args.video, args.model, args.reference))
        if args.detections_out:
            with open(args.detections_out, "w") as f:
                for frame, rows in frames:
                    f.write(json.dumps({"frame": frame, "detections": rows}) + "\n")
    track(tracker, frames, args.out)


if __name__ == "__main__":
    main()
