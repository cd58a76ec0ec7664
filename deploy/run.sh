#!/usr/bin/env bash
# The run command (README): installs what is missing, builds, starts assayd on a local SQLite file,
# checks it answers and runs the demo (`assay demo`: upload MATH-500, fit, adaptive test, audit). With --once it stops the server afterwards (used by the test command);
# otherwise the server keeps running until Ctrl-C.
#
# Environment: ASSAY_DATA (default ./assay-data) holds the database; ASSAY_LISTEN (default
# 127.0.0.1:50051) is where the gRPC server listens; ASSAY_HTTP (default 127.0.0.1:8080, or the next
# free port up to 8099) is where the HTTP/JSON API, its events and /metrics are served.
set -euo pipefail
cd "$(dirname "$0")/.."
once=0
[ "${1:-}" = "--once" ] && once=1
data=${ASSAY_DATA:-assay-data}
listen=${ASSAY_LISTEN:-127.0.0.1:50051}

bash deploy/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build build -j "${ASSAY_JOBS:-2}" --target assayd assay

mkdir -p "$data"
# The first free port from 8080 (a port that accepts a connection is taken).
http=${ASSAY_HTTP:-}
if [ -z "$http" ]; then
  for p in $(seq 8080 8099); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then http=127.0.0.1:$p; break; fi
  done
  http=${http:-127.0.0.1:0}
fi
if [ "$once" -eq 1 ]; then listen=127.0.0.1:0; http=127.0.0.1:0; fi
log="$data/assayd.log"
# Create the log before the server starts: tee (below) opens it asynchronously, and the port poll
# must not read a file that does not exist yet (with pipefail that failed the whole script).
: > "$log"
build/server/assayd --listen "$listen" --http "$http" --db "$data/assay.db" 2> >(tee "$log" >&2) &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT

# Wait (bounded) for the server to report its port, then check it answers.
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$log" | head -n 1)
  [ -n "$port" ] && break
  kill -0 $server 2>/dev/null || { echo "run: assayd exited; see $log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "run: assayd did not start; see $log" >&2; exit 1; }
address="127.0.0.1:$port"
http_url=$(sed -n 's#.*HTTP/JSON API on \(http[s]*://[^ ]*\).*#\1#p' "$log" | head -n 1)
[ -n "$http_url" ] || { echo "run: assayd did not report its HTTP address; see $log" >&2; exit 1; }
echo "== GET ${http_url}healthz"
python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' \
  "${http_url}healthz"

echo "== assay health --server $address"
build/client/assay --server "$address" health
echo "== assay info --server $address"
build/client/assay --server "$address" info

# The demo on the bundled data (../shared/data beside the checkout), with a team of its own whose
# admin key is kept in the data directory (readable by its owner only).
demo_data=${ASSAY_DEMO_DATA:-../shared/data/math500.csv}
if [ -f "$demo_data" ]; then
  key_file="$data/demo-team.key"
  if [ ! -s "$key_file" ]; then
    (umask 077 && build/server/assayd --db "$data/assay.db" team create "demo-$(date +%s)" \
      > "$key_file.tmp" && mv "$key_file.tmp" "$key_file")
  fi
  echo "== assay --server $address demo $demo_data"
  ASSAY_TOKEN=$(cat "$key_file") build/client/assay --server "$address" --timeout 60 demo \
    "$demo_data"
  echo "(the demo team's API key is in $key_file: KEY=\$(cat $key_file))"
  dashboard_key=$(cat "$key_file")
else
  echo "run: no demo data at $demo_data (set ASSAY_DEMO_DATA); skipping the demo"
fi

if [ "$once" -eq 1 ]; then
  echo "== GET ${http_url} (the dashboard)"
  python3 -c 'import sys, urllib.request; page = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode(); assert "/app.js" in page, page; print("the dashboard is served")' \
    "$http_url"
  kill -TERM $server
  wait $server
  trap - EXIT
  echo "run: assayd stopped cleanly"
  exit 0
fi
echo
echo "assayd is serving gRPC on $address and HTTP on $http_url with database $data/assay.db"
echo "The dashboard: open $http_url in a browser and sign in with the demo team's key:"
echo "  ${dashboard_key:-(no demo team: create one with build/server/assayd --db $data/assay.db team create NAME)}"
echo "(log: $log). Ctrl-C stops it."
wait $server
