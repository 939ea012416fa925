#!/usr/bin/env python3
"""docs/DATA.md as a reader in another language sees it.

Reads a run's tables with pyarrow and pandas (not with the polars that wrote them), checks each
file's columns and types against the tables of docs/DATA.md, in order, then runs DATA.md's Python
example on the run's fits.parquet, and its R example too where Rscript and arrow are installed.

    python3 workflow/check_data_md.py ROOT EXPERIMENT     # e.g. target/data-check smoke

Needs pandas and pyarrow (pip install pandas pyarrow). `make data-dictionary-check` runs the smoke
config into target/data-check and calls this. Exits 1 on the first mismatch.
"""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_PATH = "data/E1/fits.parquet"


def documented_tables(md):
    """{file: ([(column, type), ...], written only for some configs)} from DATA.md's sections."""
    tables = {}
    for section in re.split(r"^## ", md, flags=re.M)[1:]:
        title, _, body = section.partition("\n")
        rows = re.findall(r"^\| \d+ \| `([^`]+)` \| ([^|]+) \|", body, flags=re.M)
        if rows:
            optional = " only when " in body.strip().split("\n\n")[0]
            tables[title.strip()] = ([(name, ty.strip()) for name, ty in rows], optional)
    return tables


def code_block(md, language):
    match = re.search(rf"```{language}\n(.*?)```", md, flags=re.S)
    if not match:
        sys.exit(f"DATA.md has no {language} example")
    return match.group(1)


def arrow_type(t):
    name = str(t)
    return "string" if name in ("string", "large_string", "string_view") else name


def csv_type(documented):
    """The pandas dtype kind a documented CSV type reads as."""
    if documented == "integer":
        return "iu"
    if documented.startswith("float"):
        return "f"
    return "OUS"  # strings: object, or pandas' string dtypes


def fail(msg):
    print(f"check_data_md: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    root, experiment = Path(sys.argv[1]), sys.argv[2]
    data = root / "data" / experiment
    md = (REPO / "docs" / "DATA.md").read_text()
    tables = documented_tables(md)
    if not tables:
        fail("no tables found in docs/DATA.md")
    for file, (columns, optional) in tables.items():
        path = data / file
        if not path.exists():
            if optional:
                print(f"{file}: not written by this run (only for some configs)")
                continue
            fail(f"{path}: missing")
        if file.endswith(".parquet"):
            schema = pq.read_schema(path)
            found = [(f.name, arrow_type(f.type)) for f in schema]
            if found != columns:
                fail(f"{file}: pyarrow reads {found}\nDATA.md says {columns}")
            rows = pq.ParquetFile(path).metadata.num_rows
        else:
            frame = pd.read_csv(path)
            names = list(frame.columns)
            if names != [c for c, _ in columns]:
                fail(f"{file}: header {names}\nDATA.md says {[c for c, _ in columns]}")
            for name, documented in columns:
                if len(frame) and frame[name].dtype.kind not in csv_type(documented):
                    fail(f"{file}: pandas reads `{name}` as {frame[name].dtype}, DATA.md says {documented}")
            rows = len(frame)
        print(f"{file}: {len(columns)} columns as documented ({rows} rows)")

    fits = str((data / "fits.parquet").resolve())
    python = code_block(md, "python").replace(EXAMPLE_PATH, fits)
    print("\n$ python3 (DATA.md's example)")
    subprocess.run([sys.executable, "-c", python], check=True)

    r = code_block(md, "r").replace(EXAMPLE_PATH, fits)
    rscript = shutil.which("Rscript")
    if rscript is None:
        print("\nR example: Rscript not found, skipped")
        return
    has_arrow = [rscript, "-e", 'quit(status = !requireNamespace("arrow", quietly = TRUE))']
    if subprocess.run(has_arrow, capture_output=True).returncode != 0:
        print("\nR example: R's arrow package is not installed, skipped")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".R") as script:
        script.write(r)
        script.flush()
        print("\n$ Rscript (DATA.md's example)")
        subprocess.run([rscript, script.name], check=True)


if __name__ == "__main__":
    main()
