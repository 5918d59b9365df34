#!/usr/bin/env python3
"""Decodes images with cv2.imread (as Ultralytics does) into NAME.WxH.bgr raw frames for `lookout selftest --gpu
--raw-images`, which letterboxes them on the GPU and on the CPU and compares."""
import os
import sys

import cv2

source, target = sys.argv[1], sys.argv[2]
os.makedirs(target, exist_ok=True)
count = 0
for name in sorted(os.listdir(source)):
    image = cv2.imread(os.path.join(source, name), cv2.IMREAD_COLOR)
    if image is None:
        continue
    h, w = image.shape[:2]
    image.tofile(os.path.join(target, f"{os.path.splitext(name)[0]}.{w}x{h}.bgr"))
    count += 1
print(f"{count} images -> {target}")
