#!/usr/bin/env bash
# Restore the run journals of a sweep that a session left unfinished (data/resume/, committed
# gzipped because data/raw/ is not in git) into data/raw/, so that `make all` on a fresh clone
# resumes those experiments instead of rerunning their finished units. A journal is restored
# only where data/raw/ has none, and only if its directory is named by the experiment's current
# fingerprint (otherwise `smoe run` ignores it anyway and reruns, as for any stale journal).
# Called by `make all` and `make phase`; does nothing when data/resume/ is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -d data/resume ]] || exit 0
shopt -s nullglob
for gz in data/resume/*/*/*.jsonl.gz; do
    rel=${gz#data/resume/}
    out="data/raw/${rel%.gz}"
    if [[ -e "$out" ]]; then
        echo "resume: $out exists; kept"
        continue
    fi
    mkdir -p "$(dirname "$out")"
    gzip -dc "$gz" > "$out.tmp"
    mv "$out.tmp" "$out"
    echo "resume: restored $out ($(wc -l < "$out") finished units)"
done
