#!/usr/bin/env python3
"""A neighbour on the engine's disk: every EVERY seconds, MIB MiB written
over the same file and synced, until killed. For an A/B of how the engine's
tail latency bears the disk's slow syncs (sustained.sh, SUSTAINED_DISK_NOISE):
the same bursts in both arms instead of the host's own, which come and go.
The file is overwritten in place, never deleted (a deletion's TRIMs on a
`discard` mount are a different stall, bench/README.md). Each burst is one
line of --log: start (unix s), seconds to write, seconds to sync."""
import argparse
import json
import os
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--every", type=float, required=True, help="seconds between bursts")
    parser.add_argument("--mib", type=int, required=True, help="MiB written per burst")
    parser.add_argument("--file", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    chunk = b"\x5a" * (1 << 20)
    fd = os.open(args.file, os.O_WRONLY | os.O_CREAT, 0o600)
    with open(args.log, "a") as log:
        next_burst = time.time() + args.every
        while True:
            time.sleep(max(0.0, next_burst - time.time()))
            next_burst += args.every
            started = time.time()
            os.lseek(fd, 0, os.SEEK_SET)
            for _ in range(args.mib):
                os.write(fd, chunk)
            written = time.time()
            os.fdatasync(fd)
            synced = time.time()
            log.write(json.dumps({"t": started, "write_s": round(written - started, 4),
                                  "sync_s": round(synced - written, 4)}) + "\n")
            log.flush()


if __name__ == "__main__":
    main()
