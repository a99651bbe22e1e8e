#!/usr/bin/env bash
# npm run bench:fusion:deps: what the fusion benchmark needs beyond `npm install`, from Debian:
# espeak-ng (spoken digits) and sox (noise, resampling) installed, and scikit-learn's digits set
# (digits.csv.gz, inside python3-sklearn) fetched without installing the package. Run as root.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${NOODLE_FUSION_DATA:-$here/.cache/fusion}"
mkdir -p "$data"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends espeak-ng sox >/dev/null
if [ ! -s "$data/digits.csv.gz" ]; then
  tmp="$(mktemp -d)"
  chmod 755 "$tmp"  # apt-get download runs as _apt
  (cd "$tmp" && apt-get download python3-sklearn >/dev/null && dpkg-deb -x python3-sklearn_*.deb x)
  cp "$(find "$tmp/x" -name digits.csv.gz | head -1)" "$data/digits.csv.gz"
  rm -rf "$tmp"
fi
echo "espeak-ng: $(command -v espeak-ng)"
echo "sox: $(command -v sox)"
echo "digits: $data/digits.csv.gz ($(zcat "$data/digits.csv.gz" | wc -l) images)"
