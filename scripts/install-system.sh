#!/usr/bin/env bash
# Install the optional Debian packages the embedded defaults use; skip with a clear message when apt-get is not usable.
# Usage: scripts/install-system.sh [extra packages...]
set -u
packages=(apertium apertium-eng-spa espeak-ng sox dataset-fashion-mnist "$@")
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "note: apt-get not found; skipping optional system packages: ${missing[*]} (translation/vision defaults degrade with a clear message)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; else
    echo "note: not root; skipping optional system packages: ${missing[*]} (install them with: sudo apt-get install ${missing[*]})"
    exit 0
  fi
else
  SUDO=
fi
echo "installing system packages: ${missing[*]}"
$SUDO apt-get update -qq >/dev/null 2>&1 || echo "note: apt-get update failed; trying the install anyway"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
  || echo "note: could not install ${missing[*]}; the defaults that need them report what to install"
exit 0
