#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Minimal ivshmem server for ivshmem-doorbell functions (tests/e2e).

Used only while the test QEMU's ivshmem-plain has no MSI-X of its own:
ivshmem-doorbell carries MSI-X (stock QEMU in L1 refuses a zPCI function
without it) but takes its shared memory from a server. Protocol (QEMU
docs/specs/ivshmem-spec.rst): to every client, int64 protocol version 0,
int64 client id, then int64 -1 carrying the shm file descriptor. No peers,
no doorbells. Serves SOCKET=SHMFILE pairs until killed.
"""
import os
import selectors
import socket
import struct
import sys


def main():
    sel = selectors.DefaultSelector()
    shm = {}
    for arg in sys.argv[1:]:
        path, _, shmfile = arg.partition("=")
        if not shmfile:
            sys.exit("usage: ivshmem_server.py SOCKET=SHMFILE...")
        if os.path.exists(path):
            os.unlink(path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(4)
        shm[s.fileno()] = os.open(shmfile, os.O_RDWR)
        sel.register(s, selectors.EVENT_READ)
    clients = []
    next_id = 1
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            conn, _ = sock.accept()
            conn.sendall(struct.pack("<q", 0))
            conn.sendall(struct.pack("<q", next_id))
            socket.send_fds(conn, [struct.pack("<q", -1)], [shm[sock.fileno()]])
            next_id += 1
            clients.append(conn)   # keep the connection open


if __name__ == "__main__":
    main()
