#!/usr/bin/env bash
# A three-node noodled mesh on one machine, in one terminal.
#
#   bash examples/local-mesh.sh          # start, show the mesh, keep running until Ctrl-C
#   bash examples/local-mesh.sh --once   # start, show the mesh, stop (used by the test suite)
#
# Each daemon gets its own repo under $MESH_DIR (default: a new temp dir), the
# `local` profile and an ephemeral loopback port; b and c bootstrap from a.
set -euo pipefail
cd "$(dirname "$0")/.."

noodled() { node dist/bin/main.js "$@"; }
[ -x dist/bin/main.js ] || npm run build

created=""
if [ -z "${MESH_DIR:-}" ]; then MESH_DIR=$(mktemp -d /tmp/noodle-mesh.XXXX); created=1; fi
pids=()
cleanup() {
  for name in a b c; do noodled --repo "$MESH_DIR/$name" stop >/dev/null 2>&1 || true; done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # repos we made ourselves go; a MESH_DIR the caller chose is kept
  if [ -n "$created" ]; then rm -rf "$MESH_DIR"; fi
}
trap cleanup EXIT INT TERM

start() { # name [extra args...]
  local name=$1; shift
  noodled --repo "$MESH_DIR/$name" start --profile local --listen /ip4/127.0.0.1/tcp/0 "$@" \
    >"$MESH_DIR/$name.out" 2>"$MESH_DIR/$name.log" &
  pids+=($!)
  for _ in $(seq 1 300); do
    grep -q 'daemon is ready' "$MESH_DIR/$name.out" 2>/dev/null && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$MESH_DIR/$name.log" >&2; return 1; }
    sleep 0.1
  done
  echo "daemon $name did not start" >&2; return 1
}

start a
BOOTSTRAP=$(noodled --repo "$MESH_DIR/a" id --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).addrs[0]))')
echo "a listens on $BOOTSTRAP"
start b --bootstrap "$BOOTSTRAP"
start c --bootstrap "$BOOTSTRAP"

# wait until every daemon sees the other two (b and c find each other through the DHT)
for _ in $(seq 1 300); do
  n=0
  for name in a b c; do
    count=$(noodled --repo "$MESH_DIR/$name" status --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).peers))')
    [ "$count" -ge 2 ] && n=$((n + 1))
  done
  [ "$n" -eq 3 ] && break
  sleep 0.1
done

for name in a b c; do
  echo
  echo "== noodled --repo $MESH_DIR/$name peers"
  noodled --repo "$MESH_DIR/$name" peers
done

if [ "${1:-}" = "--once" ]; then
  echo; echo "mesh of 3 formed; stopping"
  exit 0
fi
echo
echo "mesh running; repos in $MESH_DIR. Try: node dist/bin/main.js --repo $MESH_DIR/a status"
echo "Ctrl-C stops all three."
wait
