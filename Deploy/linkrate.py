#!/usr/bin/env python3
"""Per-link throughput over time, for Deploy/demo.sh.

  linkrate.py sample --out CSV [--dev wana --dev wanb] [--interval 0.1] [--max-seconds 900]
  linkrate.py plot --samples CSV --phases FILE --out PNG [--rate-a MBIT] [--rate-b MBIT] [--title T]

sample (run inside the CPE's network namespace): every --interval seconds appends one CSV line
  time,<dev>_tx,<dev>_rx,...
with the wall-clock time (seconds since the epoch, as `date +%s.%N`) and each device's
/sys/class/net/<dev>/statistics/{tx,rx}_bytes. Stops on SIGTERM or SIGINT, after --max-seconds,
or when the counters stay unreadable for 2 s. Standard library only.

plot (needs python3-matplotlib): Mbit/s of each link in each direction between consecutive
samples (bytes on the wire, headers included), one panel per link and one for their sum, with the
demo's phases shaded. The phases file has tab-separated lines
  span<TAB>START<TAB>END<TAB>LABEL     (a phase, wall-clock seconds)
  event<TAB>TIME<TAB>LABEL             (a moment, e.g. a link cut)
It also prints each phase's mean Mbit/s per link and direction.
"""

import argparse
import csv
import signal
import sys
import time


def sample(args):
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(True))
    paths = [("/sys/class/net/%s/statistics/%s_bytes" % (dev, d)) for dev in args.dev for d in ("tx", "rx")]
    header = ["time"] + ["%s_%s" % (dev, d) for dev in args.dev for d in ("tx", "rx")]
    start = time.monotonic()
    next_due = start
    unreadable_since = None
    with open(args.out, "w", buffering=1) as out:
        out.write(",".join(header) + "\n")
        while not stop and time.monotonic() - start < args.max_seconds:
            try:
                values = []
                for p in paths:
                    with open(p) as f:
                        values.append(f.read().strip())
                out.write("%.6f,%s\n" % (time.time(), ",".join(values)))
                unreadable_since = None
            except OSError:
                unreadable_since = unreadable_since or time.monotonic()
                if time.monotonic() - unreadable_since > 2:
                    print("linkrate: counters unreadable for 2 s, stopping", file=sys.stderr)
                    return 1
            next_due += args.interval
            delay = next_due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_due = time.monotonic()
    return 0


