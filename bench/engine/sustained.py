#!/usr/bin/env python3
"""The sustained-load bench's sampler and report (bench/engine/sustained.sh).

  sustained.py sample --metrics-port P --engine-pid E --loadgen-pid L --out samples.jsonl
      scrapes the engine's /metrics and /proc every second until the load
      generator exits: one JSON line per sample.
  sustained.py report --load load.json --samples samples.jsonl --rate R --json out.json --dat out.dat
      lines the load generator's steps (one a minute) up with the samples:
      the client's p50/p99/p99.9/max beside the engine's own stage p99s,
      the ledger's write volume per tap and the compaction debt.
"""
import argparse
import json
import os
import re
import sys
import time
import urllib.request

HISTOGRAMS = {
    "decision": "citycard_decision_latency_seconds",
    "shard_wait": "citycard_shard_wait_seconds",
    "handover_to_durable": "citycard_handover_to_durable_seconds",
    "handover_to_prepared": "citycard_handover_to_prepared_seconds",
    "commit_queue": "citycard_commit_queue_seconds",
    "ledger_post": "citycard_ledger_post_seconds",
    "commit_groups": "citycard_commit_groups",
}
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')
TICKS = os.sysconf("SC_CLK_TCK")


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    values, buckets = {}, {key: [] for key in HISTOGRAMS}
    names = {name + "_bucket": key for key, name in HISTOGRAMS.items()}
    for line in text.splitlines():
        match = LINE.match(line)
        if not match:
            continue
        name, labels, value = match.group(1), match.group(2) or "", float(match.group(3))
        if name in names:
            le = re.search(r'le="([^"]+)"', labels).group(1)
            buckets[names[name]].append([float(le), value])
        elif name == "citycard_taps_total":
            values["taps"] = values.get("taps", 0) + value
        elif name.startswith(("citycard_ledger_", "citycard_realtime_")) or name in ("citycard_commits_total", "citycard_commit_prepared_writes_total"):
            values[name + labels] = value
    return values, buckets


def proc_cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    except OSError:
        return None


