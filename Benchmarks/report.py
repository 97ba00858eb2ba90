#!/usr/bin/python3
"""Turns Benchmarks/run's raw results into docs/PERFORMANCE.md and a chart.

Input: one JSON line per mqtt-ws-bench run ({"system", "name", "repetition", "exit_status", "report"}) and a
machine description. Output: medians over the repetitions with their spread (min-max), ratios of the bridge to
the nginx recipe and to direct TCP, the issue's targets checked, and a PNG with throughput, p99 latency and new
connections per second per system.

A section of an existing PERFORMANCE.md between <!-- notes:begin --> and <!-- notes:end --> is kept, so that
tuning notes written by hand survive a re-run.
"""

import argparse
import json
import os
import statistics
import sys

SYSTEM_NAMES = {
    "direct-tcp": "direct TCP to Mosquitto",
    "direct-ws": "direct ws to Mosquitto's websockets listener",
    "nginx": "nginx recipe (wss → Mosquitto ws)",
    "bridge": "mqtt-ws-bridge (wss → Mosquitto tcp)",
    "bridge-ws": "mqtt-ws-bridge (wss → Mosquitto ws)",
}
SYSTEM_ORDER = ["direct-tcp", "direct-ws", "nginx", "bridge", "bridge-ws"]
NOTES_BEGIN = "<!-- notes:begin -->"
NOTES_END = "<!-- notes:end -->"


def load(path):
    runs = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line:
                runs.append(json.loads(line))
    return runs


def watched(report, label):
    for entry in report.get("watched", []):
        if entry.get("label") == label:
            return entry
    return None


# Each metric: a function of one report returning a number or None (not measured / not applicable).
def delivered_per_second(report):
    return (report.get("traffic") or {}).get("delivered_per_second")


def cpu_per_million(label):
    def metric(report):
        entry = watched(report, label)
        return entry.get("cpu_seconds_per_million_messages") if entry else None
    return metric


def per_message(label, field):
    def metric(report):
        entry = watched(report, label)
        return entry.get(field) if entry else None
    return metric


def latency(field):
    def metric(report):
        return (report.get("latency") or {}).get(field)
    return metric


def connections_per_second(report):
    return (report.get("connect") or {}).get("connections_per_second")


def handshake(field):
    def metric(report):
        return ((report.get("connect") or {}).get("handshake") or {}).get(field)
    return metric


def cpu_per_thousand_connections(label):
    def metric(report):
        entry = watched(report, label)
        return entry.get("cpu_seconds_per_thousand_connections") if entry else None
    return metric


def rss_per_connection(label):
    def metric(report):
        entry = watched(report, label)
        return entry.get("rss_kib_per_connection") if entry else None
    return metric


def held(report):
    return (report.get("hold") or {}).get("held")


def lost_fraction(report):
    traffic = report.get("traffic") or {}
    expected = traffic.get("expected_deliveries") or 0
    return (traffic.get("lost", 0) / expected) if expected else None


class Results:
    def __init__(self, runs):
        self.runs = runs
        self.systems = [s for s in SYSTEM_ORDER if any(r["system"] == s for r in runs)]
        self.systems += sorted({r["system"] for r in runs} - set(self.systems))

    def reports(self, name, system, **tags):
        return [r["report"] for r in self.tagged(name, system, **tags) if "report" in r]

    def tagged(self, name, system, **tags):
        """Result lines of a scenario and system whose tags (broker, certificate, jitter, limits) match."""
        return [r for r in self.runs if r["name"] == name and r["system"] == system
                and all(r.get(key) == value for key, value in tags.items())]

    def tag_values(self, name, key):
        values = []
        for run in self.runs:
            if run["name"] == name and key in run and run[key] not in values:
                values.append(run[key])
        return values

    def values(self, name, system, metric, **tags):
        return [v for v in (metric(r) for r in self.reports(name, system, **tags)) if v is not None]

    def median(self, name, system, metric, **tags):
        values = self.values(name, system, metric, **tags)
        return statistics.median(values) if values else None

    def spread(self, name, system, metric, **tags):
        values = self.values(name, system, metric, **tags)
        return (min(values), max(values)) if values else None


def number(value, digits=0):
    if value is None:
        return "—"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def cell(results, name, system, metric, digits=0, unit="", **tags):
    """Median, with the spread (min-max) when there are several repetitions and they differ."""
    median = results.median(name, system, metric, **tags)
    if median is None:
        return "—"
    text = number(median, digits) + unit
    spread = results.spread(name, system, metric, **tags)
    if spread and len(results.values(name, system, metric, **tags)) > 1 and spread[0] != spread[1]:
        text += f" ({number(spread[0], digits)}–{number(spread[1], digits)})"
    return text


def large_time(results, system, machine):
    """Closed-loop 1 MiB QoS 1: time per message = median end-to-end latency; none delivered → a lower bound."""
    values = results.values("large", system, latency("p50_ms"))
    reports = results.reports("large", system)
    if not reports:
        return "—", None
    if not values:
        bound = f"> {machine.get('large_duration', '?')} + {machine.get('large_drain', '?')} (none arrived)"
        return bound, None
    median = statistics.median(values)
    text = f"{median / 1000:,.3f} s" if median >= 1000 else f"{median:,.1f} ms"
    if len(values) > 1 and min(values) != max(values):
        text += f" ({min(values):,.1f}–{max(values):,.1f} ms)"
    return text, median


def ratio(numerator, denominator):
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def ratio_text(value):
    if value is None:
        return "—"
    if 0 < value < 0.01:
        return f"1/{1 / value:,.0f}×"
    return f"{value:.2f}×"


def verdict(value, passes):
    if value is None:
        return "not measured"
    return "met" if passes(value) else "**not met**"


