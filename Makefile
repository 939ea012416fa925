# Make only orchestrates: `smoe` decides what is stale from content fingerprints (config +
# source), so a fresh checkout with committed results does not rerun the simulations.
CARGO   ?= cargo
SMOE    := target/release/smoe
E1      := workflow/e1_regime1.yaml
E2      := workflow/e2_regime2.yaml
E3      := workflow/e3_softmax_truth.yaml
E4      := workflow/e4_gelu.yaml
E5      := workflow/e5_input_independent.yaml
E6      := workflow/e6_sigmoid_truth_both_gates.yaml
S1      := workflow/s1_init_none.yaml
S2      := workflow/s2_init_shrinking.yaml
# the protocol search on the data of E1-E3 (which reading of the paper's SGD reproduces its curves)
PS      := workflow/ps1_protocol_search.yaml workflow/ps2_protocol_search.yaml workflow/ps3_protocol_search.yaml
# the lower-bound experiments (truths moving with n along the proofs' two-point constructions)
LB      := workflow/lb3_lower_bound.yaml workflow/lb4_lower_bound.yaml
# units of E3 rerun with its former iteration budget (how far the cap moved the losses)
BC      := workflow/bc3_budget_check.yaml
# the settings of E1-E3 with five truth draws each
TV      := workflow/tv1_truth_variability.yaml workflow/tv2_truth_variability.yaml workflow/tv3_truth_variability.yaml
# E1-E3 are the paper's figures; the rest go beyond it (see README). Ordered so that the paper's
# figures come first and the costliest experiments last.
CONFIGS := $(E1) $(E2) $(E3) $(BC) $(PS) $(LB) $(E5) $(TV) $(S1) $(S2) $(E6) $(E4)
# the phase diagram (also `make phase` alone): its columns cost about as much as everything else
PHASE   := $(sort $(wildcard workflow/phase_*.yaml))

.PHONY: all phase build test bench e1 e2 e3 e4 e5 e6 s1 s2 figures tables data-dictionary data-dictionary-check verify clean smoke dist dist-test cluster-test

# everything: every experiment and the phase diagram, so that `make clean all` reruns it all
all: build
	bash workflow/resume_journals.sh
	$(SMOE) data-dictionary
	$(SMOE) all $(CONFIGS) $(PHASE)

# the phase diagram alone over gate scale x expert x truth gate (figures/phase_diagram.md),
# reported with the other experiments where their results are current
phase: build
	bash workflow/resume_journals.sh
	$(SMOE) all $(PHASE) --report-with $(CONFIGS)

build:
	$(CARGO) build --release --locked --workspace

# style first (fast), then the tests, then the live single-node Slurm run of the smoke configs
# (about a minute with Slurm installed, plus the Debian packages on a fresh machine) when it can
# run: as root with Slurm or apt-get; elsewhere it says it was skipped and why. CI runs exactly
# this, and under CI=true the Slurm test is required.
test:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) test --release --locked --workspace
	bash workflow/cluster_test.sh --when-possible

# speed: GFLOP/s of single fits against the machine's peak, scaling in n and k, and the
# paper-faithful SGD sweep of E1-E3 with 1 and 2 threads; then criterion's statistics; then the
# scipy peer (the same least-squares units with scipy's trf, side by side, target/scipy_peer/peer.md)
bench: build
	$(SMOE) bench $(E1) $(E2) $(E3)
	$(CARGO) bench --locked -p smoe-estimator --bench fit
	bash workflow/scipy_peer.sh

# one experiment: run what is missing, merge, fit rates
e1 e2 e3 e4 e5 e6 s1 s2: build
	$(SMOE) run $($(shell echo $@ | tr a-z A-Z))
	$(SMOE) merge $($(shell echo $@ | tr a-z A-Z))
	$(SMOE) rates $($(shell echo $@ | tr a-z A-Z))

figures: build
	$(SMOE) figures $(CONFIGS) $(PHASE)

tables: build
	$(SMOE) tables $(CONFIGS) $(PHASE)

# docs/DATA.md, the data dictionary of every table, from crates/report/src/dictionary.rs (a test
# fails when the committed file differs, or when a row struct has a column the dictionary lacks)
data-dictionary: build
	$(SMOE) data-dictionary

# docs/DATA.md as another language reads it: pyarrow's and pandas' view of a smoke run's tables
# against DATA.md's columns and types, then DATA.md's Python example (and its R example where
# Rscript is installed) on the smoke fits.parquet. Needs python3 with pandas and pyarrow.
data-dictionary-check: build
	$(SMOE) --quiet --root target/data-check all workflow/smoke.yaml
	python3 workflow/check_data_md.py target/data-check smoke

verify: build
	$(SMOE) verify

smoke: build
	$(SMOE) --root target/smoke-root all workflow/smoke.yaml

# A live single-node Slurm cluster (as root, Debian): installs slurm and munge, starts the daemons,
# runs the smoke configs as a job array through workflow/slurm.sh with one task cancelled and
# resubmitted, and checks the merged results against a single-process run bit for bit.
# Scratch in target/cluster-test; see docs/CLUSTER.md.
cluster-test: build
	bash workflow/cluster_test.sh

# Every result directory (every experiment's data/<id>/, the journals data/raw, the cache) and the
# manifest, so that `make clean all` reruns everything from nothing; the logs of past runs
# (data/*.log, cited by docs/PROTOCOL.md and docs/NOTES.md) stay.
clean:
	rm -rf data/*/ data/manifest.json
	rm -f figures/*.png figures/*.svg figures/*.md figures/*.csv

# A self-contained archive that builds offline: sources, Cargo.lock, configs, results (including
# the archive-only params.parquet files), figures, tables, manifest, CITATION.cff and .zenodo.json,
# with every crate vendored (vendor/ and .cargo/config.toml). The archive step alone is
# workflow/dist.sh; see docs/ARCHIVE.md.
dist: build
	$(SMOE) all --complete $(CONFIGS)
	$(SMOE) verify
	bash workflow/dist.sh

# Unpack the newest dist/ archive into target/dist-test and, with no network and an empty
# CARGO_HOME, build it (--offline --frozen), verify it and run the smoke configs (~15 min).
dist-test:
	bash workflow/dist_test.sh
