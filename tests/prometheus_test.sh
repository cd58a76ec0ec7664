#!/usr/bin/env bash
# The real Prometheus (Debian's package) scrapes assayd's /metrics: `promtool check metrics` finds
# nothing to fix, and queries through Prometheus' HTTP API return the request counter and a latency
# quantile from the histogram. Usage: prometheus_test.sh ASSAYD
set -euo pipefail
assayd=$1
command -v prometheus > /dev/null && command -v promtool > /dev/null ||
  { echo "prometheus_test: prometheus and promtool are needed (deploy/install-deps.sh)"; exit 1; }
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# GET URL [KEY]: prints the body (any status).
get() {
  python3 - "$@" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1])
if len(sys.argv) > 2: req.add_header("Authorization", "Bearer " + sys.argv[2])
try:
    print(urllib.request.urlopen(req, timeout=10).read().decode())
except urllib.error.HTTPError as e:
    print(e.read().decode())
PY
}

key=$("$assayd" --db "$tmp/assay.db" team create metrics 2>/dev/null | grep -o 'ak_[0-9a-f]\{64\}')
"$assayd" --db "$tmp/assay.db" --listen 127.0.0.1:0 --http 127.0.0.1:0 2> "$tmp/assayd.log" &
pids+=($!)
url=""
for _ in $(seq 1 200); do
  url=$(sed -n 's#.*HTTP/JSON API on \(http://[^ ]*\).*#\1#p' "$tmp/assayd.log" | head -n 1)
  [ -n "$url" ] && break
  sleep 0.05
done
[ -n "$url" ] || { echo "assayd did not start:"; cat "$tmp/assayd.log"; exit 1; }
traffic() { for _ in $(seq 1 20); do get "${url}v1/benchmarks" "$key" > /dev/null; get "${url}v1/audits" > /dev/null; done; }
traffic

get "${url}metrics" > "$tmp/metrics.txt"
grep -q '^assay_requests_total{transport="http",method="ListBenchmarks",code="OK"} 20$' "$tmp/metrics.txt" ||
  { echo "FAIL: the request counter is missing or wrong:"; cat "$tmp/metrics.txt"; exit 1; }
grep -q '^assay_requests_total{transport="http",method="ListAudits",code="UNAUTHENTICATED"} 20$' "$tmp/metrics.txt" ||
  { echo "FAIL: refused calls are not counted by code"; exit 1; }
lint=$(promtool check metrics < "$tmp/metrics.txt" 2>&1) || { echo "FAIL: promtool: $lint"; exit 1; }
[ -z "$lint" ] || { echo "FAIL: promtool check metrics reports: $lint"; exit 1; }
echo "promtool check metrics: clean ($(grep -c '^assay_' "$tmp/metrics.txt") samples)"

port=$(free_port)
cat > "$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: assayd
    static_configs:
      - targets: ["${url#http://}"]
YML
sed -i 's#/"]$#"]#' "$tmp/prometheus.yml"
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
  --web.listen-address="127.0.0.1:$port" --log.level=warn 2> "$tmp/prometheus.log" &
pids+=($!)
query() {
  python3 - "http://127.0.0.1:$port/api/v1/query" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
try:
    body = urllib.request.urlopen(sys.argv[1] + "?" + urllib.parse.urlencode({"query": sys.argv[2]}), timeout=5).read()
except Exception:
    sys.exit(1)
result = json.loads(body)["data"]["result"]
values = [float(r["value"][1]) for r in result]
values = [v for v in values if v == v]  # drop NaN
print(values[0] if values else "")
PY
}
counter="" quantile=""
for _ in $(seq 1 120); do  # up to 60 s: Prometheus starts, scrapes, and rates need two scrapes
  traffic
  counter=$(query 'sum(assay_requests_total{transport="http",method="ListBenchmarks"})' || true)
  quantile=$(query 'histogram_quantile(0.99, sum by (le) (rate(assay_request_duration_seconds_bucket{transport="http"}[30s])))' || true)
  [ -n "$counter" ] && [ -n "$quantile" ] && break
  sleep 0.5
done
[ -n "$counter" ] || { echo "FAIL: Prometheus never returned the request counter"; cat "$tmp/prometheus.log"; exit 1; }
[ -n "$quantile" ] || { echo "FAIL: Prometheus never returned a latency quantile"; cat "$tmp/prometheus.log"; exit 1; }
python3 -c "import sys; c, q = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if c >= 20 and 0 < q < 10 else 1)" "$counter" "$quantile" ||
  { echo "FAIL: counter $counter, p99 $quantile s"; exit 1; }
echo "prometheus_test: ok (requests counted $counter; p99 latency $quantile s through Prometheus)"
