#!/usr/bin/env bash
# Builds a throwaway package that depends on this one by path and uses its one library product, `Lookout`: proof
# that the package works as a dependency (no unsafeFlags error: Package.swift adds none unless LOOKOUT_DEV_FLAGS or
# LOOKOUT_STATIC_LIBS is set). Usage: bash scripts/check-as-dependency.sh [WORKDIR]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/lookout-dependency-XXXXXX)}
unset LOOKOUT_DEV_FLAGS LOOKOUT_STATIC_LIBS
# A path dependency is known by its folder's name.
identity=$(basename "$repo" | tr '[:upper:]' '[:lower:]')
mkdir -p "$work/Sources/App"
cat > "$work/Package.swift" <<MANIFEST
// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "App",
    dependencies: [.package(path: "$repo")],
    targets: [.executableTarget(name: "App", dependencies: [.product(name: "Lookout", package: "$identity")])]
)
MANIFEST
cat > "$work/Sources/App/main.swift" <<'SWIFT'
import Lookout

let detector = try Detector(model: DetectionModel(path: CommandLine.arguments[1]), device: .cpu)
let image = try ImageDecoder.decode(file: CommandLine.arguments[2])
print(try detector.detect(image).detections.count, "objects")
SWIFT
cd "$work"
swift build 2>&1 | tail -3
swift run App "$repo/Models/shapes-yolov8n.onnx" "$repo/Models/sample.jpg"