def read_samples(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    header, data = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
    columns = {name: [float(r[i]) for r in data] for i, name in enumerate(header)}
    return header, columns


def rates(columns, name):
    """(midpoint times, Mbit/s) between consecutive samples of one counter column."""
    t, v = columns["time"], columns[name]
    mids, mbit = [], []
    for i in range(1, len(t)):
        dt = t[i] - t[i - 1]
        if dt <= 0:
            continue
        mids.append((t[i] + t[i - 1]) / 2)
        mbit.append(max(v[i] - v[i - 1], 0) * 8 / dt / 1e6)
    return mids, mbit


def read_phases(path):
    spans, events = [], []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "span" and len(parts) == 4:
                spans.append((float(parts[1]), float(parts[2]), parts[3]))
            elif parts[0] == "event" and len(parts) == 3:
                events.append((float(parts[1]), parts[2]))
    return spans, events


def mean_between(times, values, start, end):
    picked = [v for t, v in zip(times, values) if start <= t <= end]
    return sum(picked) / len(picked) if picked else 0.0


def plot(args):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    header, columns = read_samples(args.samples)
    if len(columns["time"]) < 2:
        print("linkrate: fewer than 2 samples, no plot", file=sys.stderr)
        return 1
    spans, events = read_phases(args.phases)
    t0 = columns["time"][0]
    links = [("link A (wana)", "wana", args.rate_a), ("link B (wanb)", "wanb", args.rate_b)]
    series = {}
    for _, dev, _ in links:
        for d in ("tx", "rx"):
            series[(dev, d)] = rates(columns, "%s_%s" % (dev, d))
    mids = series[("wana", "tx")][0]
    total = {d: [a + b for a, b in zip(series[("wana", d)][1], series[("wanb", d)][1])] for d in ("tx", "rx")}

    # Each phase's means, printed for the text summary.
    for start, end, label in spans:
        parts = []
        for name, dev, _ in links:
            up = mean_between(mids, series[(dev, "tx")][1], start, end)
            down = mean_between(mids, series[(dev, "rx")][1], start, end)
            parts.append("%s up %5.1f down %5.1f" % (name.split()[0] + " " + name.split()[1], up, down))
        print("%-28s %s Mbit/s (mean, on the wire)" % (label + ":", " | ".join(parts)))

    fig, axes = plt.subplots(3, 1, figsize=(12, 8.5), sharex=True)
    colours = {"tx": "tab:blue", "rx": "tab:orange"}
    names = {"tx": "CPE \u2192 concentrator (up)", "rx": "concentrator \u2192 CPE (down)"}
    panels = [(name, {d: series[(dev, d)][1] for d in ("tx", "rx")}, rate) for name, dev, rate in links]
    panels.append(("both links (A + B)", total, args.rate_a + args.rate_b))
    x = [m - t0 for m in mids]
    top = max(max(max(v) for v in p[1].values()) for p in panels)
    shades = ["#e8f0fe", "#fdf0e0", "#e8f6e8", "#f3e8fa", "#fbe9e9"]
    for ax, (title, data, rate) in zip(axes, panels):
        for i, (start, end, label) in enumerate(spans):
            ax.axvspan(start - t0, end - t0, color=shades[i % len(shades)], zorder=0)
        for d in ("tx", "rx"):
            ax.plot(x, data[d], color=colours[d], linewidth=1.3, label=names[d])
        ax.axhline(rate, color="grey", linestyle="--", linewidth=1, label="link rate")
        ax.text(x[0], rate, " %g Mbit/s" % rate, color="grey", ha="left", va="bottom", fontsize=8)
        for when, label in events:
            ax.axvline(when - t0, color="tab:red", linewidth=1.5, label=label)
        ax.set_ylabel("Mbit/s on the wire")
        ax.set_ylim(0, max(rate * 1.3, top * 1.05 if ax is axes[2] else rate * 1.3))
        ax.set_title(title, loc="left", fontsize=10)
        ax.grid(True, alpha=0.3)
    for start, end, label in spans:
        axes[0].text((start + end) / 2 - t0, axes[0].get_ylim()[1] * 0.97, label, ha="center", va="top",
                     fontsize=9, fontweight="bold")
    axes[-1].set_xlabel("seconds")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=9, frameon=False,
               bbox_to_anchor=(0.5, 0.955))
    fig.suptitle(args.title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(args.out, dpi=100)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample", help="append the devices' byte counters to a CSV file")
    s.add_argument("--out", required=True)
    s.add_argument("--dev", action="append", default=None, help="device (repeatable; default wana, wanb)")
    s.add_argument("--interval", type=float, default=0.1, help="seconds between samples (default 0.1)")
    s.add_argument("--max-seconds", type=float, default=900.0, help="stop after S seconds (default 900)")
    q = sub.add_parser("plot", help="plot the samples as a PNG")
    q.add_argument("--samples", required=True)
    q.add_argument("--phases", required=True)
    q.add_argument("--out", required=True)
    q.add_argument("--rate-a", type=float, default=20.0, help="link A's rate in Mbit/s (a reference line)")
    q.add_argument("--rate-b", type=float, default=20.0, help="link B's rate in Mbit/s")
    q.add_argument("--title", default="per-link throughput")
    args = p.parse_args()
    if args.cmd == "sample":
        args.dev = args.dev or ["wana", "wanb"]
        if not 0.01 <= args.interval <= 10:
            p.error("--interval must be 0.01..10")
        return sample(args)
    return plot(args)


if __name__ == "__main__":
    sys.exit(main())
