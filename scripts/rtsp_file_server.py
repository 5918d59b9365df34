#!/usr/bin/env python3
"""A small RTSP server for the GPU machine, which has no FFmpeg and no RTSP server: it plays one H.264 Annex-B file
(e.g. `ffmpeg -i clip.mp4 -c:v copy -bsf:v h264_mp4toannexb -f h264 clip.h264`) in a loop, in real time, to every
client, as RTP over the RTSP connection (interleaved TCP, RFC 2326 10.12; H.264 payload RFC 6184: single NAL units
and FU-A fragments, packetization-mode 1). Enough for FFmpeg's RTSP client (Lookout's `--rtsp-transport tcp`): the
NVDEC reconnect check kills and restarts it.

usage: rtsp_file_server.py FILE.h264 [--port 8554] [--fps 30]   (serves rtsp://127.0.0.1:PORT/stream)
Python 3 standard library only.
"""
import argparse, base64, random, socket, struct, threading, time


def nal_units(data):
    """The NAL units of an Annex-B byte stream (start codes removed)."""
    units, i, n = [], 0, len(data)
    starts = []
    while i < n - 3:
        if data[i] == 0 and data[i + 1] == 0 and (data[i + 2] == 1 or (data[i + 2] == 0 and data[i + 3] == 1)):
            size = 3 if data[i + 2] == 1 else 4
            starts.append((i, i + size))
            i += size
        else:
            i += 1
    for k, (_, begin) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else n
        unit = data[begin:end].rstrip(b'\x00') if k + 1 < len(starts) else data[begin:end]
        if unit:
            units.append(unit)
    return units


def access_units(units):
    """Groups NAL units into pictures: a new picture starts at an AUD, SPS, PPS or SEI after a slice, or at a slice
    whose first_mb_in_slice is 0 (its first payload bit set)."""
    pictures, current, seen_slice = [], [], False
    for unit in units:
        kind = unit[0] & 0x1F
        starts = kind in (6, 7, 8, 9) and seen_slice or kind in (1, 5) and seen_slice and unit[1] & 0x80
        if starts:
            pictures.append(current)
            current, seen_slice = [], False
        current.append(unit)
        if kind in (1, 5):
            seen_slice = True
    if current:
        pictures.append(current)
    return pictures


class Session:
    def __init__(self, connection, pictures, sps, pps, fps, stop):
        self.connection, self.pictures, self.fps, self.stop = connection, pictures, fps, stop
        self.sps, self.pps = sps, pps
        self.playing = threading.Event()
        self.sequence = random.randrange(65536)
        self.ssrc = random.randrange(1 << 32)
        self.channel = 0
        self.lock = threading.Lock()

    def send(self, payload, timestamp, marker):
        header = struct.pack('!BBHII', 0x80, (0x80 if marker else 0) | 96, self.sequence, timestamp, self.ssrc)
        self.sequence = (self.sequence + 1) & 0xFFFF
        packet = header + payload
        with self.lock:
            self.connection.sendall(struct.pack('!BBH', 0x24, self.channel, len(packet)) + packet)

    def stream(self):
        self.playing.wait()
        start, frame = time.monotonic(), 0
        try:
            while not self.stop.is_set():
                units = self.pictures[frame % len(self.pictures)]
                timestamp = (frame * 90000 // self.fps) & 0xFFFFFFFF
                for k, unit in enumerate(units):
                    last = k == len(units) - 1
                    if len(unit) <= 1400:
                        self.send(unit, timestamp, last)
                        continue
                    indicator, kind, body = unit[0] & 0xE0 | 28, unit[0] & 0x1F, unit[1:]
                    for offset in range(0, len(body), 1400):
                        chunk = body[offset:offset + 1400]
                        first, end = offset == 0, offset + 1400 >= len(body)
                        header = bytes([indicator, (0x80 if first else 0) | (0x40 if end else 0) | kind])
                        self.send(header + chunk, timestamp, last and end)
                frame += 1
                delay = start + frame / self.fps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        except OSError:
            pass

    def serve(self, port):
        threading.Thread(target=self.stream, daemon=True).start()
        buffer = b''
        try:
            while not self.stop.is_set():
                data = self.connection.recv(65536)
                if not data:
                    break
                buffer += data
                while b'\r\n\r\n' in buffer:
                    head, buffer = buffer.split(b'\r\n\r\n', 1)
                    # Interleaved RTCP from the client may precede a request: skip '$' frames.
                    while head.startswith(b'$') and len(head) >= 4:
                        size = struct.unpack('!H', head[2:4])[0]
                        head = head[4 + size:]
                    self.answer(head.decode('latin-1'), port)
        except OSError:
            pass
        finally:
            self.stop.set()
            self.playing.set()
            try:
                self.connection.close()
            except OSError:
                pass

    def answer(self, request, port):
        lines = request.split('\r\n')
        method = lines[0].split(' ')[0]
        headers = {line.split(':', 1)[0].strip().lower(): line.split(':', 1)[1].strip() for line in lines[1:] if ':' in line}
        cseq = headers.get('cseq', '0')
        extra, body = '', ''
        if method == 'OPTIONS':
            extra = 'Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n'
        elif method == 'DESCRIBE':
            sets = base64.b64encode(self.sps).decode() + ',' + base64.b64encode(self.pps).decode()
            profile = self.sps[1:4].hex()
            body = ('v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=lookout\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n'
                    'm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n'
                    f'a=fmtp:96 packetization-mode=1;profile-level-id={profile};sprop-parameter-sets={sets}\r\n'
                    'a=control:track0\r\n')
            extra = f'Content-Base: rtsp://127.0.0.1:{port}/stream/\r\nContent-Type: application/sdp\r\n'
        elif method == 'SETUP':
            transport = headers.get('transport', '')
            if 'interleaved=' in transport:
                self.channel = int(transport.split('interleaved=')[1].split('-')[0].split(';')[0])
            else:
                self.reply(cseq, '461 Unsupported Transport', '', '')
                return
            extra = f'Transport: RTP/AVP/TCP;unicast;interleaved={self.channel}-{self.channel + 1}\r\nSession: 1\r\n'
        elif method == 'PLAY':
            extra = 'Session: 1\r\nRange: npt=0.000-\r\n'
            self.reply(cseq, '200 OK', extra, body)
            self.playing.set()
            return
        elif method == 'TEARDOWN':
            self.reply(cseq, '200 OK', 'Session: 1\r\n', '')
            raise OSError('teardown')
        self.reply(cseq, '200 OK', extra, body)

    def reply(self, cseq, status, extra, body):
        text = f'RTSP/1.0 {status}\r\nCSeq: {cseq}\r\n{extra}'
        if body:
            text += f'Content-Length: {len(body)}\r\n'
        with self.lock:
            self.connection.sendall((text + '\r\n' + body).encode('latin-1'))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('file')
    parser.add_argument('--port', type=int, default=8554)
    parser.add_argument('--fps', type=int, default=30)
    args = parser.parse_args()
    units = nal_units(open(args.file, 'rb').read())
    sps = next(u for u in units if u[0] & 0x1F == 7)
    pps = next(u for u in units if u[0] & 0x1F == 8)
    pictures = access_units(units)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(('127.0.0.1', args.port))
    listener.listen(64)
    print(f'rtsp://127.0.0.1:{args.port}/stream: {len(pictures)} pictures at {args.fps} fps', flush=True)
    while True:
        connection, _ = listener.accept()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = Session(connection, pictures, sps, pps, args.fps, threading.Event())
        threading.Thread(target=session.serve, args=(args.port,), daemon=True).start()


if __name__ == '__main__':
    main()
