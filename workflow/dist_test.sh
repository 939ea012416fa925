#!/usr/bin/env bash
# Does the `make dist` archive build and run with no network (`make dist-test`)?
#
#   workflow/dist_test.sh [ARCHIVE]     # default: the newest dist/smoe-artifact-*.tar.gz
#
# Unpacks the archive into a scratch directory (SCRATCH, default target/dist-test, wiped first)
# and there, with an empty CARGO_HOME (no registry cache to fall back on), CARGO_NET_OFFLINE=true
# and `--offline --frozen`, inside a network namespace with no network at all when `unshare -n`
# works (as root):
#   1. builds the workspace in release mode (timed: the offline build time),
#   2. runs `smoe verify` (every file against data/manifest.json; the archive must hold every
#      params.parquet, unless ALLOW_INCOMPLETE=1),
#   3. runs the smoke configs (`smoe all`) into a scratch root, and, when this checkout is at the
#      archive's commit and has a built target/release/smoe, checks that the checkout's binary
#      gives the same results (params.parquet byte for byte).
# Only the Rust toolchain of rust-toolchain.toml must be installed (rustup's RUSTUP_HOME is
# left alone). The build takes about 15 minutes on 2 cores.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
scratch=${SCRATCH:-$repo/target/dist-test}
archive=${1:-$(ls -1t "$repo"/dist/smoe-artifact-*.tar.gz 2>/dev/null | head -n 1 || true)}
[[ -n "$archive" && -f "$archive" ]] || {
    echo "dist_test.sh: no archive (run make dist, or pass its path)" >&2
    exit 1
}
archive=$(cd "$(dirname "$archive")" && pwd)/$(basename "$archive")
say() { echo "[dist-test] $*"; }
t_all=$(date +%s)

say "archive $archive: $(stat -c %s "$archive" | awk '{ printf "%.1f MiB", $1 / 1048576 }')"
if [[ -f "$archive.sha256" ]]; then
    (cd "$(dirname "$archive")" && sha256sum -c --quiet "$(basename "$archive").sha256") && say "sha256 matches $(basename "$archive").sha256"
fi
rm -rf "$scratch"
mkdir -p "$scratch/cargo-home"
tar -xzf "$archive" -C "$scratch"
top=$(tar -tzf "$archive" | awk 'NR == 1') # awk reads it all: no SIGPIPE under pipefail
dir=$scratch/${top%%/*}
[[ -f "$dir/Cargo.lock" && -d "$dir/vendor" && -f "$dir/.cargo/config.toml" ]] || {
    echo "dist_test.sh: $archive has no Cargo.lock, vendor/ or .cargo/config.toml" >&2
    exit 1
}
say "unpacked into $dir: $(du -sm "$dir" | cut -f1) MiB, $(ls "$dir/vendor" | wc -l) vendored crates"

# no network: a fresh network namespace (only a downed loopback) when possible, else cargo's own
# offline switches alone (they are set in both cases)
isolate=()
if unshare -n true 2>/dev/null; then
    isolate=(unshare -n)
    say "network: none (unshare -n)"
else
    say "network: unshare -n is not available here; relying on cargo's offline mode"
fi
offline_env=(env CARGO_HOME="$scratch/cargo-home" CARGO_NET_OFFLINE=true CARGO_TARGET_DIR="$dir/target")

cd "$dir"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(date +%s)
say "cargo build --release --workspace --offline --frozen (toolchain $(grep channel rust-toolchain.toml | cut -d'"' -f2))"
TIMEFORMAT='%R s wall, %U s user + %S s system CPU'
build_times=$scratch/build-time.txt
{ time "${isolate[@]}" "${offline_env[@]}" cargo build --release --workspace --offline --frozen 2>&3; } 3>&2 2>"$build_times"
build_s=$(($(date +%s) - t0))
say "offline build: $(cat "$build_times") (load average before: $load0; after: $(cut -d' ' -f1-3 /proc/loadavg))"
[[ -z "$(ls -A "$scratch/cargo-home/registry" 2>/dev/null || true)" ]] || {
    echo "dist_test.sh: cargo wrote to its registry cache during an offline build" >&2
    exit 1
}

say "smoe verify"
verify_log=$scratch/verify.log
"${isolate[@]}" target/release/smoe verify 2>&1 | tee "$verify_log"
if grep -q "archive-only" "$verify_log"; then
    if [[ "${ALLOW_INCOMPLETE:-}" == 1 ]]; then
        say "warning: INCOMPLETE archive (archive-only files missing), allowed by ALLOW_INCOMPLETE=1"
    else
        echo "dist_test.sh: the archive lacks archive-only files (see above)" >&2
        exit 1
    fi
fi

say "smoke configs"
smoke=(workflow/smoke.yaml workflow/smoke_init_none.yaml)
# scratch roots beside the unpacked archive, its sources linked so that the code fingerprint is
# the archive's
for r in smoke-root smoke-checkout; do
    mkdir -p "$scratch/$r"
    ln -s "$dir/Cargo.lock" "$dir/crates" "$scratch/$r/"
done
"${isolate[@]}" target/release/smoe --quiet --root "$scratch/smoke-root" all "${smoke[@]}"
say "smoke configs ran: $(ls "$scratch"/smoke-root/data/*/fits.parquet | wc -l) experiments merged, figures and tables drawn"
rev=$(basename "$archive" .tar.gz)
rev=${rev#smoe-artifact-}
if [[ -x "$repo/target/release/smoe" && "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || true)" == "$rev" ]]; then
    # the checkout's own binary, built from the same commit with its registry: same bits expected
    "$repo/target/release/smoe" --quiet --root "$scratch/smoke-checkout" all "${smoke[@]}"
    for e in smoke smoke_init_none; do
        cmp "$scratch/smoke-root/data/$e/params.parquet" "$scratch/smoke-checkout/data/$e/params.parquet"
    done
    say "smoke results of the archive-built binary equal the checkout's binary's (params.parquet byte for byte)"
fi
say "archive $(basename "$archive"): $(stat -c %s "$archive" | awk '{ printf "%.1f MiB", $1 / 1048576 }') packed," \
    "$(du -sm --exclude=target "$dir" | cut -f1) MiB unpacked; offline build $build_s s wall; total $(($(date +%s) - t_all)) s"
say "PASS"
