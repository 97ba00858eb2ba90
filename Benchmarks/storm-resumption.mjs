#!/usr/bin/node
// Reconnect storm with and without TLS session resumption (issue 14 §3), for Benchmarks/run.
//
// `mqtt-ws-bench storm` cannot resume: its TLS client (swift-nio-ssl 2.x) has no API to keep or offer a session.
// This generator does the same storm with Node's TLS client (OpenSSL), which can, so that one script measures
// both halves and the pair compares like with like:
//   1. N sessions, K at a time, from SOURCE_IPS (localAddress): TCP, TLS (SNI, the given CA), an HTTP/1.1
//      WebSocket upgrade with no subprotocol (as WeChat's wx.connectSocket sends it), a masked binary frame with
//      an MQTT 3.1.1 CONNECT (clean session), CONNACK. Each keeps the TLS session it received (TLS 1.3: the
//      tickets of the `session` event, which arrive with the server's first write; TLS 1.2: getSession()).
//   2. Every connection is cut at once with a TCP reset (no DISCONNECT, no close_notify), as the Swift storm does.
//   3. Every client reconnects at once with its own client id and address, offering its saved session
//      (--resume) or not (--no-resume); a failed attempt is retried after about --retry-delay (0.5-1.5×) until
//      --reconnect-timeout after the cut.
// It reports what `mqtt-ws-bench storm --json` reports (the same "storm" and "watched" members, so
// Benchmarks/report.py reads both), plus how many reconnects the server actually resumed (isSessionReused()).
//
// Usage: storm-resumption.mjs [options] wss://HOST:PORT/PATH
//   --resume | --no-resume     offer the saved TLS session on reconnect, or make full handshakes (default --resume)
//   -C, --count N              sessions (default 1000)
//   -K, --concurrency K        connection attempts in flight (default 100), while opening the sessions and during
//                              the reconnect: every client starts reconnecting at the cut, but at most K attempts
//                              run at once. (`mqtt-ws-bench storm` has no such cap; one Node thread making 9,000
//                              handshakes at once times every one of them out and measures itself.)
//   --ca FILE --sni NAME       trust anchor and server name (default: no SNI when the host is an address)
//   --tls-max TLSv1.3|TLSv1.2  highest TLS version offered (default TLSv1.3)
//   --source-ips RANGE         e.g. 127.0.0.1-127.0.0.20 or a comma list (default 127.0.0.1); loopback only
//   --reconnect-timeout S      give up on sessions not back this many seconds after the cut (default 60)
//   --attempt-timeout S        one attempt, TCP connect to CONNACK (default 10)
//   --retry-delay S            (default 1)
//   --keepalive S              MQTT keepalive of each session (default 60, as mqtt-ws-bench)
//   --watch LABEL=PID[,PID…]   sample these processes' CPU time and RSS from /proc from the cut until the end
//   --json                     print the report as one JSON line on stdout
//   --quiet                    no progress lines on stderr
// Exit status: 0 when every session came back, 1 when some did not (the report is printed either way), 2 on
// usage errors.
import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { parseArgs } from "node:util";

const usageError = (message) => {
    process.stderr.write(`storm-resumption: ${message}\n`);
    process.exit(2);
};

const { values: options, positionals } = (() => {
    try {
        return parseArgs({
            allowPositionals: true,
            options: {
                resume: { type: "boolean", default: true },
                "no-resume": { type: "boolean", default: false },
                count: { type: "string", short: "C", default: "1000" },
                concurrency: { type: "string", short: "K", default: "100" },
                ca: { type: "string" },
                sni: { type: "string" },
                "tls-max": { type: "string", default: "TLSv1.3" },
                "source-ips": { type: "string", default: "127.0.0.1" },
                "reconnect-timeout": { type: "string", default: "60" },
                "attempt-timeout": { type: "string", default: "10" },
                "retry-delay": { type: "string", default: "1" },
                keepalive: { type: "string", default: "60" },
                watch: { type: "string", multiple: true, default: [] },
                json: { type: "boolean", default: false },
                quiet: { type: "boolean", default: false },
            },
        });
    } catch (error) {
        usageError(error.message);
    }
})();