def problems(results):
    lines = []
    for run in results.runs:
        if "report" not in run:
            continue  # strace counts
        if run["name"] in ("storm", "storm-nat", "storm-resumption"):
            continue  # refusals and sessions not back are the storm's result, shown in its tables
        report = run["report"]
        tags = "".join(f" · {run[key]}" for key in ("broker", "certificate", "jitter", "limits") if key in run)
        label = f"{run['name']} · {run['system']}{tags} · repetition {run['repetition']}"
        for problem in report.get("problems", []):
            lines.append(f"{label}: {problem}")
        for message in report.get("errors", {}).get("messages", [])[:3]:
            lines.append(f"{label}: {message}")
        generator = report.get("generator") or {}
        if generator.get("saturated"):
            lines.append(f"{label}: the load generator was saturated (busiest event loop > 90%)")
    return lines


def write_chart(results, path, machine):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = results.systems
    panels = [
        ("throughput", delivered_per_second,
         f"delivered msg/s (QoS {machine.get('qos', 0)}, {machine.get('payload', 64)} B, {machine.get('publishers', 10)} → {machine.get('subscribers', 10)})", 0),
        ("latency", latency("p99_ms"), f"p99 latency, ms (at {machine.get('latency_rate', 5000)} msg/s)", 2),
        ("connect", connections_per_second, "new connections/s (TLS + upgrade + CONNECT)", 0),
    ]
    low_rate = min(settings_rates(machine))
    extra = [draw for draw, present in (
        (lambda axis: draw_settings_panel(axis, results, "settings-throughput", cpu_per_million("proxy"),
                                          "proxy CPU-s per million msgs, by Mosquitto setting", ["nginx", "bridge"]),
         results.tag_values("settings-throughput", "broker")),
        (lambda axis: draw_settings_panel(axis, results, f"settings-latency-{low_rate}", latency("p99_ms"),
                                          f"p99 latency at {number(low_rate)} msg/s, ms, by Mosquitto setting",
                                          ["direct-tcp", "nginx", "bridge"]),
         results.tag_values(f"settings-latency-{low_rate}", "broker")),
        (lambda axis: draw_storm_panel(axis, results), results.tag_values("storm", "certificate"))) if present]
    rows = 2 if extra else 1
    figure, grid = plt.subplots(rows, len(panels), figsize=(5 * len(panels), 4.6 * rows), squeeze=False)
    axes = grid[0]
    for axis, draw in zip(grid[1] if extra else [], extra):
        draw(axis)
    for axis in list(grid[1])[len(extra):] if extra else []:
        axis.axis("off")
    colors = {"direct-tcp": "#7f7f7f", "direct-ws": "#bcbd22", "nginx": "#1f77b4", "bridge": "#d62728", "bridge-ws": "#ff7f0e"}
    for axis, (name, metric, title, digits) in zip(axes, panels):
        medians = [results.median(name, s, metric) or 0 for s in systems]
        lower = []
        upper = []
        for system, median in zip(systems, medians):
            spread = results.spread(name, system, metric) or (median, median)
            lower.append(max(0, median - spread[0]))
            upper.append(max(0, spread[1] - median))
        bars = axis.bar(range(len(systems)), medians, yerr=[lower, upper], capsize=4,
                        color=[colors.get(s, "#9467bd") for s in systems])
        axis.set_xticks(range(len(systems)))
        axis.set_xticklabels(systems, rotation=20)
        axis.set_title(title, fontsize=10)
        for bar, median, above in zip(bars, medians, upper):
            # Above the whisker, so that label and error bar do not overlap.
            axis.annotate(number(median, digits), (bar.get_x() + bar.get_width() / 2, bar.get_height() + above),
                          xytext=(0, 3), textcoords="offset points", ha="center", va="bottom", fontsize=8)
        axis.margins(y=0.12)
    runs = machine.get("repetitions", 1)
    figure.suptitle(f"mqtt-ws-bench on {machine.get('cores')} cores ({machine.get('cpu')}), medians of {runs}, bars = min–max",
                    fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def window_text(machine):
    window = machine.get("throughput_window")
    return f"at most {number(window)} messages in flight" if window else "unlimited rate"


def kept_notes(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    start = text.find(NOTES_BEGIN)
    end = text.find(NOTES_END)
    if start == -1 or end == -1 or end < start:
        return None
    return text[start:end + len(NOTES_END)]


def markdown(results, machine, chart_name, notes):
    systems = results.systems
    proxy_systems = [s for s in systems if s in ("nginx", "bridge", "bridge-ws")]
    out = []
    w = out.append
    quick = machine.get("quick")
    w("# Performance")
    w("")
    w("mqtt-ws-bridge next to the two ways people serve MQTT over WebSocket today — Mosquitto's own websockets")
    w("listener, and the nginx recipe (nginx + headers-more in front of that listener) — and next to plain MQTT over")
    w("TCP. Everything ran on one machine over loopback, in one sitting, interleaved; absolute figures on a shared")
    w("2-core virtual machine are noise, so read the **ratios**. Reproduce with `Benchmarks/run` (see the end).")
    w("")
    if quick:
        w("> **Quick run** (`Benchmarks/run --quick`): short windows, one repetition. Indicative only.")
        w("")
    w(f"Measured {machine.get('start')} – {machine.get('end')} at commit `{machine.get('commit')}`,"
      f" {machine.get('repetitions')} repetition(s); medians, with the spread (min–max) in brackets.")
    w("")
    w(f"![throughput, p99 latency and new connections per second per system]({chart_name})")
    w("")

    # Headline table, the shape of the issue's.
    w("## Results")
    w("")
    w("| path | delivered msg/s | proxy CPU-s per million msgs | broker CPU-s per million | p99 at "
      f"{number(machine.get('latency_rate', 5000))} msg/s | 1 MiB QoS 1, time per message | RSS per idle conn (proxy) | new conns/s |")
    w("|---|---|---|---|---|---|---|---|")
    for system in systems:
        is_proxy = system in proxy_systems
        large_text, _ = large_time(results, system, machine)
        w("| " + " | ".join([
            SYSTEM_NAMES.get(system, system),
            cell(results, "throughput", system, delivered_per_second),
            cell(results, "throughput", system, cpu_per_million("proxy"), 2) if is_proxy else "—",
            cell(results, "throughput", system, cpu_per_million("broker"), 2),
            cell(results, "latency", system, latency("p99_ms"), 2, " ms"),
            large_text,
            cell(results, "hold", system, rss_per_connection("proxy"), 1, " KiB") if is_proxy else "—",
            cell(results, "connect", system, connections_per_second),
        ]) + " |")
    w("")
    hold_count = machine.get("hold_count")
    w(f"Throughput: {machine.get('publishers')} publishers → {machine.get('subscribers')} subscribers on {machine.get('topics')} topics,"
      f" QoS {machine.get('qos')}, {machine.get('payload')} B payload, {window_text(machine)}, {machine.get('duration')} window after"
      f" {machine.get('warmup')} warm-up. Latency: the same clients at {number(machine.get('latency_rate'))} msg/s in total."
      f" 1 MiB: one publisher, one subscriber, QoS 1, closed loop (the next message leaves when the previous one arrived),"
      f" median end-to-end time. Idle connections: {number(hold_count)} held {machine.get('hold_seconds')} s"
      f" (RSS while holding minus RSS before, per connection). New connections: {number(machine.get('connect_count'))},"
      f" {machine.get('connect_concurrency')} at a time, each a full TLS handshake + upgrade + CONNECT/CONNACK, then DISCONNECT.")
    w("")

    # Ratios and targets.
    def med(name, system, metric):
        return results.median(name, system, metric)

    w("## Ratios and targets")
    w("")
    for bridge in [s for s in ("bridge", "bridge-ws") if s in systems]:
        label = SYSTEM_NAMES[bridge]
        w(f"### {label}")
        w("")
        w("| measure | bridge / nginx | bridge / direct TCP | bridge / direct ws | target (issue 5) | status |")
        w("|---|---|---|---|---|---|")
        cpu_ratio = ratio(med("throughput", bridge, cpu_per_million("proxy")), med("throughput", "nginx", cpu_per_million("proxy")))
        w(f"| proxy CPU per million messages | {ratio_text(cpu_ratio)} | — | — | ≤ 0.5× nginx | {verdict(cpu_ratio, lambda v: v <= 0.5)} |")
        throughput_nginx = ratio(med("throughput", bridge, delivered_per_second), med("throughput", "nginx", delivered_per_second))
        throughput_tcp = ratio(med("throughput", bridge, delivered_per_second), med("throughput", "direct-tcp", delivered_per_second))
        throughput_ws = ratio(med("throughput", bridge, delivered_per_second), med("throughput", "direct-ws", delivered_per_second))
        if bridge == "bridge":
            target, status = "≥ 0.95× direct TCP", verdict(throughput_tcp, lambda v: v >= 0.95)
        else:
            target = "≥ 1.1× nginx and ≥ 0.95× direct ws"
            status = verdict(None if throughput_nginx is None or throughput_ws is None else min(throughput_nginx / 1.1, throughput_ws / 0.95), lambda v: v >= 1)
        w(f"| delivered msg/s | {ratio_text(throughput_nginx)} | {ratio_text(throughput_tcp)} | {ratio_text(throughput_ws)} | {target} | {status} |")
        _, large_bridge = large_time(results, bridge, machine)
        _, large_nginx = large_time(results, "nginx", machine)
        _, large_tcp = large_time(results, "direct-tcp", machine)
        _, large_ws = large_time(results, "direct-ws", machine)
        large_vs_nginx = ratio(large_bridge, large_nginx)
        nginx_none = bool(results.reports("large", "nginx")) and large_nginx is None
        large_nginx_text = ratio_text(large_vs_nginx) if not nginx_none else "nginx delivered none"
        large_tcp_ratio = ratio(large_bridge, large_tcp)
        if bridge == "bridge":
            if nginx_none and large_bridge is not None:
                status = "met (nginx delivered none in the window)" if large_tcp_ratio is not None and large_tcp_ratio <= 1.2 else verdict(large_tcp_ratio, lambda v: v <= 1.2)
            else:
                status = verdict(None if large_vs_nginx is None or large_tcp_ratio is None else max(large_vs_nginx * 10, large_tcp_ratio / 1.2), lambda v: v <= 1)
            target = "≤ 0.1× nginx, ≤ 1.2× direct TCP"
        else:
            target, status = "(no target for the ws upstream)", "—"
        w(f"| 1 MiB time per message | {large_nginx_text} | {ratio_text(large_tcp_ratio)} | {ratio_text(ratio(large_bridge, large_ws))} | {target} | {status} |")
        p99_bridge = med("latency", bridge, latency("p99_ms"))
        p99_nginx = med("latency", "nginx", latency("p99_ms"))
        p99_tcp = med("latency", "direct-tcp", latency("p99_ms"))
        p99_ratio = ratio(p99_bridge, p99_nginx)
        if bridge == "bridge" and p99_bridge is not None and p99_tcp is not None and p99_nginx is not None:
            status = "met" if p99_bridge <= p99_nginx and p99_bridge <= p99_tcp + 0.5 else "**not met**"
            detail = f" (bridge {p99_bridge:.2f} ms, direct TCP + 0.5 = {p99_tcp + 0.5:.2f} ms)"
        else:
            status = verdict(p99_ratio, lambda v: v <= 1)
            detail = ""
        w(f"| p99 latency | {ratio_text(p99_ratio)} | {ratio_text(ratio(p99_bridge, p99_tcp))} | {ratio_text(ratio(p99_bridge, med('latency', 'direct-ws', latency('p99_ms'))))} |"
          f" ≤ nginx{', ≤ direct TCP + 0.5 ms' if bridge == 'bridge' else ''}{detail} | {status} |")
        rss_bridge = med("hold", bridge, rss_per_connection("proxy"))
        rss_nginx = med("hold", "nginx", rss_per_connection("proxy"))
        rss_status = "not measured" if rss_bridge is None else ("met" if rss_bridge <= 22 else "**not met**")
        if hold_count and hold_count < 20000 and rss_bridge is not None:
            rss_status += f" (at {number(hold_count)}, not 20,000: see Limits)"
        w(f"| RSS per idle connection | {ratio_text(ratio(rss_bridge, rss_nginx))} | — | — | ≤ 22 KiB at 20,000 (bridge: {number(rss_bridge, 1)} KiB) | {rss_status} |")
        held_bridge = med("hold", bridge, held)
        w(f"| idle connections held without errors | — | — | — | 50,000 | "
          f"{'**not measured**: ' + number(held_bridge) + ' held (see Limits)' if held_bridge is not None and held_bridge < 50000 else verdict(held_bridge, lambda v: v >= 50000)} |")
        conn_ratio = ratio(med("connect", bridge, connections_per_second), med("connect", "nginx", connections_per_second))
        w(f"| new wss connections/s | {ratio_text(conn_ratio)} | {ratio_text(ratio(med('connect', bridge, connections_per_second), med('connect', 'direct-tcp', connections_per_second)))} | — | ≥ 1.5× nginx | {verdict(conn_ratio, lambda v: v >= 1.5)} |")
        w("")

    # Details.
    w("## Details")
    w("")
    w(f"### Throughput ({window_text(machine)})")
    w("")
    w("| system | delivered msg/s | published msg/s | lost (of expected) | proxy CPU-s/M | broker CPU-s/M | proxy context switches per msg | proxy read/write syscalls per msg | p50 / p99 latency under load | generator busiest loop |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for system in systems:
        reports = results.reports("throughput", system)
        busiest = [max(r["generator"].get("thread_busy") or [0]) for r in reports]
        w("| " + " | ".join([
            system,
            cell(results, "throughput", system, delivered_per_second),
            cell(results, "throughput", system, lambda r: (r.get("traffic") or {}).get("published_per_second")),
            cell(results, "throughput", system, lost_fraction, 3),
            cell(results, "throughput", system, cpu_per_million("proxy"), 2) if system in proxy_systems else "—",
            cell(results, "throughput", system, cpu_per_million("broker"), 2),
            cell(results, "throughput", system, per_message("proxy", "context_switches_per_message"), 3) if system in proxy_systems else "—",
            cell(results, "throughput", system, per_message("proxy", "read_write_syscalls_per_message"), 3) if system.startswith("bridge") else "—",
            f"{cell(results, 'throughput', system, latency('p50_ms'), 1)} / {cell(results, 'throughput', system, latency('p99_ms'), 1)} ms",
            f"{max(busiest) * 100:.0f}%" if busiest else "—",
        ]) + " |")
    w("")
    w("Read/write system calls are counted from `/proc/PID/io` (read, write, readv, writev…), which misses the send/recv")
    w("family nginx uses towards its upstream; they are shown for the bridge only (SwiftNIO uses the read/write family).")
    w("")
    if machine.get("throughput_window"):
        w(f"Publishers keep at most {number(machine.get('throughput_window'))} messages in flight end to end (`--max-outstanding`): the")
        w("sustainable throughput, with nothing queued for long and nothing dropped. Unlimited publishers (`THROUGHPUT_WINDOW=0`)")
        w("push faster than Mosquitto fans out: it then queues for seconds and drops, and the CPU a proxy spends relaying")
        w("messages that are dropped later would be charged to its cost per delivered message.")
    else:
        w("Unlimited publishers push faster than Mosquitto can fan out, so the broker queues and, past its limits, drops")
        w("QoS 0 messages (the *lost* column: fraction of expected deliveries). Delivered msg/s is what reached subscribers.")
    w("")
    w(f"### Latency at {number(machine.get('latency_rate'))} msg/s")
    w("")
    w("| system | p50 | p90 | p99 | p99.9 | max | proxy CPU-s/M | broker CPU-s/M |")
    w("|---|---|---|---|---|---|---|---|")
    for system in systems:
        w("| " + " | ".join([system] + [cell(results, "latency", system, latency(f), 3, " ms") for f in ("p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms")]
                          + [cell(results, "latency", system, cpu_per_million("proxy"), 2) if system in proxy_systems else "—",
                             cell(results, "latency", system, cpu_per_million("broker"), 2)]) + " |")
    w("")
    w(f"### 1 MiB messages, QoS 1, closed loop")
    w("")
    w("| system | time per message (median) | p99 | messages delivered in the window |")
    w("|---|---|---|---|")
    for system in systems:
        text, _ = large_time(results, system, machine)
        w(f"| {system} | {text} | {cell(results, 'large', system, latency('p99_ms'), 1, ' ms')} | "
          f"{cell(results, 'large', system, lambda r: (r.get('traffic') or {}).get('delivered_total'))} |")
    w("")
    w("### New connections")
    w("")
    w("| system | conn/s | handshake p50 | handshake p99 | proxy CPU-s per 1000 conns | failed |")
    w("|---|---|---|---|---|---|")
    for system in systems:
        w("| " + " | ".join([
            system,
            cell(results, "connect", system, connections_per_second),
            cell(results, "connect", system, handshake("p50_ms"), 2, " ms"),
            cell(results, "connect", system, handshake("p99_ms"), 2, " ms"),
            cell(results, "connect", system, cpu_per_thousand_connections("proxy"), 3) if system in proxy_systems else "—",
            cell(results, "connect", system, lambda r: r["connections"]["failed"]),
        ]) + " |")
    w("")
    w("### Idle connections")
    w("")
    w("| system | held | proxy RSS before → holding | proxy KiB per connection | broker KiB per connection | dropped |")
    w("|---|---|---|---|---|---|")
    for system in systems:
        def rss_range(report):
            entry = watched(report, "proxy")
            return None if not entry else (entry["rss_kib_start"], entry["rss_kib_end"])
        ranges = [rss_range(r) for r in results.reports("hold", system)]
        ranges = [r for r in ranges if r]
        range_text = "; ".join(f"{a / 1024:.1f} → {b / 1024:.1f} MiB" for a, b in ranges) if ranges else "—"
        w("| " + " | ".join([
            system,
            cell(results, "hold", system, held),
            range_text,
            cell(results, "hold", system, rss_per_connection("proxy"), 1) if system in proxy_systems else "—",
            cell(results, "hold", system, rss_per_connection("broker"), 1),
            cell(results, "hold", system, lambda r: (r.get("hold") or {}).get("dropped")),
        ]) + " |")
    w("")

    settings_section(results, machine, w)
    storm_section(results, machine, w)

    w("## Errors and warnings")
    w("")
    issues = problems(results)
    if issues:
        for line in issues[:60]:
            w(f"- {line}")
        if len(issues) > 60:
            w(f"- … and {len(issues) - 60} more (Benchmarks/results/latest.jsonl)")
    else:
        w("None: every run completed without connection or protocol errors, and the generator was never saturated.")
    w("")

    if notes:
        w(notes)
        w("")

    w("## Method")
    w("")
    w("- **One machine, loopback.** Generator (`mqtt-ws-bench`), proxies and broker share the CPU cores, as in the")
    w("  issue's reference measurements. Every figure is therefore also limited by the others' CPU use; that is why the")
    w("  proxies' own CPU time per message (from `/proc/PID/stat`, utime + stime of all threads, nginx master +")
    w("  workers summed, 10 ms resolution) is the fairest comparison.")
    w("- **Interleaved, repeated.** Each scenario runs against every system before the next scenario; the order of the")
    w("  systems rotates per repetition; medians are reported with their min–max spread.")
    w("- **Same broker.** One Mosquitto instance serves every system: its TCP listener (direct TCP, the bridge) and its")
    w("  websockets listener (direct ws, nginx). Limits raised: `max_connections -1`, `max_queued_messages 1000000`,")
    w("  `max_queued_bytes 0`, `memory_limit 0`, `ulimit -n` at the hard limit; persistence off; `set_tcp_nodelay true`")
    w("  (with Mosquitto's default, Nagle's algorithm, a direct TCP subscriber saw p50 ≈ 16 ms and p99 ≈ 35 ms at")
    w("  5,000 msg/s here, which would make direct TCP a meaningless latency baseline).")
    w(f"- **nginx recipe**: Debian's nginx {machine.get('nginx')} with libnginx-mod-http-headers-more-filter, TLS 1.2/1.3 with the same")
    w("  development certificate as the bridge, `/wss` proxied to Mosquitto's websockets listener with")
    w("  `proxy_set_header Sec-WebSocket-Protocol mqtt` and `more_clear_headers Sec-WebSocket-Protocol`; access log off;")
    w(f"  `worker_processes {machine.get('nginx_workers')}` — one worker per core, like the bridge's one event loop per core"
      f" ({machine.get('bridge_event_loops')}), so both may use every core. See `Benchmarks/nginx/nginx.conf.template`.")
    w("- **Bridge**: release build, wss listener with the development certificate, `tcp` upstream to Mosquitto's TCP")
    w("  listener (and a second bridge with the `ws` upstream to its websockets listener), access log off (like nginx's),")
    w("  log level warning, per-address limits off (`limits.connection_rate_per_ip` and `limits.max_sessions_per_ip`")
    w("  are 0: every benchmark client comes from a few loopback addresses, and nginx has no such limits here);")
    w("  everything else default.")
    w("- **Clients** behave like WeChat mini-programs through the proxies (no `Sec-WebSocket-Protocol` offered, and a")
    w("  101 that carries one would fail), like browsers towards Mosquitto's listener (offer `mqtt`), and like MQTT")
    w("  libraries over TCP. One masked binary frame per MQTT packet; publishers batch many packets into one write")
    w("  per event-loop turn and stop writing while the socket is not writable. Every TLS handshake is a full one")
    w("  (mqtt-ws-bench does not resume sessions; only the resumption storm's Node generator does). Payloads carry a send")
    w("  timestamp, publisher and sequence number:")
    w("  latency is measured end to end in the generator's monotonic clock, and lost and duplicated messages are counted.")
    w("- **Generator CPU** is reported per event loop; a run whose generator was busier than 90% on a loop is flagged above.")
    w(f"- Source addresses for connect and hold are spread over {machine.get('source_ips')} to stay clear of the ephemeral-port limit.")
    w("")
    w("## Machine")
    w("")
    w(f"- CPU: {machine.get('cpu')} × {machine.get('cores')} ({machine.get('virtualization') or 'bare metal'} guest), {machine.get('memory_gib')} GiB RAM")
    w(f"- OS: {machine.get('os')}, Linux {machine.get('kernel')}")
    w(f"- Mosquitto {machine.get('mosquitto')}, nginx {machine.get('nginx')}, {machine.get('swift')}")
    w(f"- Load average (1, 5, 15 min) before: {machine.get('load_before')}; after: {machine.get('load_after')}."
      " Anything well above the core count means other programs competed for the CPU during the run.")
    w(f"- Open files: soft {machine.get('nofile')}, hard {machine.get('nofile_hard')}.")
    w("")
    w("## Limits of this machine")
    w("")
    if machine.get("hold_requested", 0) > machine.get("hold_count", 0):
        w(f"- **Idle connections**: {number(machine.get('hold_requested'))} were asked for, {number(machine.get('hold_count'))} were held."
          f" The hard limit on open files here is {machine.get('nofile_hard')} per process and cannot be raised"
          " (`ulimit -Hn` is fixed: the container lacks CAP_SYS_RESOURCE). A proxy needs two descriptors per connection"
          " (client and upstream socket), so neither nginx (per worker) nor the bridge can hold more than about"
          f" {number((int(machine.get('nofile', 0)) - 200) // 2)} here; the 20,000 and 50,000 targets need a machine with a higher limit"
          " (`ulimit -n 200000`, `fs.nr_open`). RSS per connection is measured at the count held.")
    else:
        w("- None that changed the scenario sizes.")
    w("")
    w("## Reproduce")
    w("")
    w("```sh")
    w("Benchmarks/run            # full: 3 repetitions, 10 s windows, broker settings, storms (about 26 minutes on 2 cores)")
    w("Benchmarks/run --quick    # 1 repetition, short windows, small storms, for iterating (about 8 minutes)")
    w("Benchmarks/run --sections storm --systems \"nginx bridge\"   # one part only: main, settings, storm")
    w("DURATION=30s HOLD_COUNT=50000 Benchmarks/run   # sizes are environment variables (see the script's header)")
    w("```")
    w("")
    w("It installs nginx, headers-more and matplotlib (`Scripts/install-deps --bench`), builds in release mode, starts")
    w("everything on 127.0.0.1 (ports 18800–18804 by default), stops only what it started, and rewrites this file,")
    w(f"`docs/{chart_name}` and `Benchmarks/results/latest.jsonl` (every run's full JSON report).")
    w("To measure your own deployment, run `mqtt-ws-bench` against it directly: `mqtt-ws-bench --help`.")
    w("")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------------
# Broker settings (issue 14 §2) and reconnect storms (§3).
BROKER_SETTING_NAMES = {
    "nodelay": "`set_tcp_nodelay true`",
    "nagle": "`set_tcp_nodelay false` (Mosquitto's default)",
    "shipped": "shipped `Config/mosquitto.conf`",
}
SETTINGS_SYSTEMS = ["direct-tcp", "nginx", "bridge"]


def strace_per_message(results, system, broker):
    lines = [r for r in results.runs if r["name"] == "settings-strace" and r["system"] == system and r.get("broker") == broker]
    values = [r["syscalls"] / r["delivered"] for r in lines if r.get("delivered")]
    return statistics.median(values) if values else None


def strace_top(results, system, broker):
    lines = [r for r in results.runs if r["name"] == "settings-strace" and r["system"] == system and r.get("broker") == broker]
    if not lines or not lines[0].get("delivered"):
        return "—"
    top = sorted(lines[0].get("top", {}).items(), key=lambda item: -item[1])[:4]
    return ", ".join(f"{name} {count / lines[0]['delivered']:.2f}" for name, count in top)


def settings_rates(machine):
    return [int(rate) for rate in str(machine.get("settings_rates", "100 1000 5000")).split()]


def settings_section(results, machine, w):
    brokers = results.tag_values("settings-throughput", "broker")
    if not brokers:
        return
    rates = settings_rates(machine)
    systems = [s for s in SETTINGS_SYSTEMS if results.tagged("settings-throughput", s)]
    w("## Behind the broker settings users run")
    w("")
    w("The tcp upstream's cost depends on how Mosquitto writes: with `set_tcp_nodelay true` every packet to every")
    w("subscriber leaves in its own segment, and a proxy reading that socket pays one read per packet; with Nagle's")
    w("algorithm on (Mosquitto's default) the kernel coalesces them, but holds small packets until the reader's")
    w("delayed ACK. The shipped `Config/mosquitto.conf` sets `set_tcp_nodelay true` and adds persistence, connection")
    w("logging and Mosquitto's default queue limits. The bridge's `upstream.coalesce_window` batches its own writes")
    w("either way. Each broker configuration was measured")
    w(f"with the bridge, the nginx recipe and direct TCP, in this sitting: {machine.get('settings_repetitions', 1)} repetition(s),"
      f" {machine.get('settings_duration')} windows, the throughput shape above. Syscalls per message: every system call of the")
    w(f"proxy (all threads, `strace -c -f`) during a {machine.get('syscall_duration')} run at {number(machine.get('syscall_rate'))} msg/s,"
      " divided by the messages delivered in it (strace slows the proxy; the counts, not the times, are used).")
    w("")
    header = ["broker setting", "system", "delivered msg/s", "proxy CPU-s per million", "syscalls per msg (top calls)"]
    header += [f"p50 / p99 at {number(rate)} msg/s" for rate in rates]
    w("| " + " | ".join(header) + " |")
    w("|" + "---|" * len(header))
    for broker in brokers:
        for system in systems:
            per_message = strace_per_message(results, system, broker)
            row = [
                BROKER_SETTING_NAMES.get(broker, broker), system,
                cell(results, "settings-throughput", system, delivered_per_second, broker=broker),
                cell(results, "settings-throughput", system, cpu_per_million("proxy"), 2, broker=broker) if system != "direct-tcp" else "—",
                (f"{per_message:.2f} ({strace_top(results, system, broker)})" if per_message is not None else "—"),
            ]
            for rate in rates:
                row.append(f"{cell(results, f'settings-latency-{rate}', system, latency('p50_ms'), 2, broker=broker)} / "
                           f"{cell(results, f'settings-latency-{rate}', system, latency('p99_ms'), 2, broker=broker)} ms")
            w("| " + " | ".join(row) + " |")
    w("")
    w("| broker setting | bridge CPU per message / nginx | target | bridge delivered / direct TCP | target |")
    w("|---|---|---|---|---|")
    for broker in brokers:
        cpu = ratio(results.median("settings-throughput", "bridge", cpu_per_million("proxy"), broker=broker),
                    results.median("settings-throughput", "nginx", cpu_per_million("proxy"), broker=broker))
        delivered = ratio(results.median("settings-throughput", "bridge", delivered_per_second, broker=broker),
                          results.median("settings-throughput", "direct-tcp", delivered_per_second, broker=broker))
        w(f"| {BROKER_SETTING_NAMES.get(broker, broker)} | {ratio_text(cpu)} | ≤ 1.0× ({verdict(cpu, lambda v: v <= 1.0)}) |"
          f" {ratio_text(delivered)} | ≥ 1.0× ({verdict(delivered, lambda v: v >= 1.0)}) |")
    w("")
    w("Which setting to run behind the bridge: `Config/mosquitto.conf` says, with these figures (its comment above")
    w("`set_tcp_nodelay`).")
    w("")


def storm_value(results, system, metric, **tags):
    return results.median("storm", system, metric, **tags)


def storm_field(field):
    def metric(report):
        return (report.get("storm") or {}).get(field)
    return metric


def storm_latency(section, field):
    def metric(report):
        return ((report.get("storm") or {}).get(section) or {}).get(field)
    return metric


def refusal_text(report):
    refusals = (report.get("storm") or {}).get("refusals") or {}
    if not refusals:
        return "none"
    return ", ".join(f"{count:,} {kind.replace('_', ' ')}" for kind, count in sorted(refusals.items(), key=lambda item: -item[1]))


def seconds_text(value, sessions=None, back=None):
    if value is None:
        return f"never ({number(back)} of {number(sessions)} back)" if sessions is not None else "never"
    return f"{value:.1f} s"


def storm_row(results, name, system, **tags):
    reports = results.reports(name, system, **tags)
    if not reports:
        return None
    report = reports[0]
    storm = report.get("storm") or {}
    proxy = watched(report, "proxy") or {}
    return [
        number(storm.get("sessions")),
        seconds_text(storm.get("seconds_to99_percent"), storm.get("sessions"), storm.get("reconnected")),
        seconds_text(storm.get("seconds_to_all"), storm.get("sessions"), storm.get("reconnected")),
        f"{number(storm_latency('transport_handshake', 'p50_ms')(report), 1)} / {number(storm_latency('transport_handshake', 'p99_ms')(report), 1)} ms",
        f"{number(storm_latency('connack', 'p50_ms')(report), 1)} / {number(storm_latency('connack', 'p99_ms')(report), 1)} ms",
        number(storm.get("attempts")),
        refusal_text(report),
        f"{proxy.get('rss_kib_peak', 0) / 1024:.0f} MiB" if proxy else "—",
        f"{proxy.get('cpu_seconds', 0):.1f} s" if proxy else "—",
    ]


def storm_section(results, machine, w):
    certificates = results.tag_values("storm", "certificate")
    nat = [r for r in results.runs if r["name"] == "storm-nat"]
    resumption = results.tag_values("storm-resumption", "certificate")
    if not certificates and not nat and not resumption:
        return
    w("## Reconnect storms")
    w("")
    w(f"{number(machine.get('storm_count'))} idle MQTT sessions over wss from {machine.get('source_ips')}; then every connection is cut at once")
    w("by the clients (a TCP reset: no DISCONNECT, no TLS close_notify, as when a carrier NAT or the network drops")
    w("them), and every client reconnects with its own client id and address: all at once, or each after a random")
    w(f"delay within {machine.get('storm_jitter')} (jitter). A refused or failed attempt is retried after about 1 s (0.5–1.5 s).")
    w("Times are from the cut; TLS + WebSocket is TCP connect → 101, CONNACK is 101 → CONNACK (the broker session")
    w("behind the proxy), both of the successful attempts. Proxy CPU and peak RSS are sampled from `/proc` from the cut")
    w("until the last session is back. The clients cut rather than the harness restarting the proxy so that the same")
    w("storm meets every proxy at the same instant, warm, with the cut sessions still being torn down behind it, and")
    w("independent of how fast each restarts.")
    w("")
    w("In this table every reconnect is a full TLS handshake, the worst case: `mqtt-ws-bench`'s TLS client")
    w("(swift-nio-ssl 2.x) has no API to keep or offer a session.")
    if resumption:
        w("Resumption is measured below (\"With and without TLS session resumption\") with a generator that can resume.")
    else:
        w("TLS session resumption is not measured in this run (STORM_RESUMPTION_CERTIFICATES was empty).")
    w("")
    header = ["system", "certificate", "jitter", "sessions", "99% back", "all back", "TLS+WS p50 / p99", "CONNACK p50 / p99",
              "attempts", "refusals", "proxy peak RSS", "proxy CPU"]
    w("| " + " | ".join(header) + " |")
    w("|" + "---|" * len(header))
    jitters = results.tag_values("storm", "jitter")
    for certificate in certificates:
        for jitter in jitters:
            for system in ("bridge", "nginx"):
                row = storm_row(results, "storm", system, certificate=certificate, jitter=jitter)
                if row:
                    w("| " + " | ".join([system, certificate, jitter] + row) + " |")
    w("")
    w("| certificate | jitter | bridge all back / nginx all back | target |")
    w("|---|---|---|---|")
    for certificate in certificates:
        for jitter in jitters:
            bridge = storm_value(results, "bridge", storm_field("seconds_to_all"), certificate=certificate, jitter=jitter)
            nginx = storm_value(results, "nginx", storm_field("seconds_to_all"), certificate=certificate, jitter=jitter)
            value = ratio(bridge, nginx)
            w(f"| {certificate} | {jitter} | {ratio_text(value)} | ≤ 0.67× (1.5× sooner): {verdict(value, lambda v: v <= 1 / 1.5)} |")
    w("")
    if resumption:
        storm_resumption_section(results, machine, w, resumption)
    if nat:
        w("### Behind one address (carrier NAT)")
        w("")
        w(f"{number(machine.get('storm_nat_count'))} sessions opened from {machine.get('source_ips')} (users arrive over hours, so the")
        w("per-address token bucket is full when the storm starts), then all cut and all reconnecting from **one** address,")
        w(f"127.0.0.1, with the bridge's per-address limits as below (ECDSA P-256, no jitter, given up after {machine.get('storm_nat_timeout')}).")
        w("")
        w("| per-address limits | sessions | 99% back | all back | attempts | refusals | proxy CPU |")
        w("|---|---|---|---|---|---|---|")
        for run in nat:
            row = storm_row(results, "storm-nat", "bridge", limits=run.get("limits"))
            if row:
                label = {"defaults": "the bridge's defaults", "compared": "for comparison", "off": "off"}.get(run.get("limits"), run.get("limits"))
                args = run.get("limit_args") or ""
                settings = ", ".join(part.replace("limits.", "") for part in args.split() if part != "--set")
                label += f" ({settings})" if settings else ""
                w(f"| {label} | {row[0]} | {row[1]} | {row[2]} | {row[5]} | {row[6]} | {row[8]} |")
        w("")
        w("The recommendation drawn from these figures (certificate type, per-address limits) is in docs/deploy.md.")
        w("")


def storm_resumption_section(results, machine, w, certificates):
    w("### With and without TLS session resumption")
    w("")
    w(f"The same storm ({number(machine.get('storm_resumption_count'))} sessions, no jitter) from `Benchmarks/storm-resumption.mjs`,")
    w(f"Node.js {machine.get('node')}'s TLS client (OpenSSL), up to {machine.get('storm_resumption_tls')}: each client keeps the TLS session")
    w("its connection received (TLS 1.3: the server's tickets, which arrive with its first write, the 101) and")
    w("reconnects offering it (**resume**), or offering nothing (**full**), from one script so that the pair compares")
    w("like with like; its figures are not comparable with the table above (another client, a single-threaded one).")
    w("*Resumed* is how many of the reconnects the server actually resumed (`isSessionReused()`). With an ECDSA")
    w("certificate only: a resumed handshake has no certificate signature, so it costs the same whatever the key,")
    w("and the full-handshake difference between the keys is in the table above. The generator is one Node.js thread")
    w("with at most STORM_CONCURRENCY attempts in flight: where its CPU time is close to the time until all are back, it")
    w("set the pace, and the proxy CPU is the figure to compare.")
    w("")
    header = ["system", "certificate", "TLS session", "sessions", "99% back", "all back", "TLS+WS p50 / p99",
              "CONNACK p50 / p99", "attempts", "refusals", "resumed", "proxy peak RSS", "proxy CPU", "generator CPU"]
    w("| " + " | ".join(header) + " |")
    w("|" + "---|" * len(header))
    for certificate in certificates:
        for system in ("bridge", "nginx"):
            for mode, label in (("resume", "resume"), ("no-resume", "full")):
                row = storm_row(results, "storm-resumption", system, certificate=certificate, resumption=mode)
                if not row:
                    continue
                report = results.reports("storm-resumption", system, certificate=certificate, resumption=mode)[0]
                storm = report.get("storm") or {}
                generator = report.get("generator") or {}
                resumed = f"{number(storm.get('resumed'))} of {number(storm.get('reconnected'))}"
                w("| " + " | ".join([system, certificate, label] + row[:7] + [resumed] + row[7:]
                                    + [f"{generator.get('cpu_seconds', 0):.1f} s"]) + " |")
    w("")
    w("| certificate | comparison | all back | target |")
    w("|---|---|---|---|")
    for certificate in certificates:
        def all_back(system, mode):
            return results.median("storm-resumption", system, storm_field("seconds_to_all"), certificate=certificate, resumption=mode)
        for label, numerator, denominator, target in (
                ("bridge resume / bridge full", ("bridge", "resume"), ("bridge", "no-resume"), None),
                ("nginx resume / nginx full", ("nginx", "resume"), ("nginx", "no-resume"), None),
                ("bridge resume / nginx resume", ("bridge", "resume"), ("nginx", "resume"), True),
                ("bridge full / nginx full", ("bridge", "no-resume"), ("nginx", "no-resume"), True)):
            value = ratio(all_back(*numerator), all_back(*denominator))
            if value is None:
                continue
            goal = f"≤ 0.67× (1.5× sooner): {verdict(value, lambda v: v <= 1 / 1.5)}" if target else "—"
            w(f"| {certificate} | {label} | {ratio_text(value)} | {goal} |")
    w("")


def draw_settings_panel(axis, results, name, metric, title, systems, digits=2):
    """Grouped bars: one group per broker setting, one bar per system."""
    brokers = results.tag_values(name, "broker")
    systems = [s for s in systems if results.tagged(name, s)]
    width = 0.8 / max(1, len(systems))
    colors = {"direct-tcp": "#7f7f7f", "nginx": "#1f77b4", "bridge": "#d62728"}
    for offset, system in enumerate(systems):
        values = [results.median(name, system, metric, broker=b) or 0 for b in brokers]
        bars = axis.bar([i + offset * width for i in range(len(brokers))], values, width, label=system, color=colors.get(system))
        for bar, value in zip(bars, values):
            axis.annotate(number(value, digits), (bar.get_x() + bar.get_width() / 2, bar.get_height()), xytext=(0, 3),
                          textcoords="offset points", ha="center", va="bottom", fontsize=8)
    axis.set_xticks([i + width * (len(systems) - 1) / 2 for i in range(len(brokers))])
    axis.set_xticklabels(brokers)
    axis.set_title(title, fontsize=10)
    axis.legend(fontsize=8, loc="upper left")
    axis.margins(y=0.35)


def draw_storm_panel(axis, results):
    certificates = results.tag_values("storm", "certificate")
    jitters = results.tag_values("storm", "jitter")
    groups = [(c, j) for c in certificates for j in jitters]
    systems = ["nginx", "bridge"]
    width = 0.4
    colors = {"nginx": "#1f77b4", "bridge": "#d62728"}
    for offset, system in enumerate(systems):
        values = [storm_value(results, system, storm_field("seconds_to_all"), certificate=c, jitter=j) for c, j in groups]
        bars = axis.bar([i + offset * width for i in range(len(groups))], [v or 0 for v in values], width, label=system,
                        color=colors[system])
        for bar, value in zip(bars, values):
            axis.annotate("never" if value is None else f"{value:.1f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                          xytext=(0, 3), textcoords="offset points", ha="center", va="bottom", fontsize=8)
    axis.set_xticks([i + width / 2 for i in range(len(groups))])
    axis.set_xticklabels([f"{c}\njitter {j}" for c, j in groups], fontsize=8)
    axis.set_title("storm: seconds until every session is back", fontsize=10)
    axis.legend(fontsize=8, loc="upper left")
    axis.margins(y=0.35)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", required=True)
    parser.add_argument("--machine", required=True)
    parser.add_argument("--markdown", required=True)
    parser.add_argument("--chart", required=True)
    arguments = parser.parse_args()

    runs = load(arguments.results)
    if not runs:
        sys.exit("report.py: no results")
    with open(arguments.machine, encoding="utf-8") as handle:
        machine = json.load(handle)
    results = Results(runs)
    write_chart(results, arguments.chart, machine)
    chart_name = os.path.relpath(arguments.chart, os.path.dirname(os.path.abspath(arguments.markdown)))
    notes = kept_notes(arguments.markdown)
    text = markdown(results, machine, chart_name, notes)
    with open(arguments.markdown, "w", encoding="utf-8") as handle:
        handle.write(text)


if __name__ == "__main__":
    main()