def proc_write_bytes(pid):
    try:
        with open(f"/proc/{pid}/io") as io:
            for line in io:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def machine_steal_seconds():
    """CPU time the hypervisor gave to others while this VM's vCPUs wanted
    it (/proc/stat's steal, all CPUs): a stall no code of ours can cause."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()
    return int(fields[8]) / os.sysconf("SC_CLK_TCK") if len(fields) > 8 else None


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def sample(args):
    with open(args.out, "w") as out:
        while alive(args.loadgen_pid):
            started = time.time()
            try:
                values, buckets = scrape(args.metrics_port)
            except OSError as error:
                print(f"sustained.py: scrape failed: {error}", file=sys.stderr)
                time.sleep(1)
                continue
            with open("/proc/loadavg") as loadavg:
                load1 = float(loadavg.read().split()[0])
            row = {"t": started, "values": values, "buckets": buckets,
                   "engine_cpu_s": proc_cpu_seconds(args.engine_pid),
                   "loadgen_cpu_s": proc_cpu_seconds(args.loadgen_pid),
                   "engine_disk_write_bytes": proc_write_bytes(args.engine_pid), "load1": load1,
                   "steal_s": machine_steal_seconds()}
            out.write(json.dumps(row) + "\n")
            out.flush()
            time.sleep(max(0.0, 1.0 - (time.time() - started)))


def quantile_bound(earlier, later, q):
    """The upper bound (ms for seconds, as is for counts) of the bucket holding quantile q of the observations between."""
    deltas = [(b[0], b[1] - a[1]) for b, a in zip(later, earlier)]
    total = deltas[-1][1] if deltas else 0
    if total <= 0:
        return None
    for le, cumulative in deltas:
        if cumulative >= q * total:
            return le
    return float("inf")


def nearest(samples, t, before):
    """The last sample at or before t (before=True), or the first at or after it."""
    if before:
        chosen = [s for s in samples if s["t"] <= t]
        return chosen[-1] if chosen else samples[0]
    chosen = [s for s in samples if s["t"] >= t]
    return chosen[0] if chosen else samples[-1]


def delta(a, b, key):
    return b["values"].get(key, 0) - a["values"].get(key, 0)


def ms(bound):
    if bound is None:
        return None
    return "inf" if bound == float("inf") else round(bound * 1000, 2)


def slow_syncs_beside_finished_jobs(samples):
    """Slow log syncs counted in a second in which a flush or compaction
    finished, or the second after: the job's obsolete files (the flushed
    WAL, the compaction's inputs) are deleted then, and on a disk mounted
    with discard a big deletion holds the next fdatasync."""
    slow_key = 'citycard_ledger_slow_writes_total{in="log_sync"}'
    finished_at = set()
    slow = beside = 0
    for earlier, later in zip(samples, samples[1:]):
        second = round(later["t"])
        if delta(earlier, later, "citycard_ledger_flushes_total") or delta(earlier, later, "citycard_ledger_compactions_total"):
            finished_at.add(second)
    for earlier, later in zip(samples, samples[1:]):
        count = delta(earlier, later, slow_key)
        slow += count
        second = round(later["t"])
        if second in finished_at or second - 1 in finished_at:
            beside += count
    seconds = {round(s["t"]) for s in samples}
    covered = sum(1 for second in seconds if second in finished_at or second - 1 in finished_at)
    # The share chance alone would put there: at 20k taps/s a job finishes
    # every few seconds and most seconds are "beside" one.
    return {"slow_log_syncs": slow, "slow_log_syncs_beside_finished_jobs": beside,
            "share_of_seconds_beside_finished_jobs": round(covered / max(len(seconds), 1), 2)}


def prepared_per_commit(a, b):
    commits = delta(a, b, "citycard_commits_total")
    prepared = delta(a, b, "citycard_commit_prepared_writes_total")
    return round(prepared / commits, 3) if commits and prepared else None


def report(args):
    load = json.load(open(args.load))
    samples = [json.loads(line) for line in open(args.samples) if line.strip()]
    if not samples:
        sys.exit("sustained.py: no samples")
    minutes = []
    for index, step in enumerate(load["steps"], start=1):
        a = nearest(samples, step["started_unix_s"], True)
        b = nearest(samples, step["ended_unix_s"], False)
        taps = delta(a, b, "taps") or 1
        span = max(b["t"] - a["t"], 1e-9)
        stages = {key: ms(quantile_bound(a["buckets"][key], b["buckets"][key], 0.99))
                  for key in HISTOGRAMS if key != "commit_groups"}
        stages["commit_groups_p50"] = quantile_bound(a["buckets"]["commit_groups"], b["buckets"]["commit_groups"], 0.5)
        cpu = lambda key: (None if a[key] is None or b[key] is None else round(100 * (b[key] - a[key]) / span, 1))
        disk = (None if a["engine_disk_write_bytes"] is None or b["engine_disk_write_bytes"] is None
                else round((b["engine_disk_write_bytes"] - a["engine_disk_write_bytes"]) / taps, 1))
        minutes.append({
            "minute": index,
            "offered_taps_per_second": step["offered_taps_per_second"],
            "taps_per_second": round(step["taps_per_second"], 1),
            "client_ms": step["latency_ms"],
            "engine_p99_ms": stages,
            "flushes": delta(a, b, "citycard_ledger_flushes_total"),
            "compactions": delta(a, b, "citycard_ledger_compactions_total"),
            "slow_writes_log_sync": delta(a, b, 'citycard_ledger_slow_writes_total{in="log_sync"}'),
            "slow_writes_elsewhere": delta(a, b, 'citycard_ledger_slow_writes_total{in="elsewhere"}'),
            "log_sync_share_of_write_time": round(delta(a, b, "citycard_ledger_log_sync_seconds_total") /
                                                  (delta(a, b, "citycard_ledger_write_seconds_total") or 1), 2),
            "synced_writes_per_second": round(delta(a, b, "citycard_ledger_synced_writes_total") / span),
            # Above 1 when prepared writes that queued behind a slow sync went in one synced write.
            "prepared_writes_per_commit": prepared_per_commit(a, b),
            "write_stalls": delta(a, b, 'citycard_ledger_write_stalls_total{kind="slowdown"}') +
                            delta(a, b, 'citycard_ledger_write_stalls_total{kind="stop"}'),
            "wal_bytes_per_tap": round(delta(a, b, "citycard_ledger_log_bytes_total") / taps, 1),
            "disk_bytes_written_per_tap": disk,
            "pending_compaction_mb_end": round(b["values"].get("citycard_ledger_pending_compaction_bytes", 0) / 2**20, 1),
            "table_mb_end": round(b["values"].get("citycard_ledger_table_bytes", 0) / 2**20, 1),
            "engine_cpu_percent": cpu("engine_cpu_s"),
            "loadgen_cpu_percent": cpu("loadgen_cpu_s"),
            "errors": step["errors"], "retry_later": step["retry_later"],
            # pipeline.realtime_priority: times the tap path yielded to the flushes, seconds sampled yielded.
            "realtime_yields": delta(a, b, "citycard_realtime_yields_total"),
            "realtime_yielded_seconds": sum(1 for s in samples if a["t"] < s["t"] <= b["t"]
                                            and s["values"].get("citycard_realtime_yielded", 0) > 0),
        })
    first, last = samples[0], samples[-1]
    taps = delta(first, last, "taps") or 1
    whole = {
        "taps": int(taps),
        "wal_bytes_per_tap": round(delta(first, last, "citycard_ledger_log_bytes_total") / taps, 1),
        "table_bytes_per_tap": round(delta(first, last, "citycard_ledger_table_bytes") / taps, 1),
        "flush_bytes_per_tap": round(delta(first, last, "citycard_ledger_flush_bytes_total") / taps, 1),
        "compaction_bytes_written_per_tap": round(delta(first, last, "citycard_ledger_compaction_written_bytes_total") / taps, 1),
        "disk_bytes_written_per_tap": (None if first["engine_disk_write_bytes"] is None or last["engine_disk_write_bytes"] is None
                                       else round((last["engine_disk_write_bytes"] - first["engine_disk_write_bytes"]) / taps, 1)),
        "flushes": delta(first, last, "citycard_ledger_flushes_total"),
        "compactions": delta(first, last, "citycard_ledger_compactions_total"),
        "write_stall_seconds": delta(first, last, "citycard_ledger_write_stall_seconds_total"),
        "realtime_yields": delta(first, last, "citycard_realtime_yields_total"),
        "realtime_yielded_seconds": sum(1 for s in samples if s["values"].get("citycard_realtime_yielded", 0) > 0),
        "pending_compaction_mb_max": round(max(s["values"].get("citycard_ledger_pending_compaction_bytes", 0)
                                               for s in samples) / 2**20, 1),
    }
    whole.update(slow_syncs_beside_finished_jobs(samples))
    families = {}
    for key, value in last["values"].items():
        match = re.match(r'citycard_ledger_family_(entries|raw_bytes|table_bytes)\{family="([^"]+)"\}', key)
        if match:
            kind, family = match.groups()
            families.setdefault(family, {})[kind + "_per_tap"] = round((value - first["values"].get(key, 0)) / taps, 1)
    whole["families_in_tables"] = families
    worst = lambda key: max(m["client_ms"][key] for m in minutes)
    result = {"machine": load["machine"], "cards": load["cards"], "offered_taps_per_second": args.rate,
              "minutes": minutes, "whole_run": whole,
              "worst_minute_ms": {"p99": worst("p99"), "p999": worst("p999"), "max": worst("max")}}
    json.dump(result, open(args.json, "w"), indent=2)

    with open(args.dat, "w") as dat:
        dat.write("# minute taps/s p50 p99 p99.9 max engine_decision_p99 shard_wait_p99 handover_to_durable_p99 "
                  "ledger_post_p99 flushes compactions stalls pending_compaction_MB\n")
        for m in minutes:
            c, e = m["client_ms"], m["engine_p99_ms"]
            dat.write(f'{m["minute"]} {m["taps_per_second"]} {c["p50"]} {c["p99"]} {c["p999"]} {c["max"]} '
                      f'{e["decision"]} {e["shard_wait"]} {e["handover_to_durable"]} {e["ledger_post"]} '
                      f'{m["flushes"]} {m["compactions"]} {m["write_stalls"]} {m["pending_compaction_mb_end"]}\n')
    with open(args.timeline, "w") as timeline:
        timeline.write("# seconds pending_compaction_MB memtable_MB level0_files_max flushes_running compactions_running\n")
        for s in samples:
            v = s["values"]
            timeline.write(f'{s["t"] - first["t"]:.1f} {v.get("citycard_ledger_pending_compaction_bytes", 0) / 2**20:.1f} '
                           f'{v.get("citycard_ledger_memtable_bytes", 0) / 2**20:.1f} '
                           f'{v.get("citycard_ledger_level0_files_max", 0):.0f} '
                           f'{v.get("citycard_ledger_flushes_running", 0):.0f} '
                           f'{v.get("citycard_ledger_compactions_running", 0):.0f}\n')

    print(f"machine: {load['machine']}")
    print(f"offered {args.rate:.0f} taps/s, {len(minutes)} minutes, {load['cards']} cards")
    print("| min | taps/s | p50 | p99 | p99.9 | max | engine: decision p99 | shard wait p99 | handover->durable p99 "
          "| ledger post p99 | synced writes/s | prepared/write | slow writes (log sync / elsewhere) | flushes | compactions | stalls "
          "| WAL B/tap | disk B/tap | debt MB | engine CPU % | loadgen CPU % |")
    print("|" + "---|" * 22)
    for m in minutes:
        c, e = m["client_ms"], m["engine_p99_ms"]
        print(f'| {m["minute"]} | {m["taps_per_second"]:.0f} | {c["p50"]:.2f} | {c["p99"]:.2f} | {c["p999"]:.2f} | '
              f'{c["max"]:.2f} | {e["decision"]} | {e["shard_wait"]} | {e["handover_to_durable"]} | {e["ledger_post"]} | '
              f'{m["synced_writes_per_second"]} | {m["prepared_writes_per_commit"] or "-"} | {m["slow_writes_log_sync"]:.0f} / {m["slow_writes_elsewhere"]:.0f} | '
              f'{m["flushes"]:.0f} | {m["compactions"]:.0f} | {m["write_stalls"]:.0f} | {m["wal_bytes_per_tap"]} | '
              f'{m["disk_bytes_written_per_tap"]} | {m["pending_compaction_mb_end"]} | {m["engine_cpu_percent"]} | '
              f'{m["loadgen_cpu_percent"]} |')
    if whole["realtime_yields"]:
        print("real-time tap path yielded to the flushes (yields / seconds sampled yielded), by minute: " +
              ", ".join(f'{m["minute"]}: {m["realtime_yields"]:.0f} / {m["realtime_yielded_seconds"]}' for m in minutes))
    print("whole run: " + ", ".join(f"{k} {v}" for k, v in whole.items() if k != "families_in_tables"))
    print("table files per tap, by column family (flushed entries only): " +
          "; ".join(f"{name}: {v}" for name, v in sorted(families.items())))
    print("engine stage p99s are histogram bucket bounds (the bucket holding the 99th percentile), in ms")


def bucket_counts(earlier, later, key, at_least):
    """Observations of histogram `key` between two samples, per bucket whose
    upper bound is at least `at_least` seconds: {bound_ms: count}."""
    bounds = [bound for bound, _ in earlier["buckets"][key]]
    cumulative = [b - a for (_, a), (_, b) in zip(earlier["buckets"][key], later["buckets"][key])]
    counts = {}
    for i, bound in enumerate(bounds):
        count = cumulative[i] - (cumulative[i - 1] if i else 0)
        if count > 0 and bound >= at_least:
            counts["inf" if bound == float("inf") else f"{bound * 1000:g}"] = int(count)
    return counts


def slow_seconds(args):
    """The seconds in which the engine decided a tap in more than
    --over-ms, each with its stages' slow buckets and what the ledger did."""
    load = json.load(open(args.load))
    samples = [json.loads(line) for line in open(args.samples) if line.strip()]
    start = load["steps"][0]["started_unix_s"]
    over = args.over_ms / 1000
    print(f"seconds with engine decisions over {args.over_ms:g} ms (bucket upper bounds in ms: count)")
    for earlier, later in zip(samples, samples[1:]):
        slow = bucket_counts(earlier, later, "decision", over * 1.0001)
        if not slow:
            continue
        stages = {key: bucket_counts(earlier, later, key, 0.01) if key in earlier["buckets"] else {}
                  for key in ("shard_wait", "handover_to_durable", "handover_to_prepared", "commit_queue", "ledger_post")}
        syncs = delta(earlier, later, 'citycard_ledger_slow_writes_total{in="log_sync"}')
        elsewhere = delta(earlier, later, 'citycard_ledger_slow_writes_total{in="elsewhere"}')
        values = later["values"]
        jobs = (f'flushes running {values.get("citycard_ledger_flushes_running", 0):.0f} finished '
                f'{delta(earlier, later, "citycard_ledger_flushes_total"):.0f}, compactions running '
                f'{values.get("citycard_ledger_compactions_running", 0):.0f} finished '
                f'{delta(earlier, later, "citycard_ledger_compactions_total"):.0f}')
        cpu = lambda key: ("?" if earlier.get(key) is None or later.get(key) is None
                           else f"{100 * (later[key] - earlier[key]):.0f}%")
        together = delta(earlier, later, "citycard_commit_prepared_writes_total")
        commits = (f'{delta(earlier, later, "citycard_commits_total"):.0f} synced writes'
                   + (f' for {together:.0f} prepared' if together else ''))
        print(f'{later["t"] - start:6.0f} s: decision {slow}; >= 10 ms: shard wait {stages["shard_wait"]}, '
              f'hand-over to durable {stages["handover_to_durable"]} (to prepared {stages["handover_to_prepared"]}, '
              f'commit queue {stages["commit_queue"]}), ledger post {stages["ledger_post"]}; '
              f'{commits}, slow writes {syncs:.0f} in sync / {elsewhere:.0f} elsewhere; {jobs}; '
              f'CPU engine {cpu("engine_cpu_s")} loadgen {cpu("loadgen_cpu_s")} stolen by the host {cpu("steal_s")}')
    print()
    client_seconds(args, load, samples)


