#!/usr/bin/env bash
# lowprio-gc.sh BINARY [SECONDS] [HOGS]: how long a mining node with mining.low_priority stops
# the world for its garbage collections while HOGS busy shell loops (default 40) keep the cores
# full. It starts BINARY `run` on a fresh home (2 workers, low priority, GOGC=5 so that
# collections are frequent), polls its API for SECONDS (default 30) so that it allocates, and
# prints the node's height, its hash count and go_gc_duration_seconds from /metrics (the
# runtime's stop-the-world pauses). docs/performance.md, "The miners' garbage collector".
set -euo pipefail
bin=${1:?usage: lowprio-gc.sh BINARY [SECONDS] [HOGS]}
secs=${2:-30}
hogs=${3:-40}
home=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
api=127.0.0.1:$port
GOGC=5 ACTORCHAIN_CHAIN_POW_BITS=22 ACTORCHAIN_API_LISTEN=$api ACTORCHAIN_P2P_LISTEN=127.0.0.1:0 \
  ACTORCHAIN_MINING_ENABLED=true ACTORCHAIN_MINING_LOW_PRIORITY=true ACTORCHAIN_MINING_WORKERS=2 \
  "$bin" run --home "$home" --log-format json >"$home/log" 2>&1 &
node=$!
hogpids=()
cleanup() {
  [ ${#hogpids[@]} -gt 0 ] && kill "${hogpids[@]}" 2>/dev/null
  kill -TERM "$node" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$home"
}
trap cleanup EXIT
up=0
for _ in $(seq 1 100); do
  if curl -fsS -m 1 "http://$api/v1/status" >/dev/null 2>&1; then up=1; break; fi
  sleep 0.1
done
[ "$up" = 1 ] || { echo "the node did not answer on $api within 10 s" >&2; tail -n 5 "$home/log" >&2; exit 1; }
for _ in $(seq 1 "$hogs"); do (while :; do :; done) & hogpids+=($!); done
end=$((SECONDS + secs))
while [ "$SECONDS" -lt "$end" ]; do
  curl -fsS -m 10 "http://$api/v1/status" >/dev/null 2>&1 || true
  curl -fsS -m 10 "http://$api/metrics" >/dev/null 2>&1 || true
done
metrics=$(curl -fsS -m 60 "http://$api/metrics")
kill "${hogpids[@]}" 2>/dev/null; wait "${hogpids[@]}" 2>/dev/null || true; hogpids=()
echo "height $(curl -fsS -m 10 "http://$api/v1/status" | jq .height)"
echo "$metrics" | grep -E '^go_gc_duration_seconds|^actorchain_miner_hashes_total'
