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
  FAULT <id> busy <N> [recover]
  FAULT <id> inval <N> [recover]
  FAULT <id> error <N> <status> [recover]
  FAULT <id> errevent <N> <pec>
  FAULT <id> clear     -> OK <id> / ERR <id> <why>: the next N PCILG/PCISTG/
                          PCISTB to a BAR of <id> end with cc 2 / cc 3 /
                          cc 1 + status without running ("recover": then a
                          recovery as below); errevent: N-1 run, the Nth
                          finds <id> in the error state (RECOVER <id> <pec>
                          at that moment, <pec> decimal, an error event);
                          clear drops what is left
  RECOVER <id> [<pec>] -> OK <id> fh=0x...: <id> gets a new function handle
                          and the guest an event carrying it: pec 0x03xx
                          (default 0x0302) an availability event (Linux
                          stores the handle), else an error event and <id>
                          enters the error state (Linux's error recovery)
  FAULT_STATUS <id>    -> OK <id> kind=.. left=N status=S recover=0|1 hits=H
                          recoveries=R fh=0x........ state=enabled|error|..
  CHECK <id> <tag> <offset> <hex>
                       -> OK <id> <len> <wrong>: compares the bytes (hex)
                          with <id>'s RAM BAR file (--shm) at <offset>;
                          <wrong> bytes differ; one JSON line per CHECK in
                          --check-log (tests/soak); ERR <id> <why> otherwise
  ISM_STATS <tag>      -> OK <tag> / ERR <tag> <why>: the QOM property
                          "ism-stats" (JSON) of every ISM model function
                          given by --ism (device ids), written to
                          --stats-dir/ism-stats-<tag>.json as one object
                          {id: stats} (tests/ism/run.sh)
  anything else        -> ERR ? unknown request

FAULT/RECOVER/FAULT_STATUS use QMP qom-set/qom-get on the property
"test-fault" of the zpci device with id "zpci-<id>" (test QEMU patch only).

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


FAULT_KINDS = {"busy": 0, "inval": 0, "error": 1, "errevent": 1}   # extra numeric args


def fault_spec(parts):
    """FAULT request words after the id -> the test-fault property value,
    or None when malformed."""
    if parts == ["clear"]:
        return "clear"
    if not parts or parts[0] not in FAULT_KINDS:
        return None
    nargs = 1 + FAULT_KINDS[parts[0]]
    nums = parts[1:1 + nargs]
    rest = parts[1 + nargs:]
    if len(nums) != nargs or not all(n.isdigit() for n in nums):
        return None
    if rest not in ([], ["recover"]) or (parts[0] == "errevent" and rest):
        return None
    return ":".join([parts[0]] + nums + rest)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qmp", required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--connect-timeout", type=float, default=30)
    ap.add_argument("--plug", action="append", default=[],
                    help="ID=DRIVER,K=V,...[;DRIVER,K=V,...] for DEVICE_ADD")
    ap.add_argument("--ism", action="append", default=[],
                    help="device id of an ISM model function (ISM_STATS)")
    ap.add_argument("--shm", action="append", default=[],
                    help="ID=FILE: the RAM BAR file of function ID (CHECK)")
    ap.add_argument("--check-log", default=None,
                    help="JSON lines, one per CHECK (tests/soak)")
    ap.add_argument("--stats-dir", default=".",
                    help="where ISM_STATS writes ism-stats-<tag>.json")
    a = ap.parse_args()
    plugs = {}
    for spec in a.plug:
        dev, _, rest = spec.partition("=")
        plugs[dev] = [parse_device(d) for d in rest.split(";") if d]

    shm = dict(spec.partition("=")[::2] for spec in a.shm)
    checks = open(a.check_log, "a", buffering=1) if a.check_log else None

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
            if qmp.sock in r or qmp.buf or qmp.events:
                for ev in qmp.pending():
                    note("event " + ev.get("event", "?"))
                    if ev.get("event") == "DEVICE_DELETED":
                        dev = ev.get("data", {}).get("device")
                        # the zpci devices (zpci-<id>) go with their
                        # function; the guest hears about <id> only
                        if dev and not dev.startswith("zpci-"):
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
                note("<- " + (req if len(req) <= 200 else req[:120] + "... (%d chars)" % len(req)))
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
                elif len(parts) == 5 and parts[0] == "CHECK":
                    dev, tag = parts[1], parts[2]
                    if not set(dev) <= ID_OK or not set(tag) <= ID_OK:
                        answer("ERR ? bad id")
                        continue
                    try:
                        off = int(parts[3], 0)
                        want = bytes.fromhex(parts[4])
                        with open(shm[dev], "rb") as f:
                            f.seek(off)
                            got = f.read(len(want))
                    except (KeyError, ValueError, OSError) as e:
                        answer("ERR %s %s" % (dev, str(e).replace("\n", " ") or "no --shm"))
                        continue
                    if len(got) != len(want):
                        answer("ERR %s range beyond the file" % dev)
                        continue
                    bad = [i for i in range(len(want)) if got[i] != want[i]]
                    if checks:
                        rec = {"id": dev, "tag": tag, "offset": off, "len": len(want),
                               "wrong": len(bad)}
                        if bad:
                            rec["first_wrong"] = off + bad[0]
                            rec["got"] = got[bad[0]]
                            rec["want"] = want[bad[0]]
                        checks.write(json.dumps(rec) + "\n")
                    answer("OK %s %d %d" % (dev, len(want), len(bad)))
                elif len(parts) == 2 and parts[0] == "ISM_STATS":
                    tag = parts[1]
                    if not set(tag) <= ID_OK:
                        answer("ERR ? bad tag")
                        continue
                    stats, err = {}, None
                    for dev in a.ism:
                        rep = qmp.command("qom-get", path="/machine/peripheral/" + dev,
                                          property="ism-stats")
                        if "error" in rep:
                            err = "%s: %s" % (dev, rep["error"].get("desc", "error"))
                            break
                        stats[dev] = json.loads(rep["return"])
                    if err is None and not a.ism:
                        err = "no --ism devices"
                    if err:
                        answer("ERR %s %s" % (tag, err.replace("\n", " ")))
                        continue
                    path = os.path.join(a.stats_dir, "ism-stats-%s.json" % tag)
                    with open(path + ".tmp", "w") as f:
                        json.dump(stats, f, indent=1, sort_keys=True)
                    os.replace(path + ".tmp", path)
                    answer("OK " + tag)
                elif len(parts) >= 2 and parts[0] in ("FAULT", "RECOVER", "FAULT_STATUS"):
                    dev = parts[1]
                    if not set(dev) <= ID_OK:
                        answer("ERR ? bad id")
                        continue
                    path = "/machine/peripheral/zpci-" + dev
                    if parts[0] == "FAULT_STATUS":
                        if len(parts) != 2:
                            answer("ERR %s usage: FAULT_STATUS <id>" % dev)
                            continue
                        rep = qmp.command("qom-get", path=path, property="test-fault")
                        if "error" in rep:
                            answer("ERR %s %s" % (dev, rep["error"].get("desc", "error")))
                        else:
                            answer("OK %s %s" % (dev, rep.get("return", "")))
                        continue
                    if parts[0] == "RECOVER":
                        if len(parts) > 3 or (len(parts) == 3 and
                                              not (parts[2].isdigit() or parts[2].startswith("0x"))):
                            answer("ERR %s usage: RECOVER <id> [<pec>]" % dev)
                            continue
                        spec = "recover" + (":" + parts[2] if len(parts) == 3 else "")
                    else:
                        spec = fault_spec(parts[2:])
                        if spec is None:
                            answer("ERR %s usage: FAULT <id> busy|inval <N> [recover] | "
                                   "error <N> <status> [recover] | errevent <N> <pec> | "
                                   "clear" % dev)
                            continue
                    rep = qmp.command("qom-set", path=path, property="test-fault", value=spec)
                    if "error" in rep:
                        answer("ERR %s %s" % (dev, rep["error"].get("desc", "error").replace("\n", " ")))
                        continue
                    if parts[0] == "RECOVER":
                        st = qmp.command("qom-get", path=path, property="test-fault")
                        fh = [w for w in str(st.get("return", "")).split() if w.startswith("fh=")]
                        answer("OK %s %s" % (dev, fh[0] if fh else "fh=?"))
                    else:
                        answer("OK " + dev)
                else:
                    answer("ERR ? unknown request")
    except (EOFError, ConnectionError, OSError) as e:
        note("closed: %s" % e)
    note("exit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
