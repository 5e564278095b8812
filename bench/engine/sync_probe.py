#!/usr/bin/env python3
"""What one synced log write costs on this disk while another file is deleted.

Appends RECORD bytes and fdatasyncs RATE times a second (the engine's synced
writes at 5k taps/s: ~660 a second of ~2.4 KB) for SECONDS, in DIR; at
DELETE_AT seconds it deletes a file of each size in --delete-mb, made and
synced before (one probe per size, and one deleting nothing). Prints, per
probe, the slowest sync of the second of the deletion and of the seconds
around it; writes bench/results/sync-probe.json.

    bench/engine/sync_probe.py [--dir /var/tmp] [--delete-mb 0,8,64,256,512]

On a disk mounted with `discard`, deleting a big file issues its TRIMs at
once and the next fdatasync waits behind them (bench/README.md, "Deleting
obsolete files"); the ledger's deletion pacer (ledger.delete_bytes_per_s)
deletes 8 MiB at a time.
"""
import argparse
import json
import os
import platform
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release()}


def mount_options(path):
    path = os.path.realpath(path)
    best = ""
    options = ""
    for line in open("/proc/mounts"):
        fields = line.split()
        if path.startswith(fields[1]) and len(fields[1]) > len(best):
            best, options = fields[1], f"{fields[2]} {fields[3]}"
    return f"{best} ({options})"


def probe(directory, delete_mb, seconds, delete_at, rate, record):
    big = os.path.join(directory, "sync-probe-big.bin")
    if delete_mb:
        with open(big, "wb") as f:
            chunk = os.urandom(1 << 20)
            for _ in range(delete_mb):
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        time.sleep(2)
    log = os.path.join(directory, "sync-probe-log.bin")
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    payload = os.urandom(record)
    slowest = {}
    start = time.monotonic()
    deleted = False
    n = 0
    try:
        while True:
            due = start + n / rate
            now = time.monotonic()
            if now - start > seconds:
                break
            if due > now:
                time.sleep(due - now)
            if delete_mb and not deleted and time.monotonic() - start >= delete_at:
                threading.Thread(target=os.unlink, args=(big,)).start()
                deleted = True
            began = time.monotonic()
            os.write(fd, payload)
            os.fdatasync(fd)
            took = (time.monotonic() - began) * 1000
            second = int(began - start)
            slowest[second] = max(slowest.get(second, 0.0), took)
            n += 1
    finally:
        os.close(fd)
        os.unlink(log)
    around = [v for s, v in slowest.items() if s != int(delete_at)]
    return {"delete_mb": delete_mb, "writes": n,
            "slowest_ms_in_deletion_second": round(slowest.get(int(delete_at), 0.0), 1),
            "slowest_ms_other_seconds": round(max(around) if around else 0.0, 1),
            "slowest_ms_by_second": {str(s): round(v, 1) for s, v in sorted(slowest.items())}}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default="/var/tmp")
    parser.add_argument("--delete-mb", default="0,8,64,256,512")
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--delete-at", type=float, default=6)
    parser.add_argument("--rate", type=float, default=660)
    parser.add_argument("--record", type=int, default=2400)
    parser.add_argument("--json", default=os.path.join(ROOT, "bench/results/sync-probe.json"))
    args = parser.parse_args()
    if not os.path.isdir(args.dir):
        raise SystemExit(f"sync_probe.py: {args.dir} is not a directory")
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, Linux {info['kernel']}; "
          f"{args.dir} on {mount_options(args.dir)}")
    print(f"{args.rate:.0f} synced writes/s of {args.record} bytes for {args.seconds:.0f} s, "
          f"a file deleted at {args.delete_at:.0f} s")
    print("| deleted | slowest sync in that second (ms) | slowest in the other seconds (ms) |")
    print("|---|---|---|")
    probes = []
    for size in [int(x) for x in args.delete_mb.split(",")]:
        result = probe(args.dir, size, args.seconds, args.delete_at, args.rate, args.record)
        probes.append(result)
        print(f"| {size} MiB | {result['slowest_ms_in_deletion_second']} | {result['slowest_ms_other_seconds']} |")
    info["directory"] = mount_options(args.dir)
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    json.dump({"machine": info, "rate": args.rate, "record_bytes": args.record, "probes": probes},
              open(args.json, "w"), indent=2)
    print(f"results: {args.json}")


if __name__ == "__main__":
    main()
