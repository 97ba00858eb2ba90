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

    def reports(self, name, system):
        return [r["report"] for r in self.runs if r["name"] == name and r["system"] == system]

    def values(self, name, system, metric):
        return [v for v in (metric(r) for r in self.reports(name, system)) if v is not None]

    def median(self, name, system, metric):
        values = self.values(name, system, metric)
        return statistics.median(values) if values else None

    def spread(self, name, system, metric):
        values = self.values(name, system, metric)
        return (min(values), max(values)) if values else None


def number(value, digits=0):
    if value is None:
        return "—"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def cell(results, name, system, metric, digits=0, unit=""):
    """Median, with the spread (min-max) when there are several repetitions and they differ."""
    median = results.median(name, system, metric)
    if median is None:
        return "—"
    text = number(median, digits) + unit
    spread = results.spread(name, system, metric)
    if spread and len(results.values(name, system, metric)) > 1 and spread[0] != spread[1]:
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
        report = run["report"]
        label = f"{run['name']} · {run['system']} · repetition {run['repetition']}"
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
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.6))
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
    w("  (the generator does not resume sessions). Payloads carry a send timestamp, publisher and sequence number:")
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
    w("Benchmarks/run            # full: 3 repetitions, 10 s windows (15–20 minutes on 2 cores)")
    w("Benchmarks/run --quick    # 1 repetition, short windows, for iterating")
    w("DURATION=30s HOLD_COUNT=50000 Benchmarks/run   # sizes are environment variables (see the script's header)")
    w("```")
    w("")
    w("It installs nginx, headers-more and matplotlib (`Scripts/install-deps --bench`), builds in release mode, starts")
    w("everything on 127.0.0.1 (ports 18800–18804 by default), stops only what it started, and rewrites this file,")
    w(f"`docs/{chart_name}` and `Benchmarks/results/latest.jsonl` (every run's full JSON report).")
    w("To measure your own deployment, run `mqtt-ws-bench` against it directly: `mqtt-ws-bench --help`.")
    w("")
    return "\n".join(out)


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
