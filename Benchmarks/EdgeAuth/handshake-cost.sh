#!/bin/bash
# The bridge's CPU per new session (TCP [+ TLS] + upgrade + CONNECT/CONNACK) with edge authentication off, ES256 and
# RS256 (the token in the CONNECT's password, so all three runs send the same bytes; only the verification differs).
#
# Usage: Benchmarks/EdgeAuth/handshake-cost.sh <dir with mqtt-ws-bridge and mqtt-ws-bench> [connections] [repetitions]
#   e.g. swift build -c release && Benchmarks/EdgeAuth/handshake-cost.sh .build/release 2000 3
# Needs mosquitto and python3-cryptography (mint-tokens.py signs the tokens). Everything runs on loopback, ephemeral
# ports. The figure is the bridge's utime + stime (/proc/PID/stat, 10 ms ticks) over the run divided by the sessions:
# CPU time, not wall time, so the other processes on the machine disturb it less.
set -euo pipefail
BIN=$(cd "$1" && pwd); N=${2:-2000}; REPS=${3:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d); trap 'kill $MPID 2>/dev/null || true; rm -rf "$WORK"' EXIT
cd "$WORK"; mkdir keys
python3 "$HERE/mint-tokens.py"
"$BIN/mqtt-ws-bridge" dev-cert --directory certs > /dev/null
MP=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_connections -1\n' "$MP" > mosq.conf
mosquitto -c mosq.conf > mosq.log 2>&1 & MPID=$!
sleep 0.5
cat > bridge.yaml <<YAML
listeners:
  wss: {address: 127.0.0.1, port: 0, tls: {certificate: $WORK/certs/server.crt, key: $WORK/certs/server.key}}
  ws: {enabled: true, address: 127.0.0.1, port: 0}
upstream: {host: 127.0.0.1, port: $MP}
admin: {enabled: false}
static_files: {enabled: false}
logging: {access_log: false}
limits: {connection_rate_per_ip: 0, max_sessions_per_ip: 0}
YAML
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TOKEN_es=$(cat es.token); TOKEN_rs=$(cat rs.token)
for rep in $(seq "$REPS"); do
  for transport in wss ws; do
    for mode in off es rs; do
      auth=()
      [ "$mode" != off ] && auth=(--set 'auth.jwt.keys=[keys/es.pem, keys/rs.pem]' --set 'routes.miniprogram.auth.sources=[mqtt_password]')
      token=TOKEN_es; [ "$mode" = rs ] && token=TOKEN_rs
      "$BIN/mqtt-ws-bridge" --config bridge.yaml --log-level notice "${auth[@]}" > bridge.log 2>&1 & BPID=$!
      for _ in $(seq 100); do grep -q "listener=$transport" bridge.log && break; sleep 0.1; done
      port=$(grep "listener=$transport" bridge.log | grep -o 'address=[^ ]*' | head -1 | sed 's/.*://')
      before=$(cpu $BPID)
      opt=(); [ "$transport" = wss ] && opt=(--insecure)
      "$BIN/mqtt-ws-bench" connect "$transport://127.0.0.1:$port/wss" "${opt[@]}" --no-subprotocol -C "$N" -K 20 \
        --username u --password "${!token}" > bench.out 2>&1 || { echo "bench failed:"; cat bench.out; }
      after=$(cpu $BPID)
      rate=$(grep -o '[0-9.,]* conn/s' bench.out | head -1 || true)
      echo "rep=$rep transport=$transport auth=$mode bridge_cpu_us_per_session=$(( (after - before) * 10000 / N )) ($rate)"
      kill -TERM $BPID; wait $BPID 2>/dev/null || true
    done
  done
done