function seconds(name) {  // "10", "10s" or "500ms" → seconds
    const text = options[name];
    const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text);
    if (!match) usageError(`--${name} must be a duration like 10, 10s or 500ms, not '${text}'`);
    return Number(match[1]) / (match[2] === "ms" ? 1000 : 1);
}
function integer(name, low, high) {
    const value = Number(options[name]);
    if (!Number.isInteger(value) || value < low || value > high) usageError(`--${name} must be ${low}-${high}, not '${options[name]}'`);
    return value;
}

if (positionals.length !== 1) usageError("one wss:// URL is needed");
const url = new URL(positionals[0]);
if (url.protocol !== "wss:") usageError(`the URL must be wss://, not ${url.protocol}`);
const host = url.hostname.replace(/^\[|\]$/g, "");
const port = Number(url.port || 443);
const path = url.pathname + url.search;
if (!isLoopback(host)) usageError(`${host} is not a loopback address: the storm is for loopback only`);
const resume = options.resume && !options["no-resume"];
const count = integer("count", 1, 100_000);
const concurrency = integer("concurrency", 1, 10_000);
const keepalive = integer("keepalive", 0, 65_535);
const reconnectTimeout = seconds("reconnect-timeout");
const attemptTimeout = seconds("attempt-timeout");
const retryDelay = seconds("retry-delay");
if (!["TLSv1.3", "TLSv1.2"].includes(options["tls-max"])) usageError(`--tls-max must be TLSv1.3 or TLSv1.2`);
const ca = options.ca ? fs.readFileSync(options.ca) : undefined;
const servername = options.sni ?? (net.isIP(host) ? undefined : host);
const sourceAddresses = parseSourceAddresses(options["source-ips"]);
const watches = options.watch.map(parseWatch);
const clientIdPrefix = `storm-resumption-${process.pid}-`;

function isLoopback(address) {
    return address === "localhost" || address === "::1" || /^127\.\d+\.\d+\.\d+$/.test(address);
}

function parseSourceAddresses(text) {
    const addresses = [];
    for (const part of text.split(",")) {
        const range = /^127\.(\d+)\.(\d+)\.(\d+)-127\.\1\.\2\.(\d+)$/.exec(part.trim());
        if (range) {
            const [first, last] = [Number(range[3]), Number(range[4])];
            if (first > last || last > 255) usageError(`--source-ips: bad range '${part}'`);
            for (let octet = first; octet <= last; octet++) addresses.push(`127.${range[1]}.${range[2]}.${octet}`);
        } else if (isLoopback(part.trim())) {
            addresses.push(part.trim());
        } else {
            usageError(`--source-ips: '${part}' is not a loopback address or a range like 127.0.0.1-127.0.0.20`);
        }
    }
    return addresses;
}

function parseWatch(text) {
    const match = /^([\w-]+)=(\d+(?:,\d+)*)$/.exec(text);
    if (!match) usageError(`--watch must be LABEL=PID[,PID…], not '${text}'`);
    return { label: match[1], pids: match[2].split(",").map(Number) };
}

const progress = (line) => { if (!options.quiet) process.stderr.write(`storm-resumption: ${line}\n`); };
const now = () => process.hrtime.bigint();
const milliseconds = (nanoseconds) => Number(nanoseconds) / 1e6;

// ---------------------------------------------------------------------------------------------------------------
// One session: TCP → TLS → WebSocket upgrade → CONNECT → CONNACK. Resolves with the open connection and its
// timings, or with the kind of failure, in the words `mqtt-ws-bench storm` uses (http_429, http_other, reset,
// mqtt_refused, connect, tls, timeout, protocol).

class Refusal extends Error {
    constructor(kind, message) {
        super(message);
        this.kind = kind;
    }
}

function mqttConnect(clientId) {
    const id = Buffer.from(clientId, "utf8");
    const variable = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, keepalive >> 8, keepalive & 0xff]);
    const body = Buffer.concat([variable, Buffer.from([id.length >> 8, id.length & 0xff]), id]);
    if (body.length > 127) throw new Error("client id too long for this generator");
    return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

