#!/usr/bin/env bash
# Fetches Debian's `sqlite3` source package (SQLite's TCL test suite and the code to build
# testfixture) into .cache/tcl/src with `apt-get source`. Adds deb-src entries mirroring the
# machine's Debian `deb` entries when there are none. Safe to run again: does nothing once the
# source is unpacked. Needs root (or sudo) the first time.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest="$root/.cache/tcl/src"
if compgen -G "$dest/sqlite3-*/test/tester.tcl" >/dev/null; then exit 0; fi

sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
for tool in apt-get dpkg-source; do
  command -v "$tool" >/dev/null || { echo "fetch-source: $tool is missing (install dpkg-dev)" >&2; exit 1; }
done

if ! apt-get source --print-uris sqlite3 >/dev/null 2>&1; then
  $sudo apt-get update -qq
fi
if ! apt-get source --print-uris sqlite3 >/dev/null 2>&1; then
  # No deb-src entries: mirror every Debian `deb` entry as `deb-src`, in files of our own.
  echo "fetch-source: adding deb-src entries (/etc/apt/sources.list.d/ltxvfs-deb-src.*)"
  $sudo python3 - <<'PY'
import glob, re
d = "/etc/apt/sources.list.d"
stanzas, lines = [], []
for path in sorted(glob.glob(d + "/*.sources")):
    if path.startswith(d + "/ltxvfs-deb-src"):
        continue
    for stanza in re.split(r"\n\s*\n", open(path).read()):
        fields = dict(re.findall(r"^([A-Za-z-]+):[ \t]*(.*)$", stanza, re.M))
        if ("deb" in fields.get("Types", "").split() and "debian" in fields.get("URIs", "")
                and fields.get("Enabled", "yes") != "no"):
            fields["Types"] = "deb-src"
            stanzas.append("\n".join(f"{k}: {v}" for k, v in fields.items()))
for path in ["/etc/apt/sources.list"] + sorted(glob.glob(d + "/*.list")):
    if path.startswith(d + "/ltxvfs-deb-src"):
        continue
    try:
        text = open(path).read()
    except OSError:
        continue
    lines += [re.sub(r"^\s*deb\s", "deb-src ", l) for l in text.splitlines()
              if re.match(r"^\s*deb\s.*debian", l)]
if stanzas:
    open(d + "/ltxvfs-deb-src.sources", "w").write("\n\n".join(stanzas) + "\n")
if lines:
    open(d + "/ltxvfs-deb-src.list", "w").write("\n".join(lines) + "\n")
if not stanzas and not lines:
    raise SystemExit("fetch-source: no Debian `deb` entry in /etc/apt to mirror as deb-src")
PY
  $sudo apt-get update -qq
fi
mkdir -p "$dest"
cd "$dest"
# As root apt warns that the _apt user cannot write here; harmless, the download still verifies.
apt-get source -qq sqlite3 2>&1 | grep -v -e "^dpkg-source: info" -e "unsandboxed as root" || true
compgen -G "$dest/sqlite3-*/test/tester.tcl" >/dev/null || {
  echo "fetch-source: apt-get source sqlite3 did not unpack a source tree into $dest" >&2; exit 1; }
echo "fetch-source: $(cd "$dest" && ls -d sqlite3-*/) from Debian's sqlite3 source package"