def client_seconds(args, load, samples):
    """The seconds in which the load generator saw a tap over --over-ms
    (load.json's by_second, by when its decision arrived), each with the
    engine's decisions over 10 ms in the samples around it: whether the
    time went inside the engine's decision, or outside it (TLS, the net
    thread's loop, the load generator sending late or reading late)."""
    over = args.over_ms
    print(f"seconds in which the client saw a tap over {over:g} ms: client [taps over 10 ms, latency max, "
          f"round trip max, send lag max] beside the engine's decisions >= 10 ms (bucket bounds in ms: count)")
    found = 0
    for step in load["steps"]:
        for index, second in enumerate(step.get("by_second", [])):
            taps, over_10, latency_max, round_trip_max, send_lag_max = second
            if latency_max <= over:
                continue
            found += 1
            at = step["started_unix_s"] + index
            # Samples every ~0.5-1 s: the pair around [at, at + 1], widened by one on each side.
            earlier = max((s for s in samples if s["t"] <= at), key=lambda s: s["t"], default=samples[0])
            later = min((s for s in samples if s["t"] >= at + 1), key=lambda s: s["t"], default=samples[-1])
            engine = bucket_counts(earlier, later, "decision", 0.01)
            span = max(later["t"] - earlier["t"], 1e-9)
            cpu = lambda key: ("?" if earlier.get(key) is None or later.get(key) is None
                               else f"{100 * (later[key] - earlier[key]) / span:.0f}%")
            print(f'{at - load["steps"][0]["started_unix_s"]:6.0f} s: client [{over_10}/{taps}, {latency_max:.1f}, '
                  f'{round_trip_max:.1f}, {send_lag_max:.1f}]; engine decisions {engine or "none"} '
                  f'(samples {later["t"] - earlier["t"]:.1f} s); CPU engine {cpu("engine_cpu_s")} '
                  f'loadgen {cpu("loadgen_cpu_s")} stolen {cpu("steal_s")}')
    if not found:
        print("none" if any("by_second" in step for step in load["steps"]) else
              "(this run's load.json has no by_second: a load generator from before it was recorded)")


