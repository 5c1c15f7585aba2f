#!/usr/bin/env bash
# A real Ray cluster on localhost: a head node and two worker nodes, each its own process
# tree with its own resources. LeNet runs in three shards (one Ray actor each, spread over
# the workers); 8 requests are proven through the pipeline and compared with proving the
# unsharded model in one process; then 8 more while worker 2 is killed (SIGKILL to its
# whole process group): Ray restarts its actors on worker 1 and retries their tasks, and
# every request still completes once with its chain verified. Stops the cluster at the end.
#
#   bash examples/ray_cluster.sh [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-8}
WORK=target/ray-cluster
PORT=${RAY_PORT:-6391}
bash scripts/ensure-onnxruntime.sh
if ! .venv/bin/python -c "import zkinfer.ray" 2>/dev/null; then
  echo "installing the zkinfer Python package with its Ray extra into .venv"
  .venv/bin/pip install -q "./python[ray]"
fi
RAY=.venv/bin/ray
mkdir -p "$WORK"
# Node failures are noticed within a few seconds instead of the default 30 or so.
export RAY_health_check_period_ms=1000 RAY_health_check_failure_threshold=3
export RAY_raylet_start_wait_time_s=120
export RAY_USAGE_STATS_ENABLED=0
# Token authentication, the same token for every node and the driver (Ray enables it for
# local clusters by default; a worker joining must present it).
export RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH="$PWD/$WORK/auth_token"
[ -s "$RAY_AUTH_TOKEN_PATH" ] || python3 -c "import secrets; print(secrets.token_hex(32))" >"$RAY_AUTH_TOKEN_PATH"
chmod 600 "$RAY_AUTH_TOKEN_PATH"
cleanup() {
  for p in "${WORKERS[@]:-}"; do kill -9 -- "-$p" 2>/dev/null || true; done
  "$RAY" stop --force >/dev/null 2>&1 || true
}
trap cleanup EXIT
"$RAY" stop --force >/dev/null 2>&1 || true
# The head takes no actors (0 CPUs): the driver runs there, the shards on the workers.
"$RAY" start --head --port "$PORT" --num-cpus 0 --include-dashboard false >"$WORK/head.log" 2>&1
WORKERS=()
for w in 1 2; do
  # Its own session (setsid), so the node can be killed as one process group. One at a time:
  # on a small machine two raylets starting together can miss their registration window.
  setsid "$RAY" start --address "127.0.0.1:$PORT" --num-cpus 3 --resources "{\"worker$w\": 1}" \
    --block >"$WORK/worker$w.log" 2>&1 &
  WORKERS+=($!)
  for _ in $(seq 120); do
    grep -q "block forever" "$WORK/worker$w.log" && break
    kill -0 "${WORKERS[-1]}" 2>/dev/null || { cat "$WORK/worker$w.log"; exit 1; }
    sleep 1
  done
  grep -q "block forever" "$WORK/worker$w.log" || { echo "worker $w did not start"; exit 1; }
done
echo "cluster up: head + 2 workers (worker process groups ${WORKERS[*]})"
.venv/bin/python examples/ray_cluster.py --address "127.0.0.1:$PORT" --work "$WORK" \
  --requests "$N" --kill-pgid "${WORKERS[1]}"
