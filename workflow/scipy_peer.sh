#!/usr/bin/env bash
# The scipy peer of `make bench` (issue 23.4): the same least-squares units fitted by the
# project's estimator and by scipy.optimize.least_squares(method="trf") with an analytic Jacobian,
# both on one thread, side by side (workflow/scipy_peer.py says how the stopping rules are matched).
# Installs numpy and scipy into a virtual environment under target/ itself.
#   bash workflow/scipy_peer.sh [OUT]   (default target/scipy_peer; the table goes to OUT/peer.md)
# UNITS overrides the unit list: "CONFIG SETTING GATE N REPS" entries separated by ';'.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/scipy_peer}
venv=target/scipy-venv
if ! "$venv/bin/python" -c "import numpy, scipy" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet numpy scipy
fi
cargo build --release --locked -p smoe-studies --example export_units
units=${UNITS:-"workflow/e1_regime1.yaml relu sigmoid 12915 1;workflow/e1_regime1.yaml linear sigmoid 12915 1;workflow/e1_regime1.yaml relu sigmoid 100000 1"}
rm -rf "$out"
mkdir -p "$out"
dirs=()
IFS=';' read -ra list <<<"$units"
for u in "${list[@]}"; do
    # shellcheck disable=SC2086
    while read -r d; do dirs+=("$d"); done < <(./target/release/examples/export_units $u "$out")
done
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
"$venv/bin/python" --version
"$venv/bin/python" -c "import numpy, scipy; print('numpy', numpy.__version__, 'scipy', scipy.__version__)"
"$venv/bin/python" workflow/scipy_peer.py "${dirs[@]}" | tee "$out/peer.md"
