#!/usr/bin/env bash
# Regenerates the inference server's gRPC code from Protos/inference.proto (docs/inference-server.md):
#   bash scripts/generate-grpc.sh
# into Sources/LookoutServer/Inference/GRPC/Generated/ (inference.pb.swift: the messages; inference.grpc.swift: the
# service, server side only). The output is committed, so builds need neither protoc nor the build plugins.
# Needs protoc (Debian: apt-get install protobuf-compiler). The two protoc plugins are built once from the versions
# Package.swift uses (swift-protobuf 1.39.0, grpc-swift-protobuf 2.4.1) into $GRPC_GEN_TOOLS (default
# .build/grpc-gen-tools); PROTOC_GEN_SWIFT and PROTOC_GEN_GRPC_SWIFT name already-built plugins instead. Both
# generators mark their files `swift-format-ignore-file`.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT_PROTOBUF_VERSION=1.39.0
GRPC_SWIFT_PROTOBUF_VERSION=2.4.1
tools=${GRPC_GEN_TOOLS:-$PWD/.build/grpc-gen-tools}
out=Sources/LookoutServer/Inference/GRPC/Generated

if ! command -v protoc >/dev/null; then
    echo "generate-grpc: no protoc (apt-get install protobuf-compiler)" >&2
    exit 2
fi

# Clones OWNER/NAME at TAG into $tools and builds PRODUCT; prints the executable's path.
build_plugin() {
    local repo=$1 tag=$2 product=$3
    local dir="$tools/$(basename "$repo")-$tag"
    if [ ! -d "$dir" ]; then
        mkdir -p "$tools"
        git clone -q --branch "$tag" --depth 1 "https://github.com/$repo" "$dir" >&2
    fi
    (cd "$dir" && swift build -c release --product "$product" >&2)
    echo "$dir/.build/release/$product"
}

gen_swift=${PROTOC_GEN_SWIFT:-$(build_plugin apple/swift-protobuf "$SWIFT_PROTOBUF_VERSION" protoc-gen-swift)}
gen_grpc=${PROTOC_GEN_GRPC_SWIFT:-$(build_plugin grpc/grpc-swift-protobuf "$GRPC_SWIFT_PROTOBUF_VERSION" protoc-gen-grpc-swift-2)}

mkdir -p "$out"
protoc --proto_path=Protos \
    --plugin=protoc-gen-swift="$gen_swift" --swift_out="$out" --swift_opt=Visibility=Internal \
    --plugin=protoc-gen-grpc-swift-2="$gen_grpc" --grpc-swift-2_out="$out" \
    --grpc-swift-2_opt=Visibility=Internal,Server=true,Client=false \
    Protos/inference.proto
echo "generate-grpc: wrote $out/inference.pb.swift and $out/inference.grpc.swift"
