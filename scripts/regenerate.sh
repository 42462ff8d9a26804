#!/usr/bin/env bash
# Spec update as a pull request: fetch Stripe's newest spec, regenerate generated/, write the diff
# report, and (unless --no-publish) push a branch and open or update a pull request with it.
#
#   scripts/regenerate.sh [--ref TAG_OR_COMMIT] [--no-publish] [--source-url URL] [--remote URL]
#                         [--spec PATH] [--pin PATH] [--out DIR] [--report PATH] [--base BRANCH]
#
# Compute (always): fetch-spec -> generate -> diff (old generated/ vs new) into --report (Markdown,
# the pull-request body; default: beside the spec) and <report>.json. Publish (only when generated/ changed and not
# --no-publish): git branch + commit + push, then `gh pr create` or `gh pr edit`. Needs GH_TOKEN.
# Exit 0 when done (changed or not), non-zero on any failure. The last stdout line is
# `changed=true` or `changed=false` (also written to $GITHUB_OUTPUT when set).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
REF=""
PUBLISH=1
SOURCE_URL=""
REMOTE=""
SPEC="$(dirname "$ROOT")/specs-cache/spec3.yaml"
PIN="$ROOT/specs/stripe.yaml"
OUT="$ROOT/src/stripe_mcp/generated"
REPORT=""
BASE=""

die() { echo "regenerate: error: $*" >&2; exit 2; }
say() { echo "regenerate: $*" >&2; }
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

while [ $# -gt 0 ]; do
  case "$1" in
    --ref) REF="${2:?--ref needs a value}"; shift 2 ;;
    --no-publish) PUBLISH=0; shift ;;
    --source-url) SOURCE_URL="${2:?--source-url needs a value}"; shift 2 ;;
    --remote) REMOTE="${2:?--remote needs a value}"; shift 2 ;;
    --spec) SPEC="$(absolute "${2:?--spec needs a value}")"; shift 2 ;;
    --pin) PIN="$(absolute "${2:?--pin needs a value}")"; shift 2 ;;
    --out) OUT="$(absolute "${2:?--out needs a value}")"; shift 2 ;;
    --report) REPORT="$(absolute "${2:?--report needs a value}")"; shift 2 ;;
    --base) BASE="${2:?--base needs a value}"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/regenerate.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
REPORT="${REPORT:-$(dirname "$SPEC")/regenerate-report.md}"

# The repository's own code, whatever else is installed.
# The checkout's own code, whatever is installed.
stripe_mcp() { (cd "$ROOT" && PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m stripe_mcp "$@"); }

pin_field() {  # pin_field KEY [SUBKEY]: one value of the pin, empty when null
  "$PYTHON" - "$PIN" "$@" <<'EOF'
import sys, yaml
value = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
for key in sys.argv[2:]:
    value = (value or {}).get(key)
print("" if value is None else value)
EOF
}

compute() {
  [ -f "$OUT/manifest.json" ] || die "$OUT is not a generated/ folder (no manifest.json)"
  mkdir -p "$WORK/before"
  cp -R "$OUT" "$WORK/before/generated"
  OLD_TAG="$(pin_field source tag)"; OLD_VERSION="$(pin_field api_version)"

  say "fetching the spec ${REF:-(newest tag)}"
  local args=(fetch-spec --out "$SPEC" --pin "$PIN")
  [ -n "$REF" ] && args+=(--ref "$REF")
  [ -n "$SOURCE_URL" ] && args+=(--source-url "$SOURCE_URL")
  [ -n "$REMOTE" ] && args+=(--remote "$REMOTE")
  stripe_mcp "${args[@]}" >&2

  say "generating $OUT"
  stripe_mcp generate --spec "$SPEC" --out "$OUT" >&2

  NEW_TAG="$(pin_field source tag)"; NEW_COMMIT="$(pin_field source commit)"; NEW_VERSION="$(pin_field api_version)"
  if diff -rq "$WORK/before/generated" "$OUT" >/dev/null 2>&1; then CHANGED=false; else CHANGED=true; fi

  say "writing the report $REPORT"
  mkdir -p "$(dirname "$REPORT")"
  stripe_mcp diff "$WORK/before/generated" "$OUT" --format json > "${REPORT%.md}.json"
  {
    echo "Regenerated \`generated/\` from Stripe's spec at stripe/openapi \`${NEW_TAG:-$NEW_COMMIT}\`" \
         "(API ${NEW_VERSION}; was \`${OLD_TAG:-?}\`, API ${OLD_VERSION})," \
         "by \`scripts/regenerate.sh\`. To reproduce: \`stripe-mcp fetch-spec --ref ${NEW_COMMIT:-$NEW_TAG}\`" \
         "then \`stripe-mcp generate --spec <the spec>\`."
    echo
    stripe_mcp diff "$WORK/before/generated" "$OUT" --format markdown --max-chars 60000
  } > "$REPORT"
}

publish() {
  command -v gh >/dev/null || die "the gh CLI is needed to open the pull request"
  cd "$ROOT"
  local branch="stripe-spec/${NEW_TAG:-${NEW_COMMIT:0:12}}"
  local title="Stripe API ${NEW_VERSION}: regenerate tools (stripe/openapi ${NEW_TAG:-${NEW_COMMIT:0:12}})"
  BASE="${BASE:-$(git rev-parse --abbrev-ref HEAD)}"
  git config user.name >/dev/null || git config user.name "github-actions[bot]"
  git config user.email >/dev/null || git config user.email "41898282+github-actions[bot]@users.noreply.github.com"
  git switch -C "$branch"
  git add -A -- "$OUT" "$PIN"
  git commit -q -m "$title" -m "$(grep -m 1 '^\*\*' "$REPORT" | tr -d '*')"
  git push --force -u origin "$branch"
  if [ "$(gh pr view "$branch" --json state --jq .state 2>/dev/null || true)" = "OPEN" ]; then
    gh pr edit "$branch" --title "$title" --body-file "$REPORT"
  else
    gh pr create --base "$BASE" --head "$branch" --title "$title" --body-file "$REPORT"
  fi
}

compute
if [ "$CHANGED" = true ] && [ "$PUBLISH" = 1 ]; then
  publish
elif [ "$CHANGED" = true ]; then
  say "generated/ changed; not publishing (--no-publish)"
else
  say "generated/ is unchanged: nothing to publish"
fi
[ -n "${GITHUB_OUTPUT:-}" ] && echo "changed=$CHANGED" >> "$GITHUB_OUTPUT"
echo "changed=$CHANGED"
