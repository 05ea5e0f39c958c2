#!/bin/sh
# Installs the Debian 12 packages advlab needs, only those missing (idempotent).
# Run by `make test` and `make run`; safe to run again.
set -eu
PKGS="g++ clang cmake make git libboost-random-dev libboost-program-options-dev libeigen3-dev \
libhdf5-dev librandom123-dev libgtest-dev libgmock-dev libbenchmark-dev libssl-dev \
python3 python3-h5py python3-matplotlib python3-scipy python3-pandas python3-xarray \
openmpi-bin libopenmpi-dev jupyter-nbconvert python3-ipykernel python3-nbformat"
missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
echo "advlab: installing Debian packages:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "advlab: need root or sudo to install:$missing" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# Install straight away; refresh the package lists only if that fails.
$SUDO apt-get install -y -q --no-install-recommends $missing || {
  $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends $missing
}
