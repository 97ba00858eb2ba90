#!/usr/bin/env python3
"""Hostile and slow peers for Benchmarks/soak: raw sockets, so they can do what well-behaved clients never do.

  slow-consumer  subscribes to soak-flood/# over wss, then stops reading (tiny receive buffer) for --seconds, then
                 reads what was held back (at most --seconds more)
  slowloris      --count TLS connections that half-send an upgrade request, one more header line every 5 s
  ping-flood     --flooders upgraded MQTT sessions that send WebSocket pings as fast as they can, never reading pongs
  trickle        an upgraded MQTT session that announces a 16 MiB binary frame and trickles it at 64 KiB/s
  trickle-publish  --count sessions, each announcing a 16 MiB binary frame whose payload starts with a valid PUBLISH
                 header (1 MiB, within max_packet_size), then sending one byte of it every --interval seconds

Each prints one JSON line: what it did and what the bridge did to it (closed it, when). Loopback only; every wait
has a deadline (--seconds). Exit status 0 unless the bridge could not be reached at all.
"""
import argparse
import base64
import json
import os
import selectors
import socket
import ssl
import struct
import sys
import threading
import time
import weakref


def tls_context(ca):
    context = ssl.create_default_context(cafile=ca)
    return context


def connect(port, context, receive_buffer=None, timeout=10.0):
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    raw.settimeout(timeout)
    raw.connect(("127.0.0.1", port))
    return context.wrap_socket(raw, server_hostname="localhost")


def upgrade_request(path="/wss"):
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def frame(opcode, payload, announced=None):
    """A masked client frame; `announced` overrides the length in the header (for a frame sent in pieces)."""
    length = len(payload) if announced is None else announced
    header = bytes([0x80 | opcode])
    if length < 126:
        header += bytes([0x80 | length])
    elif length < 65536:
        header += bytes([0x80 | 126]) + struct.pack("!H", length)
    else:
        header += bytes([0x80 | 127]) + struct.pack("!Q", length)
    mask = os.urandom(4)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_response_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the upgrade")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head.split(b"\r\n")[0].decode(errors="replace"))
    return rest


def mqtt_connect(client_id, keepalive=60):
    body = b"\x00\x04MQTT\x04\x02" + struct.pack("!H", keepalive) + struct.pack("!H", len(client_id)) + client_id.encode()
    return bytes([0x10, len(body)]) + body


def mqtt_subscribe(topic):
    body = b"\x00\x01" + struct.pack("!H", len(topic)) + topic.encode() + b"\x00"
    return bytes([0x82, len(body)]) + body


def read_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed by the bridge")
        data += chunk
    return data


def read_frame(sock):
    """One whole (short, unmasked) server frame: its payload. Reads no byte beyond it, so the stream stays aligned for
    ServerFrames."""
    head = read_exactly(sock, 2)
    length = head[1] & 0x7F
    if length >= 126:
        length = int.from_bytes(read_exactly(sock, 2 if length == 126 else 8), "big")
    return read_exactly(sock, length)


class ServerFrames:
    """Follows the server's frame headers through a byte stream read in arbitrary chunks, so that a close frame is told
    from payload bytes that happen to be 0x88 (pong payloads, binary MQTT data). The stream must start at a frame."""

    def __init__(self):
        self.header = b""
        self.payload_left = 0

    def sees_close(self, data):
        at = 0
        while at < len(data):
            if self.payload_left:
                taken = min(self.payload_left, len(data) - at)
                self.payload_left -= taken
                at += taken
                continue
            self.header += data[at:at + 1]
            at += 1
            if len(self.header) < 2:
                continue
            length = self.header[1] & 0x7F
            needed = 2 + {126: 2, 127: 8}.get(length, 0) + (4 if self.header[1] & 0x80 else 0)
            if len(self.header) < needed:
                continue
            if self.header[0] & 0x0F == 0x8:
                return True
            if length >= 126:
                length = int.from_bytes(self.header[2:4] if length == 126 else self.header[2:10], "big")
            self.header, self.payload_left = b"", length
        return False


