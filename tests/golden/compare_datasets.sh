#!/usr/bin/env bash
# Before regenerating the golden digests on purpose: runs every golden config
# (or every STRIDE-th) with two binaries and compares the files dataset by
# dataset. A commit that adds metrics or changes some by design must leave every
# other dataset bit for bit as it was; this prints, per dataset name, how many
# configs differ, and the datasets only one side has.
#   tests/golden/compare_datasets.sh OLD_ADVLAB NEW_ADVLAB [STRIDE]
# Exit 0 always; read the report. Needs /usr/bin/python3 with h5py.
set -eu
OLD=${1:?usage: compare_datasets.sh OLD_ADVLAB NEW_ADVLAB [STRIDE]}
NEW=${2:?usage: compare_datasets.sh OLD_ADVLAB NEW_ADVLAB [STRIDE]}
STRIDE=${3:-1}
DIR=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
"$DIR/golden.sh" "$OLD" --list | awk -v s="$STRIDE" '(NR - 1) % s == 0 {print NR-1 " " $0}' > "$T/configs"
pair() {  # OLD NEW T N ARGS...
  local old=$1 new=$2 dir=$3 n=$4; shift 4
  "$old" run "$@" --out "$dir/$n.old.h5" >/dev/null 2>&1 || true
  "$new" run "$@" --out "$dir/$n.new.h5" >/dev/null 2>&1 || true
}
export -f pair
xargs -P "$(nproc)" -L 1 bash -c 'pair "$@"' _ "$OLD" "$NEW" "$T" < "$T/configs"
/usr/bin/python3 - "$T" <<'EOF'
import glob, os, sys, collections
import h5py, numpy as np
d = sys.argv[1]
differ, only_old, only_new, same, refused = (collections.Counter() for _ in range(5))
files = 0
def datasets(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out
for old in sorted(glob.glob(os.path.join(d, "*.old.h5"))):
    new = old.replace(".old.h5", ".new.h5")
    if not os.path.exists(new):
        refused["new binary refused or crashed"] += 1
        continue
    files += 1
    with h5py.File(old, "r") as a, h5py.File(new, "r") as b:
        da, db = datasets(a), datasets(b)
    for k in da.keys() | db.keys():
        if k not in db: only_old[k] += 1
        elif k not in da: only_new[k] += 1
        elif np.asarray(da[k]).tobytes() == np.asarray(db[k]).tobytes() and np.asarray(da[k]).dtype == np.asarray(db[k]).dtype:
            same[k] += 1
        else: differ[k] += 1
print(f"{files} configs compared")
for name, c in sorted(refused.items()): print(f"  {name}: {c}")
for k in sorted(differ): print(f"  DIFFERS  {k}: {differ[k]} of {differ[k] + same[k]} configs")
for k in sorted(only_old): print(f"  REMOVED  {k}: {only_old[k]} configs")
for k in sorted(only_new): print(f"  NEW      {k}: {only_new[k]} configs")
print(f"  {len(same)} datasets identical wherever present" if not differ else "")
EOF
