#!/usr/bin/env python3
"""Ultralytics' own tracking as the reference for `lookout track` (run where torch is: the GPU machine).

    python3 scripts/ultralytics_track_reference.py MODEL.onnx VIDEO OUT.jsonl [--tracker bytetrack.yaml] [--device cpu]

Runs `YOLO(MODEL).track(VIDEO, tracker='bytetrack.yaml', stream=True)` (conf 0.1, Ultralytics' track default) and
writes one line per frame: {"frame": i, "tracks": [[x1, y1, x2, y2, id, score, cls], ...]} — the boxes as
`results.boxes` reports them (the tracks' Kalman boxes). Set up Ultralytics offline as shared/wheels/README.md says
(PYTHONPATH with the wheel and its stub, YOLO_OFFLINE=1). Compare with:

    lookout track VIDEO --model MODEL.onnx --device cpu --json lookout.jsonl
    python3 scripts/oracle/compare_tracks.py lookout.jsonl OUT.jsonl --gt VIDEO.gt.jsonl
"""
import argparse
import json


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("video")
    parser.add_argument("out")
    parser.add_argument("--tracker", default="bytetrack.yaml")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    from ultralytics import YOLO

    model = YOLO(args.model, task="detect")
    with open(args.out, "w") as f:
        for i, result in enumerate(model.track(args.video, tracker=args.tracker, stream=True, verbose=False,
                                               device=args.device)):
            boxes = result.boxes
            rows = []
            if boxes is not None and boxes.id is not None:
                for xyxy, track_id, conf, cls in zip(boxes.xyxy.tolist(), boxes.id.tolist(), boxes.conf.tolist(),
                                                     boxes.cls.tolist()):
                    rows.append([round(v, 3) for v in xyxy] + [int(track_id), round(conf, 5), int(cls)])
            f.write(json.dumps({"frame": i, "tracks": rows}) + "\n")


if __name__ == "__main__":
    main()