# Each session's position in the server's frames, across reads (sockets are weakly referenced, so closed ones leave).
SERVER_FRAMES = weakref.WeakKeyDictionary()


def open_session(port, context, client_id, receive_buffer=None, keepalive=60):
    """TLS, upgrade, CONNECT; returns the socket once the CONNACK frame has arrived (and nothing after it)."""
    sock = connect(port, context, receive_buffer)
    sock.sendall(upgrade_request())
    read_response_head(sock)
    sock.sendall(frame(0x2, mqtt_connect(client_id, keepalive)))
    read_frame(sock)  # the CONNACK (4 bytes of MQTT in a 6-byte frame)
    SERVER_FRAMES[sock] = ServerFrames()
    return sock


def read_until_quiet(sock, quiet, limit=60.0):
    """Reads until nothing arrives for `quiet` seconds, the bridge closes the connection (EOF, reset, or a close
    frame), or `limit` seconds pass: (bytes read, whether the bridge closed it)."""
    deadline = time.monotonic() + limit
    received = 0
    try:
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(min(quiet, left))
            data = sock.recv(65536)
            if not data or SERVER_FRAMES[sock].sees_close(data):
                return received, True
            received += len(data)
    except (socket.timeout, TimeoutError):
        pass
    except (ConnectionError, ssl.SSLError, OSError):
        return received, True
    return received, False


def closed_by_peer(sock, wait):
    """True when the bridge closed the connection within `wait` seconds of quiet (at most 60 s while data flows)."""
    return read_until_quiet(sock, wait)[1]


def slow_consumer(args, context):
    sock = open_session(args.port, context, "soak-slow-consumer", receive_buffer=4096)
    sock.sendall(frame(0x2, mqtt_subscribe("soak-flood/#")))
    suback = read_frame(sock)
    started = time.monotonic()
    if args.ready_file:
        open(args.ready_file, "w").close()
    time.sleep(args.seconds)  # the point: read nothing
    # Then read what was held back (from the broker: the bridge stopped reading the session's upstream) until a
    # second passes without data, or --seconds: was the session still there, and did it work again?
    resumed = time.monotonic()
    backlog, closed = read_until_quiet(sock, 1.0, limit=args.seconds)
    sock.close()
    return {"subscribed": len(suback) > 0, "stopped_reading_s": round(resumed - started, 1), "closed_by_bridge": closed,
            "backlog_bytes_read": backlog, "backlog_read_s": round(time.monotonic() - resumed, 1)}


def watch_until_closed(sockets, seconds, started, close_code, tick_every, tick):
    """Waits (at most `seconds`) until the bridge has closed every socket in `sockets`, calling `tick(socket)` for each
    one still open every `tick_every` seconds. `close_code(data)` names how a read shows the bridge closed it (b"" is
    end of stream), or is None for data that does not. Closes what is left; returns (close times from `started`,
    count per close code)."""
    selector = selectors.DefaultSelector()
    for sock in sockets:
        selector.register(sock, selectors.EVENT_READ)
    close_times, close_codes = [], {}
    deadline, next_tick = time.monotonic() + seconds, time.monotonic() + tick_every
    while time.monotonic() < deadline and len(close_times) < len(sockets):
        for key, _ in selector.select(timeout=min(0.5, tick_every)):
            sock = key.fileobj
            try:
                data = sock.recv(4096)
            except ssl.SSLWantReadError:
                continue
            except (OSError, ssl.SSLError):
                data = b""
            code = close_code(data)
            if code is None:
                continue
            close_codes[code] = close_codes.get(code, 0) + 1
            selector.unregister(sock)
            sock.close()
            close_times.append(time.monotonic() - started)
        if time.monotonic() >= next_tick:
            next_tick += tick_every
            for key in list(selector.get_map().values()):
                tick(key.fileobj)
    for key in list(selector.get_map().values()):
        key.fileobj.close()
    close_times.sort()
    return close_times, close_codes


