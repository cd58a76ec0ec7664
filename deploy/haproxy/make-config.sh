#!/usr/bin/env bash
# Writes an HAProxy configuration that puts several assayd instances (shards) behind one address:
# gRPC (HTTP/2, cleartext) and the HTTP/JSON API, each call routed to its team's shard by the
# `x-assay-team` header that the CLI (--team / ASSAY_TEAM) and the C++ and Python clients send,
# looked up in a shard map (one "TEAM SHARD" per line; teams not listed go to the first shard).
# Each shard is health-checked on its HTTP /readyz; a shard that fails is taken out of service.
#
# Usage: make-config.sh SHARDS MAP GRPC_BIND HTTP_BIND ADMIN_SOCKET > haproxy.cfg
#   SHARDS        file, one shard per line: NAME GRPC_HOST:PORT HTTP_HOST:PORT
#   MAP           the shard map file (HAProxy reads it at start; change it live through the admin
#                 socket: `set map MAP TEAM SHARD`, see deploy/haproxy/README.md)
#   GRPC_BIND     where clients reach gRPC, e.g. 0.0.0.0:50051 or unix@/run/assay/grpc.sock
#   HTTP_BIND     where clients reach the HTTP API, e.g. 0.0.0.0:8080
#   ADMIN_SOCKET  HAProxy's runtime API socket (stats socket, level admin)
set -euo pipefail
[ $# -eq 5 ] || { sed -n '2,15p' "$0" >&2; exit 2; }
shards=$1 map=$2 grpc_bind=$3 http_bind=$4 admin=$5
first=$(awk 'NF && $1 !~ /^#/ {print $1; exit}' "$shards")
[ -n "$first" ] || { echo "make-config: no shard in $shards" >&2; exit 1; }

cat <<CFG
global
  stats socket $admin mode 600 level admin
  log stderr format raw local0 notice

defaults
  mode http
  log global
  option httplog
  timeout connect 5s
  # Watches and event streams stay open: long client/server/tunnel timeouts.
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h
  timeout http-request 60s

frontend grpc
  bind $grpc_bind proto h2
  http-request set-var(txn.shard) req.hdr(x-assay-team),map($map,$first)
  http-request set-var(txn.shard) str($first) unless { var(txn.shard) -m found }
  use_backend grpc_%[var(txn.shard)]

frontend http
  bind $http_bind
  http-request set-var(txn.shard) req.hdr(x-assay-team),map($map,$first)
  http-request set-var(txn.shard) str($first) unless { var(txn.shard) -m found }
  use_backend http_%[var(txn.shard)]
CFG

while read -r name grpc http; do
  [ -z "${name:-}" ] || [[ $name == \#* ]] && continue
  cat <<CFG

backend grpc_$name
  option httpchk GET /readyz
  # (A shard that is down answers HTTP 503, which gRPC clients read as UNAVAILABLE.)
  server $name $grpc proto h2 check port ${http##*:} addr ${http%:*} check-proto h1 inter 1s

backend http_$name
  option httpchk GET /readyz
  server $name $http check inter 1s
CFG
done < "$shards"
