#!/usr/bin/env python3
"""Runs processes in a private network namespace and forwards ports into it from the host's loopback.

Why: Tests/IntegrationTests/ShippedConfigTests.swift runs Config/mosquitto.conf and Config/bridge.yaml exactly as
shipped. Mosquitto's file says `listener 1883`, and Mosquitto has no way to change that from outside the file
(`-p` is ignored once a file has a listener; there is no variable substitution). In a network namespace of its own
the shipped ports are always free, whatever runs on the developer's machine, and nothing inside can disturb it.

How: the listening sockets on the host's 127.0.0.1 (ephemeral ports) are opened first; then this process moves
into a new network namespace (a socket keeps the namespace it was created in), brings `lo` up, starts the
processes there and forwards every connection accepted on the host side to 127.0.0.1:<port> inside. As root it
unshares only the network namespace; otherwise a user namespace too (Debian allows that unprivileged), with the
caller's own uid mapped so that programs do not believe they are root (Mosquitto would try to drop privileges).
Only the Python standard library is used.

Usage: private_network.py SPEC.json
  {"forward": {"mqtt": 1883, "wss": 8443},
   "processes": [{"name": "mosquitto", "argv": [...], "cwd": "...", "env": {...}, "output": "log path", "ready_port": 1883}]}
Output lines (stdout):
  UNAVAILABLE <reason>          no private network namespace can be made here (exit status 77)
  LISTEN <name> 127.0.0.1:<port> for each forward, then
  READY                         every process accepts connections on its ready_port
  EXITED <name> <status>        a process ended (status: exit code, or 128 + signal)
  FAILED <reason>               exit status 1
SIGTERM stops the processes in reverse order (SIGTERM, SIGKILL after 10 s), then this script exits 0.
"""

import asyncio
import ctypes
import fcntl
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
PR_SET_PDEATHSIG = 1

libc = ctypes.CDLL(None, use_errno=True)


def say(line):
    print(line, flush=True)


def enter_private_network():
    """Unshares the network namespace (and a user namespace when not root); brings loopback up."""
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNET if uid == 0 else CLONE_NEWUSER | CLONE_NEWNET
    if libc.unshare(flags) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"unshare({'CLONE_NEWNET' if uid == 0 else 'CLONE_NEWUSER|CLONE_NEWNET'}): {os.strerror(error)}")
    if uid != 0:
        with open("/proc/self/setgroups", "w") as file:
            file.write("deny")
        with open("/proc/self/uid_map", "w") as file:
            file.write(f"{uid} {uid} 1")
        with open("/proc/self/gid_map", "w") as file:
            file.write(f"{gid} {gid} 1")
    # ip link set lo up, without iproute2: SIOCGIFFLAGS / SIOCSIFFLAGS on any socket of the namespace.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as control:
        request = struct.pack("16sH14x", b"lo", 0)
        flags_now = struct.unpack("16sH14x", fcntl.ioctl(control, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(control, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags_now | IFF_UP))


def die_with_parent():
    """In each child: SIGKILL when this script dies, so nothing outlives a killed test."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def status_of(returncode):
    return 128 - returncode if returncode < 0 else returncode


def wait_until_accepting(port, process, name, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with status {status_of(process.returncode)} during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not accept connections on port {port} within {timeout} s")


async def pump(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


async def forward(listener, port):
    async def handle(client_reader, client_writer):
        try:
            inner_reader, inner_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pump(client_reader, inner_writer), pump(inner_reader, client_writer))
        client_writer.close()
        inner_writer.close()

    server = await asyncio.start_server(handle, sock=listener)
    await server.serve_forever()


async def supervise(processes, listeners, forwards):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    tasks = [asyncio.create_task(forward(listeners[name], port)) for name, port in forwards.items()]
    reported = set()
    while not stop.is_set():
        for name, process in processes:
            if name not in reported and process.poll() is not None:
                reported.add(name)
                say(f"EXITED {name} {status_of(process.returncode)}")
        try:
            await asyncio.wait_for(stop.wait(), 0.1)
        except asyncio.TimeoutError:
            pass
    for task in tasks:
        task.cancel()
    for name, process in reversed(processes):
        if process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, 10)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
        if name not in reported:
            say(f"EXITED {name} {status_of(process.returncode)}")


def main():
    with open(sys.argv[1]) as file:
        spec = json.load(file)
    forwards = spec["forward"]
    listeners = {}
    for name in forwards:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.setblocking(False)
        listeners[name] = listener

    try:
        enter_private_network()  # before any thread exists: unshare(CLONE_NEWUSER) requires a single thread
    except OSError as error:
        say(f"UNAVAILABLE cannot create a private network namespace here ({error}); on Ubuntu 23.10+ "
            "AppArmor restricts unprivileged user namespaces (sysctl kernel.apparmor_restrict_unprivileged_userns), "
            "in Docker the default seccomp profile forbids unshare")
        return 77

    processes = []
    try:
        for entry in spec["processes"]:
            output = open(entry["output"], "ab")
            process = subprocess.Popen(
                entry["argv"], cwd=entry.get("cwd"), env=entry.get("env"), stdin=subprocess.DEVNULL,
                stdout=output, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
            output.close()
            processes.append((entry["name"], process))
            if entry.get("ready_port"):
                wait_until_accepting(entry["ready_port"], process, entry["name"])
        for name, listener in listeners.items():
            say(f"LISTEN {name} 127.0.0.1:{listener.getsockname()[1]}")
        say("READY")
        asyncio.run(supervise(processes, listeners, forwards))
        return 0
    except (OSError, RuntimeError, KeyError) as error:
        say(f"FAILED {error}")
        for name, process in reversed(processes):
            if process.poll() is None:
                process.kill()
                process.wait()
            say(f"EXITED {name} {status_of(process.returncode)}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
