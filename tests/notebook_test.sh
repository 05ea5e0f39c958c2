#!/usr/bin/env bash
# docs/tutorial.ipynb runs from top to bottom against this build: a copy of it is
# executed with jupyter nbconvert (ADVLAB = the binary under test, ADVLAB_SOURCE_DIR
# = the source tree, for python/advlab and the presets). Every lesson asserts what
# it claims, so a drifting tool fails a cell, and nbconvert exits non-zero.
#   notebook_test.sh ADVLAB SOURCE_DIR
# Exit 77 (skipped) only when jupyter-nbconvert or the python3 Jupyter kernel is
# absent (Debian: jupyter-nbconvert python3-ipykernel python3-nbformat).
set -u
ADVLAB=${1:?usage: notebook_test.sh path/to/advlab source_dir}
SRC=${2:?usage: notebook_test.sh path/to/advlab source_dir}
ADVLAB=$(realpath "$ADVLAB"); SRC=$(realpath "$SRC")
NB="$SRC/docs/tutorial.ipynb"
[ -x "$ADVLAB" ] || { echo "FAIL: no advlab binary at $ADVLAB"; exit 1; }
[ -f "$NB" ] || { echo "FAIL: no notebook at $NB"; exit 1; }

NBCONVERT=$(command -v jupyter-nbconvert) || {
  echo "SKIP: jupyter-nbconvert not found (apt-get install jupyter-nbconvert python3-ipykernel python3-nbformat)"
  exit 77
}
# The interpreter jupyter-nbconvert runs under (its shebang) is the one whose
# kernel specs it sees.
PY=$(head -1 "$NBCONVERT" | sed -n 's/^#! *\([^ ]*python[^ ]*\).*/\1/p')
[ -n "$PY" ] || PY=/usr/bin/python3
if ! "$PY" -c "from jupyter_client.kernelspec import KernelSpecManager as K; K().get_kernel_spec('python3')" \
    >/dev/null 2>&1; then
  echo "SKIP: no python3 Jupyter kernel for $NBCONVERT (apt-get install python3-ipykernel)"
  exit 77
fi

T="${TMPDIR:-/tmp}/advlab-notebook-test-$$"
rm -rf "$T"; mkdir -p "$T" || exit 1
trap 'rm -rf "$T"' EXIT
cp "$NB" "$T/tutorial.ipynb" || exit 1

start=$(date +%s)
ADVLAB="$ADVLAB" ADVLAB_SOURCE_DIR="$SRC" TMPDIR="$T" MPLCONFIGDIR="$T/mpl" IPYTHONDIR="$T/ipython" \
  JUPYTER_RUNTIME_DIR="$T/runtime" PYTHONDONTWRITEBYTECODE=1 \
  "$NBCONVERT" --to notebook --execute --ExecutePreprocessor.timeout=600 \
  --output executed.ipynb "$T/tutorial.ipynb" >"$T/log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
  echo "FAIL: jupyter nbconvert --execute docs/tutorial.ipynb exited $rc:"
  sed "s/\x1b\[[0-9;]*m//g" "$T/log" | tail -n 60
  exit 1
fi
# Belt and braces: every code cell ran, none left an error output.
"$PY" - "$T/executed.ipynb" <<'PY' || exit 1
import json, sys
nb = json.load(open(sys.argv[1]))
code = [c for c in nb["cells"] if c["cell_type"] == "code"]
bad = [i for i, c in enumerate(code) if c.get("execution_count") is None
       or any(o.get("output_type") == "error" for o in c.get("outputs", []))]
if not code or bad:
    sys.exit(f"FAIL: code cells not run or with errors: {bad} of {len(code)}")
print(f"notebook_test: docs/tutorial.ipynb: {len(code)} code cells ran without error")
PY
echo "notebook_test: executed in $(( $(date +%s) - start )) s"