def run_tails(args):
    """Each engine stage's observations in buckets bounded at --over-ms or more, in the whole of a
    kept run, per bucket: what a rare stall (a checkpoint pass starting, a
    sync of 250 ms) leaves, which a per-minute p99 hides."""
    samples = [json.loads(line) for line in open(args.samples)]
    if len(samples) < 2:
        sys.exit(f"sustained.py: {args.samples} holds fewer than two samples")
    first, last = samples[0], samples[-1]
    print(f"engine stages over the run ({last['t'] - first['t']:.0f} s): observations in buckets whose upper "
          f"bound is at least {args.over_ms:g} ms (bound in ms: count) of all")
    for key in HISTOGRAMS:
        if key == "commit_groups" or not first["buckets"].get(key) or not last["buckets"].get(key):
            continue
        total = int(last["buckets"][key][-1][1] - first["buckets"][key][-1][1])
        print(f"  {key}: {bucket_counts(first, last, key, args.over_ms / 1000)} of {total}")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sample")
    s.add_argument("--metrics-port", type=int, required=True)
    s.add_argument("--engine-pid", type=int, required=True)
    s.add_argument("--loadgen-pid", type=int, required=True)
    s.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("--load", required=True)
    r.add_argument("--samples", required=True)
    r.add_argument("--rate", type=float, required=True)
    r.add_argument("--json", required=True)
    r.add_argument("--dat", required=True)
    r.add_argument("--timeline", required=True)
    w = sub.add_parser("seconds", help="the slowest seconds of a kept run (SUSTAINED_KEEP=1)")
    w.add_argument("--load", required=True)
    w.add_argument("--samples", required=True)
    w.add_argument("--over-ms", type=float, default=25)
    t = sub.add_parser("tails", help="each stage's slow observations over a whole kept run")
    t.add_argument("--samples", required=True)
    t.add_argument("--over-ms", type=float, default=50)
    args = parser.parse_args()
    {"sample": sample, "report": report, "seconds": slow_seconds, "tails": run_tails}[args.command](args)


if __name__ == "__main__":
    main()