def median(values):
    return round(values[len(values) // 2], 1) if values else None


def slowloris(args, context):
    sockets, failed = [], 0
    started = time.monotonic()
    partial = upgrade_request()[:40]  # the request line and part of Host: never the blank line
    for _ in range(args.count):
        try:
            sock = connect(args.port, context, timeout=5.0)
            sock.sendall(partial)
            sock.setblocking(False)
            sockets.append(sock)
        except (OSError, ssl.SSLError):
            failed += 1
    opened = time.monotonic() - started
    if args.ready_file:
        open(args.ready_file, "w").close()
    def close_code(data):
        return "closed" if not data or data.startswith(b"HTTP/1.1 4") or data.startswith(b"HTTP/1.1 5") else None

    def one_more_byte(sock):
        try:
            sock.send(b"X")  # one more byte of the header, never the end
        except (OSError, ssl.SSLError):
            pass

    close_times, _ = watch_until_closed(sockets, args.seconds, started, close_code, 5, one_more_byte)
    return {
        "requested": args.count, "opened": len(sockets), "failed_to_open": failed, "open_seconds": round(opened, 1),
        "closed_by_bridge": len(close_times), "still_open_after_s": args.seconds,
        "still_open": len(sockets) - len(close_times), "median_close_s": median(close_times),
    }


def ping_flood(args, context):
    """--flooders sessions at once, each sending pings as fast as the socket takes them and never reading the pongs."""
    results = [None] * args.flooders
    ready = threading.Barrier(args.flooders + 1)

    def flood(index):
        try:
            sock = open_session(args.port, context, "soak-ping-flood-%d" % index, receive_buffer=4096)
        except (OSError, ssl.SSLError) as error:
            results[index] = {"error": str(error)}
            ready.wait()
            return
        ping = frame(0x9, b"soak")
        ready.wait()
        started, sent, closed = time.monotonic(), 0, False
        sock.settimeout(1.0)
        burst = ping * 256
        while time.monotonic() - started < args.seconds:
            try:
                sock.sendall(burst)
                sent += 256
            except (socket.timeout, TimeoutError):
                continue  # the bridge stopped reading: it applies backpressure; keep trying until the deadline
            except (OSError, ssl.SSLError):
                closed = True
                break
        elapsed = time.monotonic() - started
        if not closed:
            closed = closed_by_peer(sock, 1.0)
        sock.close()
        results[index] = {"sent": sent, "seconds": elapsed, "closed": closed}

    threads = [threading.Thread(target=flood, args=(index,), daemon=True) for index in range(args.flooders)]
    for thread in threads:
        thread.start()
    ready.wait()
    if args.ready_file:
        open(args.ready_file, "w").close()
    for thread in threads:
        thread.join(args.seconds + 30)
    done = [result for result in results if result and "error" not in result]
    return {
        "flooders": args.flooders, "opened": len(done), "pings_sent": sum(r["sent"] for r in done),
        "closed_by_bridge": sum(1 for r in done if r["closed"]),
        "longest_flood_s": round(max((r["seconds"] for r in done), default=0), 1),
    }


def trickle(args, context):
    sock = open_session(args.port, context, "soak-trickle")
    size = 16 * 1024 * 1024
    sock.sendall(frame(0x2, b"", announced=size))  # the header and mask key, no payload yet
    if args.ready_file:
        open(args.ready_file, "w").close()
    started, sent, closed = time.monotonic(), 0, False
    chunk = os.urandom(64 * 1024)  # the mask key was sent; any bytes are a valid (masked) payload
    while time.monotonic() - started < args.seconds and sent < size:
        try:
            sock.sendall(chunk)
            sent += len(chunk)
        except (OSError, ssl.SSLError):
            closed = True
            break
        if closed_by_peer(sock, 1.0):
            closed = True
            break
    elapsed = time.monotonic() - started
    sock.close()
    return {"announced": size, "bytes_sent": sent, "seconds": round(elapsed, 1), "closed_by_bridge": closed}


def mqtt_publish_header(topic, remaining_length):
    """A QoS 0 PUBLISH fixed header announcing `remaining_length`, and its topic: the start of a valid packet."""
    encoded, value = b"", remaining_length
    while True:
        digit, value = value % 128, value // 128
        encoded += bytes([digit | (0x80 if value else 0)])
        if not value:
            break
    return b"\x30" + encoded + struct.pack("!H", len(topic)) + topic.encode()


def trickle_publish(args, context):
    """Many sessions, each one byte at a time into a 16 MiB frame holding a 1 MiB PUBLISH: who closes them, when."""
    frame_size, publish_size = 16 * 1024 * 1024, 1024 * 1024
    sockets, failed = [], 0
    started = time.monotonic()
    for index in range(args.count):
        try:
            sock = open_session(args.port, context, "soak-trickle-%d" % index, keepalive=args.keepalive)
            mask = os.urandom(4)
            start = mqtt_publish_header("soak/trickle/%d" % index, publish_size)
            header = bytes([0x82, 0x80 | 127]) + struct.pack("!Q", frame_size) + mask
            sock.sendall(header + bytes(b ^ mask[i % 4] for i, b in enumerate(start)))
            sock.setblocking(False)
            sockets.append((sock, mask, len(start)))
        except (OSError, ssl.SSLError):
            failed += 1
    opened = time.monotonic() - started
    if args.ready_file:
        open(args.ready_file, "w").close()
    states = {sock: [mask, offset] for sock, mask, offset in sockets}
    sent = [0]

    def close_code(data):
        if data[:1] == b"\x88" and len(data) >= 4:
            return str(struct.unpack("!H", data[2:4])[0])
        return "eof" if not data else None  # anything else (there is nothing else to expect) is ignored

    def next_byte(sock):
        mask, offset = states[sock]
        try:
            sock.send(bytes([0x41 ^ mask[offset % 4]]))
            states[sock][1] = offset + 1
            sent[0] += 1
        except (OSError, ssl.SSLError):  # a full send buffer included: the next tick tries again
            pass

    close_times, close_codes = watch_until_closed(
        [sock for sock, _, _ in sockets], args.seconds, started, close_code, args.interval, next_byte)
    return {
        "requested": args.count, "opened": len(sockets), "failed_to_open": failed, "open_seconds": round(opened, 1),
        "interval_s": args.interval, "trickled_bytes": sent[0], "closed_by_bridge": len(close_times),
        "close_codes": close_codes, "still_open_after_s": args.seconds, "still_open": len(sockets) - len(close_times),
        "median_close_s": median(close_times),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["slow-consumer", "slowloris", "ping-flood", "trickle", "trickle-publish"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--flooders", type=int, default=1, help="ping-flood: sessions flooding at once")
    parser.add_argument("--keepalive", type=int, default=60, help="trickle-publish: the CONNECT's keepalive (s)")
    parser.add_argument("--interval", type=float, default=5, help="trickle-publish: seconds between bytes")
    parser.add_argument("--ready-file")
    args = parser.parse_args()
    context = tls_context(args.ca)
    run = {"slow-consumer": slow_consumer, "slowloris": slowloris, "ping-flood": ping_flood, "trickle": trickle,
           "trickle-publish": trickle_publish}
    try:
        print(json.dumps({"kind": args.kind, **run[args.kind](args, context)}))
    except (OSError, ssl.SSLError) as error:
        print(json.dumps({"kind": args.kind, "error": str(error)}))
        sys.exit(1)


if __name__ == "__main__":
    main()
