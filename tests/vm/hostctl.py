#!/usr/bin/env python3
"""Host side of the guest control port (see tests/vm/README.md).

Connects to QEMU's QMP socket and to the virtserialport "zpci.ctl" (a unix
socket chardev), reads one request per line from the guest and answers one
line per request:

  PING                 -> PONG
  DEVICE_DEL <id>      -> OK <id>        (QMP device_del accepted)
                          ERR <id> <why> (refused, e.g. unknown id)
  later, asynchronously: DELETED <id>    (QMP DEVICE_DELETED event)
  DEVICE_ADD <id>      -> OK <id> / ERR <id> <why>: plug <id> again with the
                          device_add specs given by --plug (in order)
  anything else        -> ERR ? unknown request

Every request and answer is logged (with time) to --log. Exits when QEMU
closes the sockets.
"""
import argparse
import json
import os
import select
import socket
import sys
import time

ID_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


def connect(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def parse_device(text):
    """'driver,k=v,...' -> QMP device_add arguments (typed values)."""
    parts = text.split(",")
    args = {"driver": parts[0]}
    for kv in parts[1:]:
        k, _, v = kv.partition("=")
        if v.isdigit():
            args[k] = int(v)
        elif v in ("on", "true"):
            args[k] = True
        elif v in ("off", "false"):
            args[k] = False
        else:
            args[k] = v
    return args


class Qmp:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.events = []
        self.next_id = 0
        self.recv_msg()  # greeting
        self.command("qmp_capabilities")

    def recv_msg(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("qmp closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def command(self, name, **args):
        self.next_id += 1
        msg = {"execute": name, "id": self.next_id}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self.recv_msg()
            if "event" in reply:
                self.events.append(reply)
            elif reply.get("id") == self.next_id:
                return reply

    def pending(self):
        """Read whatever is buffered without blocking; return events."""
        while True:
            r, _, _ = select.select([self.sock], [], [], 0)
            if not r and b"\n" not in self.buf:
                break
            msg = self.recv_msg()
            if "event" in msg:
                self.events.append(msg)
        ev, self.events = self.events, []
        return ev


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qmp", required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--connect-timeout", type=float, default=30)
    ap.add_argument("--plug", action="append", default=[],
                    help="ID=DRIVER,K=V,...[;DRIVER,K=V,...] for DEVICE_ADD")
    a = ap.parse_args()
    plugs = {}
    for spec in a.plug:
        dev, _, rest = spec.partition("=")
        plugs[dev] = [parse_device(d) for d in rest.split(";") if d]

    log = open(a.log, "a", buffering=1)
    t0 = time.monotonic()

    def note(msg):
        log.write("%8.3f %s\n" % (time.monotonic() - t0, msg))

    deadline = time.monotonic() + a.connect_timeout
    qmp = Qmp(connect(a.qmp, deadline))
    ctl = connect(a.ctl, deadline)
    note("connected")
    buf = b""

    def answer(text):
        note("-> " + text)
        ctl.sendall(text.encode() + b"\n")

    try:
        while True:
            r, _, _ = select.select([ctl, qmp.sock], [], [], 1.0)
            if qmp.sock in r or qmp.buf:
                for ev in qmp.pending():
                    note("event " + ev.get("event", "?"))
                    if ev.get("event") == "DEVICE_DELETED":
                        dev = ev.get("data", {}).get("device")
                        if dev:
                            answer("DELETED " + dev)
            if ctl not in r:
                continue
            data = ctl.recv(4096)
            if not data:
                break
            buf += data
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                req = raw.decode(errors="replace").strip()
                if not req:
                    continue
                note("<- " + req)
                parts = req.split()
                if parts == ["PING"]:
                    answer("PONG")
                elif len(parts) == 2 and parts[0] == "DEVICE_DEL":
                    dev = parts[1]
                    if not set(dev) <= ID_OK:
                        answer("ERR ? bad id")
                        continue
                    rep = qmp.command("device_del", id=dev)
                    if "error" in rep:
                        desc = rep["error"].get("desc", "error").replace("\n", " ")
                        answer("ERR %s %s" % (dev, desc))
                    else:
                        answer("OK " + dev)
                elif len(parts) == 2 and parts[0] == "DEVICE_ADD":
                    dev = parts[1]
                    if dev not in plugs:
                        answer("ERR %s no plug spec" % dev if set(dev) <= ID_OK
                               else "ERR ? bad id")
                        continue
                    err = None
                    for args in plugs[dev]:
                        rep = qmp.command("device_add", **args)
                        if "error" in rep:
                            err = rep["error"].get("desc", "error").replace("\n", " ")
                            break
                    answer("ERR %s %s" % (dev, err) if err else "OK " + dev)
                else:
                    answer("ERR ? unknown request")
    except (EOFError, ConnectionError, OSError) as e:
        note("closed: %s" % e)
    note("exit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
