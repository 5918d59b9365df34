#!/usr/bin/python3
"""A second real RTSP server for Lookout's live-stream tests, one that also does RTP over TCP (interleaved), which
RTSP::Server does not: the GStreamer RTSP server (Debian: gir1.2-gst-rtsp-server-1.0, python3-gi,
gstreamer1.0-plugins-good) serving an H.264 mp4 at rtsp://127.0.0.1:PORT/live in real time. Listens on 127.0.0.1.

usage: rtsp-test-server-gst.py PORT CLIP.mp4   (run with Debian's /usr/bin/python3, which has the gi bindings)
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
port, clip = sys.argv[1], sys.argv[2]
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
# qtdemux hands rtph264pay avc-format H.264 directly; config-interval repeats SPS/PPS so late joiners can decode.
factory.set_launch(f"( filesrc location={clip} ! qtdemux ! rtph264pay name=pay0 pt=96 config-interval=1 )")
factory.set_shared(True)
server.get_mount_points().add_factory("/live", factory)
if server.attach(None) == 0:
    sys.exit("cannot listen on 127.0.0.1:" + port)
print("listening", flush=True)
GLib.MainLoop().run()
