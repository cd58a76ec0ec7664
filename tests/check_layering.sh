#!/usr/bin/env bash
# Layering rules (ARCHITECTURE.md), checked in CI:
#  - core/ is pure: no gRPC, protobuf, SQLite or stream I/O includes, and its CMake target links
#    only Eigen and Abseil;
#  - only server/storage/ includes sqlite3.h;
#  - client/ never includes server/ (it talks to the server only through proto), and is layered
#    (ARCHITECTURE.md, "The client's libraries"): the CLI (client/cli/) reaches the server only
#    through the client library (client/lib/: no gRPC includes, no stubs of its own); the library
#    includes neither the CLI nor CLI11; the importers (client/import/) include neither, nor gRPC;
#  - Eigen is included only through core/base/eigen.h;
#  - server/ is layered (ARCHITECTURE.md, "The server's layers"): the adapters grpc/ and http/ call
#    only api/; api/ calls resources/ (and runtime/, storage/); resources/ call runtime/ and
#    storage/; runtime/ calls storage/; storage/ calls nothing above it. Only grpc/ includes gRPC.
# Usage: check_layering.sh [ROOT] (default: this repository).
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
fail=0
report() { echo "layering: $*" >&2; fail=1; }

if hits=$(grep -rnE '#include *[<"](grpcpp|grpc/|sqlite3\.h|google/protobuf|assay/v1/|server/|client/|fstream|iostream)' core); then
  report "core/ must stay pure; offending includes:"; echo "$hits" >&2
fi
links=$(sed -n '/target_link_libraries(assay_core/,/)/p' core/CMakeLists.txt | tr -d '()' | tr ' ' '\n' |
        grep -vE '^(target_link_librariesassay_core|PUBLIC|PRIVATE|INTERFACE|Eigen3::Eigen|absl::[a-z_]+|)$' || true)
if [ -n "$links" ]; then report "assay_core links more than Eigen and Abseil: $links"; fi
if hits=$(grep -rln 'sqlite3\.h' --include='*.h' --include='*.cc' . | grep -v '^./server/storage/' | grep -vE '^./build'); then
  report "only server/storage/ may include sqlite3.h:"; echo "$hits" >&2
fi
if hits=$(grep -rnE '#include *[<"]Eigen/' core server client tests | grep -v '^core/base/eigen.h:'); then
  report "include Eigen through core/base/eigen.h (it silences GCC 12's false AVX-512 warnings):"
  echo "$hits" >&2
fi
if hits=$(grep -rnE '#include *"server/' client); then
  report "client/ must not include server/:"; echo "$hits" >&2
fi
# forbid DIR REGEX WHY: DIR's sources must not include anything matching REGEX.
forbid() {
  local dir=$1 regex=$2 why=$3
  [ -d "$dir" ] || return 0
  if hits=$(grep -rnE "#include *[<\"]($regex)" "$dir" --include='*.h' --include='*.cc'); then
    report "$why:"; echo "$hits" >&2
  fi
}
forbid server/storage 'server/(runtime|resources|api|grpc|http)/' "server/storage/ must not call up"
forbid server/runtime 'server/(resources|api|grpc|http)/|grpcpp|grpc/' \
  "server/runtime/ must not call up or include gRPC"
forbid server/resources 'server/(api|grpc|http)/|grpcpp|grpc/' \
  "server/resources/ must not call the API layer or an adapter, nor include gRPC"
forbid server/api 'server/(grpc|http)/|grpcpp|grpc/' \
  "server/api/ must stay transport-neutral"
forbid server/grpc 'server/(resources|storage|http)/|server/runtime/(auth|commit_queue|executor)' \
  "the gRPC adapter calls only server/api/ (and the log)"
forbid server/http 'server/(resources|storage|grpc)/|server/runtime/(auth|commit_queue|executor)|grpcpp' \
  "the HTTP adapter calls only server/api/ (and the log)"
forbid client/lib 'client/cli/|CLI/' "client/lib/ must not include the CLI or CLI11"
forbid client/import 'client/(lib|cli)/|grpcpp|grpc/|assay/v1/.*grpc' \
  "client/import/ must not include the client library, the CLI or gRPC"
forbid client/cli 'grpcpp|grpc/|assay/v1/.*\.grpc\.pb\.h' \
  "client/cli/ calls the server only through client/lib/"
if [ -d client/cli ] && hits=$(grep -rnE 'NewStub|grpc::' client/cli --include='*.h' --include='*.cc'); then
  report "client/cli/ calls the server only through client/lib/ (no stubs of its own):"
  echo "$hits" >&2
fi
[ "$fail" -eq 0 ] && echo "layering: ok"
exit "$fail"
