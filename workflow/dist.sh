#!/usr/bin/env bash
# The archive step of `make dist` (which first runs `smoe all --complete` and `smoe verify`, so
# that every result, including the archive-only params.parquet files, is present and current):
#
#   workflow/dist.sh [--allow-missing-params]
#
# writes dist/smoe-artifact-<commit>.tar.gz (and a .sha256 beside it), one top-level directory
# smoe-artifact-<commit>/ holding
#   * every file git tracks, as in the working tree (sources, Cargo.lock, configs, committed
#     results, figures, tables, manifest, CITATION.cff, .zenodo.json),
#   * data/<experiment>/params.parquet of every experiment (kept out of git: too bulky),
#   * vendor/: the source of every crate in Cargo.lock (`cargo vendor`), and
#   * .cargo/config.toml, which replaces crates.io by vendor/ and sets cargo offline,
# so that the archive builds with no network and no crate registry: `make dist-test` checks it.
# The tar stream is reproducible (sorted names, fixed owner and times, gzip -n): the same inputs
# give the same bytes. --allow-missing-params builds an archive without the params.parquet files
# that are missing (to test the packaging alone; it is not a complete archive).
set -euo pipefail
cd "$(dirname "$0")/.."
allow_missing=
case "${1:-}" in
"") ;;
--allow-missing-params) allow_missing=1 ;;
*)
    echo "usage: $0 [--allow-missing-params]" >&2
    exit 2
    ;;
esac
CARGO=${CARGO:-cargo}
rev=$(git rev-parse --short HEAD)
name=smoe-artifact-$rev
stage=dist/stage
out=dist/$name.tar.gz
t0=$(date +%s)

if [[ -n "$(git status --porcelain --untracked-files=no -- . ':!data' ':!figures')" ]]; then
    echo "dist.sh: warning: tracked sources differ from commit $rev; the archive takes the working tree" >&2
fi
if git ls-files --error-unmatch .cargo/config.toml >/dev/null 2>&1; then
    echo "dist.sh: the repository tracks .cargo/config.toml; merge the vendoring into it by hand" >&2
    exit 1
fi

# the Zenodo metadata must agree with CITATION.cff (title, licence) and Cargo.toml (version)
if command -v jq >/dev/null; then
    cff_title=$(sed -n 's/^title: "\(.*\)"$/\1/p' CITATION.cff)
    cff_license=$(sed -n 's/^license: "\(.*\)"$/\1/p' CITATION.cff)
    version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml)
    z_title=$(jq -r .title .zenodo.json)
    z_license=$(jq -r .license .zenodo.json)
    z_version=$(jq -r .version .zenodo.json)
    if [[ "$z_title" != "$cff_title" || " ${cff_license//[()]/} " != *" $z_license "* || "$z_version" != "$version" ]]; then
        echo "dist.sh: .zenodo.json (title '$z_title', license $z_license, version $z_version) disagrees with" \
            "CITATION.cff ('$cff_title', $cff_license) or Cargo.toml (version $version)" >&2
        exit 1
    fi
else
    echo "dist.sh: warning: no jq, .zenodo.json not checked against CITATION.cff" >&2
fi

# every experiment with results in git must ship its params.parquet
missing=()
for fits in $(git ls-files 'data/*/fits.parquet'); do
    params=${fits%/fits.parquet}/params.parquet
    [[ -f "$params" ]] || missing+=("$params")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ -n "$allow_missing" ]]; then
        echo "dist.sh: warning: INCOMPLETE archive, without ${missing[*]}" >&2
    else
        echo "dist.sh: missing ${missing[*]}: run \`make dist\` (smoe all --complete) first" >&2
        exit 1
    fi
fi

rm -rf "$stage"
mkdir -p "$stage/$name/.cargo"
{
    git ls-files | while IFS= read -r f; do [[ -e "$f" ]] && printf '%s\n' "$f"; done
    ls data/*/params.parquet 2>/dev/null || true
} | sort -u >dist/files.txt
tar -cf - -T dist/files.txt | tar -xf - -C "$stage/$name"

# vendor every crate of Cargo.lock (all platforms, dev-dependencies included: the tests and
# benches build offline too)
"$CARGO" vendor --quiet --locked --versioned-dirs "$stage/$name/vendor" >/dev/null
cat >"$stage/$name/.cargo/config.toml" <<'TOML'
# Written by `make dist` (workflow/dist.sh): build from the crate sources in vendor/, which hold
# every package of Cargo.lock, and never reach for the network. To update dependencies, delete
# this file and vendor/ and use a normal checkout.
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "vendor"

[net]
offline = true
TOML

# reproducible tar stream: sorted, owner root, every time set to the commit's
commit_time=$(git log -1 --format=%ct HEAD)
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$commit_time" --format=gnu \
    -C "$stage" -cf - "$name" | gzip -n -6 >"$out.tmp"
mv "$out.tmp" "$out"
(cd dist && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")
rm -rf "$stage"

vendored=$(tar -tzf "$out" | grep -c "^$name/vendor/[^/]*/$" || true)
echo "dist.sh: $out: $(stat -c %s "$out" | awk '{ printf "%.1f", $1 / 1048576 }') MiB, $(wc -l <dist/files.txt) artifact files" \
    "+ $vendored vendored crates, sha256 $(cut -c1-16 "dist/$name.tar.gz.sha256")..., $(($(date +%s) - t0)) s"
echo "$out"
