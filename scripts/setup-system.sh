#!/bin/sh
# System libraries thrv needs beyond Python packages, installed only when missing:
#   - pango/harfbuzz/fontconfig and a font, for PDF rendering (WeasyPrint);
#   - Debian's chromium and chromium-driver, for the end-to-end browser tests;
#   - a Java runtime (17 or newer), for the Spark engine and its tests (Debian's headless JRE);
#   - poppler-utils (pdftoppm), for the screenshots of the PDF in docs/screenshots.
# Uses apt-get (Debian/Ubuntu) as root or through sudo; elsewhere it says what is missing.
set -eu
need=""
ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' || need="$need libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libfontconfig1"
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need="$need fonts-dejavu-core"
command -v chromium >/dev/null 2>&1 || need="$need chromium"
command -v chromedriver >/dev/null 2>&1 || need="$need chromium-driver"
command -v pdftoppm >/dev/null 2>&1 || need="$need poppler-utils"  # PDF page images (tools/screenshots.py)
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1; }
need_java=""
if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ] 2>/dev/null; then
  need_java="yes"
fi
[ -z "$need$need_java" ] && exit 0
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  if [ -n "$need_java" ]; then  # the first headless JRE 17+ this Debian release has
    for jre in openjdk-17-jre-headless openjdk-21-jre-headless default-jre-headless; do
      if apt-cache show "$jre" >/dev/null 2>&1; then need="$need $jre"; break; fi
    done
    $SUDO mkdir -p /usr/share/man/man1  # slim images lack it and the JRE's set-up needs it
  fi
  echo "installing system packages:$need"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
else
  echo "warning: cannot install system packages ($need${need_java:+ a Java 17+ runtime}) without apt-get; PDF output, browser tests and Spark need them" >&2
fi
