#!/usr/bin/env bash
# Run the official MCP conformance suite against a live server URL.
#
#   tests/mcp/conformance/run.sh http://127.0.0.1:8765/mcp/<token>
#
# Three runs, each with its expected-failure baseline next to this script:
#   0.1.16                                   -> base-0.1.16.yml
#   0.2.0-alpha.12 --requirements 2025-11-25 -> base-2025.yml
#   0.2.0-alpha.12 --requirements 2026-07-28 -> base-2026.yml
# The suite exits 1 on a failure missing from its baseline *or* on a stale baseline entry.
# Needs .ci/install-conformance to have run. Results land in .ci/work/conformance/.
set -uo pipefail

url="${1:?usage: run.sh URL}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
node_dir="$repo/.ci/node"
out="$repo/.ci/work/conformance"

if [[ ! -x "$node_dir/bin/node" ]]; then
    echo "run.sh: $node_dir is missing; run .ci/install-conformance first" >&2
    exit 2
fi
export PATH="$node_dir/bin:$PATH"
rm -rf "$out" && mkdir -p "$out"

status=0
run() {  # run <label> <suite version> <baseline> [extra args...]
    local label="$1" version="$2" baseline="$3"
    shift 3
    echo "=== conformance $label ($version) against $url"
    (cd "$node_dir/c$version" && node_modules/.bin/conformance server --url "$url" \
        --expected-failures "$here/$baseline" -o "$out/$label" "$@") >"$out/$label.log" 2>&1
    local rc=$?
    # The verdict: totals, how many failures the baseline absorbed, anything new or stale.
    sed -n '/^Total:/,$p' "$out/$label.log" | sed 's/\x1b\[[0-9;]*m//g' \
        | awk '/^  ~ /{n++; next} /^Expected failures/{next} NF{print} END{print "Baselined: " n+0}'
    echo "=== $label: exit $rc (log: $out/$label.log)"
    [[ $rc -eq 0 ]] || status=1
}

run 0.1.16 0.1.16 base-0.1.16.yml
run 2025-11-25 0.2.0-alpha.12 base-2025.yml --requirements 2025-11-25
run 2026-07-28 0.2.0-alpha.12 base-2026.yml --requirements 2026-07-28
exit $status
