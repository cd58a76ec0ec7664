#!/usr/bin/env bash
# The layering check passes on the tree and fails on each planted violation, naming the rule.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plant() {  # plant FILE LINE EXPECTED-MESSAGE
  rm -rf "$tmp/tree" && mkdir -p "$tmp/tree"
  (cd "$repo" && git ls-files core server client proto | tar -cf - -T -) | tar -xf - -C "$tmp/tree"
  if [ -n "$1" ]; then printf '%s\n' "$2" >> "$tmp/tree/$1"; fi
  if out=$(bash "$repo/tests/check_layering.sh" "$tmp/tree" 2>&1); then
    if [ -n "$1" ]; then echo "FAIL: planted '$2' in $1 passed"; exit 1; fi
  else
    if [ -z "$1" ]; then echo "FAIL: the clean tree fails: $out"; exit 1; fi
    if ! grep -qF "$3" <<<"$out"; then echo "FAIL: '$2' in $1: expected '$3', got: $out"; exit 1; fi
  fi
}
plant "" "" ""
plant server/grpc/audit_service.cc '#include "server/resources/audits.h"' "the gRPC adapter calls only server/api/"
plant server/resources/audits.cc '#include "server/api/unary.h"' "server/resources/ must not call"
plant server/resources/fits.h '#include <grpcpp/grpcpp.h>' "server/resources/ must not call"
plant server/http/routes.cc '#include "server/storage/storage.h"' "the HTTP adapter calls only server/api/"
plant server/api/call.h '#include "server/grpc/rpc_util.h"' "server/api/ must stay transport-neutral"
plant server/storage/storage.cc '#include "server/runtime/auth.h"' "server/storage/ must not call up"
plant client/cli/output.cc '#include "server/runtime/log.h"' "client/ must not include server/"
plant client/cli/api_keys.cc '#include "assay/v1/teams.grpc.pb.h"' "client/cli/ calls the server only through client/lib/"
plant client/cli/api_keys.cc 'auto stub = v1::TeamService::NewStub(channel);' "client/cli/ calls the server only through client/lib/"
plant client/lib/api.cc '#include "client/cli/output.h"' "client/lib/ must not include the CLI"
plant client/import/csv.cc '#include "client/lib/client.h"' "client/import/ must not include the client library"
plant core/irt/fit.cc '#include <sqlite3.h>' "core/ must stay pure"
echo "layering_test: ok"
