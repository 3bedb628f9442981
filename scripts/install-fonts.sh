#!/usr/bin/env bash
# Documents need a CJK font (Chinese never prints as boxes) and an emoji font (user text may carry emoji; PDF/A
# refuses a glyph it cannot show). Debian's packages, installed when missing; a fresh machine runs this as root.
set -euo pipefail
packages=(fonts-noto-cjk fonts-noto-color-emoji)
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install Debian's ${packages[*]} (documents need them), then run this again" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null; }