function maskedBinaryFrame(payload) {  // payload < 126 bytes (a CONNECT with a short client id)
    const mask = crypto.randomBytes(4);
    const frame = Buffer.alloc(6 + payload.length);
    frame[0] = 0x82;
    frame[1] = 0x80 | payload.length;
    mask.copy(frame, 2);
    for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i] ^ mask[i % 4];
    return frame;
}

function open(index, session) {
    return new Promise((resolve) => {
        const startedAt = now();
        const key = crypto.randomBytes(16).toString("base64");
        const accept = crypto.createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
        const raw = net.connect({ host, port, localAddress: sourceAddresses[index % sourceAddresses.length] });
        const socket = tls.connect({
            socket: raw, servername, ca, session, maxVersion: options["tls-max"], minVersion: "TLSv1.2",
        });
        const connection = { index, raw, socket, session: undefined, reused: false, transportReadyAt: undefined };
        let buffered = Buffer.alloc(0);
        let settled = false;
        const finish = (result) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            if (result instanceof Refusal) {
                raw.destroy();
                socket.destroy();
            }
            resolve(result);
        };
        const timer = setTimeout(() => finish(new Refusal("timeout", "no CONNACK in time")), attemptTimeout * 1000);
        let connected = false;
        raw.once("connect", () => { connected = true; });
        socket.on("session", (ticket) => { connection.session = ticket; });
        socket.once("secureConnect", () => {
            connection.reused = socket.isSessionReused();
            if (socket.getProtocol() !== "TLSv1.3") connection.session = socket.getSession();
            socket.write(
                `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
                + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
        });
        socket.on("data", (chunk) => {
            buffered = Buffer.concat([buffered, chunk]);
            if (connection.transportReadyAt === undefined) {
                const end = buffered.indexOf("\r\n\r\n");
                if (end < 0) return;
                const head = buffered.subarray(0, end).toString("latin1");
                buffered = buffered.subarray(end + 4);
                const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
                if (status !== "101") {
                    return finish(new Refusal(status === "429" ? "http_429" : "http_other", `upgrade refused: ${head.split("\r\n")[0]}`));
                }
                const acceptLine = head.split("\r\n").find((line) => /^sec-websocket-accept:/i.test(line));
                if (acceptLine?.slice(acceptLine.indexOf(":") + 1).trim() !== accept) {
                    return finish(new Refusal("protocol", "wrong or missing Sec-WebSocket-Accept"));
                }
                connection.transportReadyAt = now();
                socket.write(maskedBinaryFrame(mqttConnect(clientIdPrefix + index)));
            }
            // A server frame: FIN/opcode, unmasked length (a CONNACK is 4 bytes), payload.
            if (buffered.length < 2) return;
            const length = buffered[1] & 0x7f;
            if ((buffered[0] & 0x0f) !== 0x2 || buffered[1] & 0x80 || length > 125) {
                return finish(new Refusal("protocol", `unexpected frame ${buffered.subarray(0, 2).toString("hex")}`));
            }
            if (buffered.length < 2 + length) return;
            const packet = buffered.subarray(2, 2 + length);
            if (packet.length < 4 || packet[0] !== 0x20) return finish(new Refusal("protocol", "first packet is not a CONNACK"));
            if (packet[3] !== 0) return finish(new Refusal("mqtt_refused", `CONNACK return code ${packet[3]}`));
            connection.readyAt = now();
            connection.transportNanoseconds = connection.transportReadyAt - startedAt;
            connection.connackNanoseconds = connection.readyAt - connection.transportReadyAt;
            socket.removeAllListeners("data");
            socket.on("data", () => {});  // PINGRESP and the like: ignored while idle
            finish(connection);
        });
        socket.on("error", (error) => {
            if (!connected) return finish(new Refusal("connect", error.message));
            const code = error.code ?? "";
            if (code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS") || code.includes("CERT")) {
                return finish(new Refusal("tls", error.message));
            }
            finish(new Refusal("reset", error.message));
        });
        raw.on("error", (error) => finish(new Refusal(connected ? "reset" : "connect", error.message)));
        socket.on("close", () => finish(new Refusal(connected ? "reset" : "connect", "closed before CONNACK")));
    });
}

// ---------------------------------------------------------------------------------------------------------------
// /proc sampling of the watched processes: CPU time (utime + stime) and RSS, summed over each label's PIDs.

const clockTicks = (() => {
    try {
        return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
    } catch {
        return 100;
    }
})();

function sample(pids) {
    let cpu = 0;
    let rss = 0;
    for (const pid of pids) {
        try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, "latin1");
            const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
            cpu += (Number(fields[11]) + Number(fields[12])) / clockTicks;
            rss += Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "latin1"))?.[1] ?? 0);
        } catch {
            // An nginx worker that has exited: its time is gone with it.
        }
    }
    return { cpu, rss };
}

// ---------------------------------------------------------------------------------------------------------------

function percentile(sorted, fraction) {
    if (sorted.length === 0) return undefined;
    return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * fraction) - 1)];
}
function latencySummary(nanoseconds) {
    if (nanoseconds.length === 0) return null;
    const sorted = nanoseconds.map(milliseconds).sort((a, b) => a - b);
    const round = (value) => Math.round(value * 1000) / 1000;
    return {
        count: sorted.length, p50_ms: round(percentile(sorted, 0.5)), p90_ms: round(percentile(sorted, 0.9)),
        p99_ms: round(percentile(sorted, 0.99)), p999_ms: round(percentile(sorted, 0.999)),
        max_ms: round(sorted[sorted.length - 1]), mean_ms: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    };
}

async function rampUp() {
    const connections = [];
    const failures = {};
    let next = 0;
    const startedAt = now();
    async function worker() {
        while (next < count) {
            const index = next++;
            const result = await open(index, undefined);
            if (result instanceof Refusal) {
                failures[result.kind] = (failures[result.kind] ?? 0) + 1;
                examples[result.kind] ??= result.message;
            }
            else connections.push(result);
        }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return { connections, failures, seconds: Number(now() - startedAt) / 1e9 };
}

// At most `limit` tasks at once; the others wait in order.
function limiter(limit) {
    let active = 0;
    const waiting = [];
    return async (task) => {
        while (active >= limit) await new Promise((wake) => waiting.push(wake));
        active++;
        try {
            return await task();
        } finally {
            active--;
            waiting.shift()?.();
        }
    };
}

async function reconnect(previous, cutAt) {
    const deadline = cutAt + BigInt(Math.round(reconnectTimeout * 1e9));
    const limited = limiter(concurrency);
    const outcome = { back: [], transport: [], connack: [], attempts: 0, refusals: {}, offered: 0, resumed: 0, connections: [] };
    await Promise.all(previous.map(async (old) => {
        const session = resume ? old.session : undefined;
        while (true) {
            outcome.attempts++;
            if (session) outcome.offered++;
            const result = await limited(() => open(old.index, session));
            if (!(result instanceof Refusal)) {
                outcome.back.push(result.readyAt - cutAt);
                outcome.transport.push(result.transportNanoseconds);
                outcome.connack.push(result.connackNanoseconds);
                if (result.reused) outcome.resumed++;
                outcome.connections.push(result);
                return;
            }
            outcome.refusals[result.kind] = (outcome.refusals[result.kind] ?? 0) + 1;
            examples[result.kind] ??= result.message;
            const delay = retryDelay * (0.5 + Math.random());
            if (now() + BigInt(Math.round(delay * 1e9)) >= deadline) return;
            await new Promise((wake) => setTimeout(wake, delay * 1000));
        }
    }));
    return outcome;
}

// The first message of each kind of failure, for the problems line.
const examples = {};

const round3 = (value) => Math.round(value * 1000) / 1000;

async function main() {
    progress(`opening ${count} sessions, ${concurrency} at a time, to ${url.href} (${resume ? "--resume" : "--no-resume"}, up to ${options["tls-max"]})`);
    const opened = await rampUp();
    const sessions = opened.connections.length;
    const withSession = opened.connections.filter((connection) => connection.session).length;
    progress(`${sessions} sessions open in ${opened.seconds.toFixed(1)} s (${withSession} with a resumable TLS session); cutting all at once`);

    const before = watches.map((watch) => sample(watch.pids));
    const peaks = before.map((usage) => usage.rss);
    const generatorBefore = process.cpuUsage();
    const cutAt = now();
    for (const connection of opened.connections) connection.raw.resetAndDestroy();
    const sampler = setInterval(() => {
        watches.forEach((watch, i) => { peaks[i] = Math.max(peaks[i], sample(watch.pids).rss); });
    }, 100);
    const outcome = await reconnect(opened.connections, cutAt);
    clearInterval(sampler);
    const wallSeconds = Number(now() - cutAt) / 1e9;
    const after = watches.map((watch) => sample(watch.pids));
    const generatorCPU = process.cpuUsage(generatorBefore);
    for (const connection of outcome.connections) connection.socket.destroy();

    const sorted = [...outcome.back].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const secondsUntil = (fraction) => {
        const needed = Math.ceil(sessions * fraction);
        if (needed === 0) return 0;
        return sorted.length >= needed ? round3(Number(sorted[needed - 1]) / 1e9) : null;
    };
    const problems = [];
    if (opened.connections.length < count) problems.push(`${count - sessions} of ${count} sessions could not be opened: ${JSON.stringify(opened.failures)}`);
    if (sorted.length < sessions) problems.push(`${sessions - sorted.length} of ${sessions} sessions were not back ${reconnectTimeout} s after the cut`);
    const generatorSeconds = (generatorCPU.user + generatorCPU.system) / 1e6;
    const report = {
        scenario: "storm",
        generator_kind: "node",
        target: url.href,
        connections: { attempted: count, established: sessions, failed: count - sessions },
        storm: {
            sessions, ramp_seconds: round3(opened.seconds), reconnected: sorted.length,
            seconds_to99_percent: secondsUntil(0.99), seconds_to_all: secondsUntil(1),
            attempts: outcome.attempts, refusals: outcome.refusals,
            transport_handshake: latencySummary(outcome.transport), connack: latencySummary(outcome.connack),
            resume, tls_max: options["tls-max"], sessions_with_ticket: withSession,
            offered: outcome.offered, resumed: outcome.resumed,
        },
        generator: { threads: 1, wall_seconds: round3(wallSeconds), cpu_seconds: round3(generatorSeconds), cores: round3(generatorSeconds / wallSeconds) },
        watched: watches.map((watch, i) => ({
            label: watch.label, pids: watch.pids, cpu_seconds: round3(after[i].cpu - before[i].cpu),
            rss_kib_start: before[i].rss, rss_kib_end: after[i].rss, rss_kib_peak: Math.max(peaks[i], after[i].rss),
        })),
        problems,
        failure_examples: examples,
    };
    const storm = report.storm;
    progress(`${storm.reconnected} of ${sessions} back: 99% after ${storm.seconds_to99_percent ?? "never"} s, all after ${storm.seconds_to_all ?? "never"} s; `
        + `TLS+WS p50/p99 ${storm.transport_handshake?.p50_ms}/${storm.transport_handshake?.p99_ms} ms, `
        + `CONNACK p50/p99 ${storm.connack?.p50_ms}/${storm.connack?.p99_ms} ms; ${storm.attempts} attempts, `
        + `refusals ${JSON.stringify(storm.refusals)}; resumed ${storm.resumed} of ${storm.reconnected} (offered ${storm.offered}); `
        + `generator ${report.generator.cores} cores`
        + report.watched.map((w) => `; ${w.label} CPU ${w.cpu_seconds} s, peak RSS ${Math.round(w.rss_kib_peak / 1024)} MiB`).join(""));
    for (const problem of problems) progress(problem);
    if (Object.keys(examples).length > 0) progress(`first failure of each kind: ${JSON.stringify(examples)}`);
    if (options.json) process.stdout.write(JSON.stringify(report) + "\n");
    process.exitCode = problems.length === 0 ? 0 : 1;
}

main().catch((error) => {
    process.stderr.write(`storm-resumption: ${error.stack ?? error}\n`);
    process.exit(1);
});
