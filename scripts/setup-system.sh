#!/bin/sh
# System libraries thrv needs beyond Python packages, installed only when missing:
#   - pango/harfbuzz/fontconfig and a font, for PDF rendering (WeasyPrint);
#   - Debian's chromium and chromium-driver, for the end-to-end browser tests;
#   - poppler-utils (pdftoppm), for the screenshots of the PDF in docs/screenshots.
# Uses apt-get (Debian/Ubuntu) as root or through sudo; elsewhere it says what is missing.
set -eu
need=""
ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' || need="$need libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libfontconfig1"
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need="$need fonts-dejavu-core"
command -v chromium >/dev/null 2>&1 || need="$need chromium"
command -v chromedriver >/dev/null 2>&1 || need="$need chromium-driver"
command -v pdftoppm >/dev/null 2>&1 || need="$need poppler-utils"  # PDF page images (tools/screenshots.py)
[ -z "$need" ] && exit 0
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing system packages:$need"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
else
  echo "warning: cannot install system packages ($need) without apt-get; PDF output and browser tests need them" >&2
fi
