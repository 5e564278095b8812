#!/usr/bin/env python3
"""Is it the disk? Synced log writes beside bulk writes, without the engine.

Appends 2.4 KB and fdatasyncs RATE times a second (the engine's synced WAL
writes at 20k taps/s) while another thread writes BULK MB/s in 1 MiB
writes to 64 MiB files, each fsynced and deleted when full (the ledger's
flushes and compactions: ~790 bytes a tap at 20k, ~16 MB/s), for SECONDS
in DIR. Prints the syncs' p50/p99/p99.9/max and how many took >= 10 ms,
with the machine. If the syncs stall here too, the engine's slow log syncs
are the disk's (bench/README.md, "Huge pages ahead of use").

    bench/engine/write_probe.py [--dir /var/tmp] [--seconds 240] [--rate 800] [--bulk 13] [--bulk-in-place]
"""
import argparse
import os
import platform
import threading
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default="/var/tmp")
    parser.add_argument("--seconds", type=float, default=240)
    parser.add_argument("--rate", type=float, default=800, help="synced 2.4 KB appends a second")
    parser.add_argument("--bulk", type=float, default=13, help="MB/s of bulk writes beside them (0: none)")
    parser.add_argument("--bulk-in-place", action="store_true",
                        help="write the bulk over one file again and again, never deleting it (no freed blocks "
                             "to discard): tells the file system's discards from the writes themselves")
    args = parser.parse_args()
    stop = time.time() + args.seconds
    bulk_path = os.path.join(args.dir, f"write-probe-bulk-{os.getpid()}")
    log_path = os.path.join(args.dir, f"write-probe-log-{os.getpid()}")

    def bulk():
        chunk = os.urandom(1 << 20)
        written = 0
        fd = os.open(bulk_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        due = time.time()
        while time.time() < stop:
            os.write(fd, chunk)
            written += 1
            if written % 64 == 0:
                os.fsync(fd)
                if args.bulk_in_place:
                    os.lseek(fd, 0, os.SEEK_SET)
                else:
                    os.close(fd)
                    os.unlink(bulk_path)
                    fd = os.open(bulk_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            due += 1 / args.bulk
            wait = due - time.time()  # read once: the clock moves between two reads
            if wait > 0:
                time.sleep(wait)
        os.close(fd)
        os.unlink(bulk_path)

    writer = threading.Thread(target=bulk) if args.bulk > 0 else None
    if writer:
        writer.start()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    record = b"x" * 2400
    took = []
    due = time.time()
    while time.time() < stop:
        os.write(fd, record)
        start = time.perf_counter()
        os.fdatasync(fd)
        took.append((time.perf_counter() - start) * 1000)
        due += 1 / args.rate
        wait = due - time.time()  # read once: the clock moves between two reads
        if wait > 0:
            time.sleep(wait)
    if writer:
        writer.join()
    os.close(fd)
    os.unlink(log_path)
    took.sort()
    n = len(took)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"machine: {cpu}, {os.cpu_count()} cores, Linux {platform.release()}, load {os.getloadavg()[0]:.2f}")
    where = " (in place)" if args.bulk_in_place else ""
    print(f"{n} synced appends in {args.seconds:.0f} s beside {args.bulk:g} MB/s of bulk writes{where}: p50 {took[n // 2]:.2f} ms "
          f"p99 {took[int(n * .99)]:.2f} p99.9 {took[int(n * .999)]:.2f} max {took[-1]:.2f}; "
          f">= 10 ms: {sum(1 for t in took if t >= 10)}")


if __name__ == "__main__":
    main()
