#!/usr/bin/env bash
# Which shards of an N-shard run still have planned units without a result?
#
#   workflow/missing_shards.sh N CONFIG...      # in the artifact root (where data/ is)
#
# Prints the shard indices, comma-separated (empty when every unit is done), ready for
# `sbatch --array=...`; a summary per config goes to stderr. A unit is done when a complete line
# of a journal under data/raw/<experiment>/<fingerprint>/ holds it (what `smoe merge` reads;
# a line torn by a kill does not count). Unit i of `smoe plan --list` belongs to shard i mod N,
# as in `smoe run --shard`. If several fingerprints exist (the code or config changed between
# runs), the most recently written one is used. Needs jq. SMOE overrides the binary's path.
set -euo pipefail
if [[ $# -lt 2 || ! "$1" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 N CONFIG..." >&2
    exit 2
fi
n=$1
shift
smoe=${SMOE:-target/release/smoe}
command -v jq >/dev/null || { echo "missing_shards.sh: needs jq (apt-get install jq)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/shards"
for cfg in "$@"; do
    "$smoe" plan --list "$cfg" >"$tmp/plan"
    id=$(head -n 1 "$tmp/plan")
    id=${id%%:*}
    : >"$tmp/done"
    dirs=$(ls -1dt "data/raw/$id"/*/ 2>/dev/null || true)
    dir=$(head -n 1 <<<"$dirs")
    if [[ $(grep -c . <<<"$dirs") -gt 1 ]]; then
        echo "missing_shards.sh: $id has journals of several fingerprints; using the newest, $dir" >&2
    fi
    if [[ -n "$dir" ]] && compgen -G "$dir*.jsonl" >/dev/null; then
        cat "$dir"*.jsonl | jq -R -r 'fromjson? | .key // empty' | sort -u >"$tmp/done"
    fi
    awk -v n="$n" 'NR == FNR { done[$0] = 1; next } FNR > 1 && !($0 in done) { print (FNR - 2) % n }' \
        "$tmp/done" "$tmp/plan" >"$tmp/missing"
    planned=$(($(wc -l <"$tmp/plan") - 1))
    echo "missing_shards.sh: $id: $(wc -l <"$tmp/missing") of $planned units have no result;" \
        "shards: $(sort -n -u "$tmp/missing" | paste -s -d, - | grep . || echo none)" >&2
    cat "$tmp/missing" >>"$tmp/shards"
done
sort -n -u "$tmp/shards" | paste -s -d, -
