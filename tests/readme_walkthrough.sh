#!/usr/bin/env bash
# The newcomer's walkthrough, from the README only: every ```sh block of README.md runs, in order,
# in one shell (variables carry from block to block, as for a reader pasting them), against a real
# assayd started as deploy/run.sh starts it; and every comment line that says what a command prints
# is checked against what it printed (or, for `#   FILE.csv  HEADER`, against the file's header).
#
# What the script changes before running a block, and why (nothing else):
#  - the two setup commands (deploy/run.sh, tests/run.sh) are not run: CI runs the second, which
#    runs the first;
#  - the server's addresses: the README's 127.0.0.1:50051 and 127.0.0.1:8080 become this server's
#    (ports picked at random, so that tests never collide), and `assay` gets --server for them;
#  - the database path assay-data/assay.db becomes this server's database;
#  - `export ASSAY_TOKEN=...` gets the key the walkthrough created;
#  - a command that follows a stream until Ctrl-C (the README says so in its comment) runs for 5 s.
# It runs in a scratch directory whose build/, client/ and ../shared point at the real ones, so
# the files the README's commands write (results/, audit.json, labels.txt) land there.
#
# Usage: readme_walkthrough.sh REPO BUILD_DIR
set -euo pipefail
repo=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
tmp=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/work/build" "$tmp/data"
ln -s "$(cd "$repo/../shared" && pwd)" "$tmp/shared"
ln -s "$build/server" "$tmp/work/build/server"
ln -s "$build/client" "$tmp/work/build/client"
ln -s "$build/python" "$tmp/work/build/python"
ln -s "$repo/client" "$tmp/work/client"
db="$tmp/data/assay.db"

"$build/server/assayd" --db "$db" --listen 127.0.0.1:0 --http 127.0.0.1:0 2> "$tmp/assayd.log" &
server=$!
grpc="" http=""
for _ in $(seq 1 200); do
  grpc=$(sed -n 's/.*listening on port \([0-9]*\).*/127.0.0.1:\1/p' "$tmp/assayd.log" | head -n 1)
  http=$(sed -n 's#.*HTTP/JSON API on http://\([^/]*\)/.*#\1#p' "$tmp/assayd.log" | head -n 1)
  [ -n "$grpc" ] && [ -n "$http" ] && break
  sleep 0.05
done
[ -n "$grpc" ] && [ -n "$http" ] || { echo "walkthrough: assayd did not start"; cat "$tmp/assayd.log"; exit 1; }

# The README's sh blocks, adapted as the header says, each followed by a marker line.
python3 - "$repo/README.md" "$grpc" "$http" "$db" > "$tmp/script.sh" 2> "$tmp/expect.txt" <<'PY'
import re, sys
readme, grpc, http, db = sys.argv[1:5]
blocks, block, inside = [], [], False
for line in open(readme):
    if line.startswith("```sh"):
        inside, block = True, []
    elif line.startswith("```") and inside:
        inside = False
        blocks.append(block)
    elif inside:
        block.append(line.rstrip("\n"))
print("set -eo pipefail")
n = 0
for block in blocks:
    text = "\n".join(block)
    if "deploy/run.sh" in text or "tests/run.sh" in text:
        continue
    n += 1
    out, command = [], ""
    for line in block:
        line = line.replace("127.0.0.1:50051", grpc).replace("127.0.0.1:8080", http)
        line = line.replace("assay-data/assay.db", db)
        line = re.sub(r"build/client/assay ", "build/client/assay --server " + grpc + " ", line)
        line = re.sub(r"^export ASSAY_TOKEN=\.\.\.", 'export ASSAY_TOKEN="$KEY"', line)
        command += line + "\n"
        if line.endswith("\\") or command.startswith("cat >") and line != "JSON":
            continue  # a command goes on
        if "Ctrl-C" in command:  # follows a stream until stopped: give it 5 s
            command = command.rstrip("\n").rsplit("  #", 1)[0]
            if re.match(r"^[A-Z_]+=", command):
                command = "env " + command  # VAR=value cmd: timeout runs `env`
            command = "{ timeout 5 " + command + " || [ $? -eq 124 ]; }\n"
        out.append(command.rstrip("\n"))
        command = ""
    if command:
        out.append(command.rstrip("\n"))
    print("\n".join(out))
    print("echo; echo '@@walkthrough block %d done@@'" % n)
    # Expected output: whole-line comments (a continuation of the line above, indented by ten or
    # more spaces, is skipped; a trailing "   (explanation)" is not part of the output).
    for line in block:
        m = re.match(r"^#( +)(.*)$", line)
        if not m or len(m.group(1)) >= 10:
            continue
        text = re.sub(r"\s{2,}\(.*\)$", "", m.group(2)).rstrip()
        f = re.match(r"^(\S+\.(csv|json))\s{2,}(.*)$", text)
        if f:
            print("%d\tfile\t%s\t%s" % (n, f.group(1), f.group(3) if f.group(2) == "csv" else ""),
                  file=sys.stderr)
        else:
            print("%d\tout\t%s" % (n, text), file=sys.stderr)
PY

cd "$tmp/work"
if ! bash "$tmp/script.sh" > "$tmp/output.txt" 2>&1; then
  echo "walkthrough: a README command failed; output up to it:"
  tail -n 40 "$tmp/output.txt"
  exit 1
fi
blocks=$(grep -c '^@@walkthrough block' "$tmp/output.txt")
fail=0
checks=0
while IFS=$'\t' read -r n kind what header; do
  checks=$((checks + 1))
  # The output of block n: between the markers of blocks n-1 and n.
  part=$(awk -v n="$n" '/^@@walkthrough block/ {b++; next} b == n - 1' "$tmp/output.txt")
  if [ "$kind" = file ]; then
    if [ ! -f "$what" ]; then echo "FAIL block $n: $what was not written"; fail=1; continue; fi
    if [ -n "$header" ] && [ "$(head -n 1 "$what")" != "$header" ]; then
      echo "FAIL block $n: $what starts '$(head -n 1 "$what")', the README says '$header'"; fail=1
    fi
  elif ! grep -qF -- "$what" <<< "$part"; then
    echo "FAIL block $n: the README says it prints '$what'; it printed:"
    echo "$part" | head -n 20
    fail=1
  fi
done < "$tmp/expect.txt"
[ "$fail" -eq 0 ] || exit 1
echo "readme_walkthrough: ok ($blocks README blocks ran; $checks printed lines and files checked)"
