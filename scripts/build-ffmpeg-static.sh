#!/usr/bin/env bash
# Builds a small static FFmpeg from Debian's own 5.1 source package (the version the shared libav* headers and
# libraries here are) into .ffmpeg-static/, with only what Lookout uses: the demuxers, parsers, decoders and
# protocols of its sources, and the MPEG-4 encoder and mp4 muxer of --save-video. The GPU machine has no FFmpeg;
# a binary built with
#     bash scripts/build-ffmpeg-static.sh && LOOKOUT_STATIC_LIBS=1 swift build -c release --static-swift-stdlib
# links these archives and needs only libc, libm and libstdc++ there (see docs/streaming.md).
#
# Needs root (apt-get), the network to Debian's mirrors, and a few minutes on two cores. Re-running is a no-op
# once .ffmpeg-static/lib/libavformat.a exists (delete the folder to rebuild).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
prefix="$root/.ffmpeg-static"
work="$root/.build-ffmpeg"
if [ -f "$prefix/lib/libavformat.a" ]; then
    echo "static FFmpeg already in $prefix"
    exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

# deb-src lines, so that `apt-get source` can find the package (deb822 or one-line format).
if ! grep -qsr '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        $sudo sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources
    else
        grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' | $sudo tee /etc/apt/sources.list.d/lookout-deb-src.list >/dev/null
    fi
fi
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dpkg-dev build-essential nasm pkg-config zlib1g-dev >/dev/null

mkdir -p "$work"
cd "$work"
if ! ls -d ffmpeg-5.1*/ >/dev/null 2>&1; then
    apt-get source -qq ffmpeg
fi
src=$(ls -d ffmpeg-5.1*/ | head -1)
cd "$src"

# Everything off, then exactly Lookout's set. --disable-autodetect keeps out the X11/VAAPI/VDPAU/... libraries
# Debian's build links, so the archives need only zlib, libm and pthreads.
./configure \
    --prefix="$prefix" --enable-static --disable-shared --enable-pic \
    --disable-programs --disable-doc --disable-debug --disable-autodetect --disable-everything \
    --disable-avdevice --disable-avfilter --disable-postproc --disable-swresample \
    --enable-avformat --enable-avcodec --enable-swscale --enable-zlib --enable-network --enable-pthreads \
    --enable-protocol=file,pipe,tcp,udp,rtp,http,httpproxy,hls,data \
    --enable-demuxer=mov,matroska,avi,flv,mpegts,mpegps,h264,hevc,m4v,mjpeg,rtsp,sdp,rtp,hls,image2 \
    --enable-parser=h264,hevc,mpeg4video,mjpeg,aac \
    --enable-decoder=h264,hevc,mpeg4,mjpeg,vp8,vp9 \
    --enable-encoder=mpeg4 \
    --enable-muxer=mp4,mov \
    --enable-bsf=h264_mp4toannexb,hevc_mp4toannexb,extract_extradata,vp9_superframe_split \
    >"$work/configure.log"
make -j"$(nproc)" >"$work/make.log" 2>&1
make install >>"$work/make.log" 2>&1
echo "static FFmpeg $(basename "$src") in $prefix:"
ls "$prefix/lib"/*.a
