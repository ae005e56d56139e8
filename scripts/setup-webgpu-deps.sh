#!/usr/bin/env bash
# Install what @peftjs/kernels-webgpu needs to run its tests on a Debian bookworm machine without a GPU:
#   1. a Vulkan driver Dawn accepts: Mesa lavapipe from bookworm-backports (Mesa 25; bookworm's own Mesa 22
#      lavapipe is rejected by Dawn), plus the Vulkan loader;
#   2. Debian's chromium, which the browser test drives with playwright-core (headless, --enable-unsafe-webgpu,
#      SwiftShader adapter). `npx playwright install` cannot download browsers in CI, so the system one is used.
# Idempotent: every step is skipped when what it installs is already there; apt is used only when something is
# missing. Needs root (or sudo) only in that case.
#   usage: scripts/setup-webgpu-deps.sh            (SKIP_CHROMIUM=1 to leave the browser out)
set -euo pipefail

log() { echo "setup-webgpu-deps: $*"; }

SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

# The installed version of a Debian package, or nothing.
installed_version() { dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null | awk '/install ok installed/ {print $4}'; }

need_mesa=1
mesa_ver=$(installed_version mesa-vulkan-drivers || true)
if [ -n "$mesa_ver" ]; then
  major=${mesa_ver%%.*}
  major=${major##*:}
  if [ "${major:-0}" -ge 23 ] 2>/dev/null; then need_mesa=0; fi
fi
need_loader=1
if [ -n "$(installed_version libvulkan1 || true)" ]; then need_loader=0; fi
need_chromium=1
if [ "${SKIP_CHROMIUM:-0}" = "1" ] || command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then need_chromium=0; fi

if [ "$need_mesa$need_loader$need_chromium" = "000" ]; then
  log "mesa-vulkan-drivers ${mesa_ver}, libvulkan1 and chromium already present; nothing to do"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  log "apt-get not found: install by hand a Vulkan driver Dawn accepts (Mesa >= 23 lavapipe or a GPU driver) and chromium"
  exit 1
fi

. /etc/os-release
codename=${VERSION_CODENAME:-bookworm}
export DEBIAN_FRONTEND=noninteractive

# apt checks signatures as its unprivileged sandbox user (_apt), which writes a temporary file into $TMPDIR, or /tmp.
# Where /tmp is not world-writable that fails ("Couldn't create temporary file /tmp/apt.conf.… for passing config to
# apt-key"). Then give apt a temporary directory every user can write (sticky, like /tmp), removed on exit.
apt_env=()
tmp_mode=$(stat -c %a /tmp 2>/dev/null || echo 0)
if [ "$tmp_mode" != "1777" ]; then
  apt_tmp=$($SUDO mktemp -d /var/tmp/peftjs-apt.XXXXXX)
  $SUDO chmod 1777 "$apt_tmp"
  trap '$SUDO rm -rf "$apt_tmp"' EXIT
  log "/tmp is mode $tmp_mode, not world-writable: apt uses TMPDIR=$apt_tmp"
  apt_env=(TMPDIR="$apt_tmp")
fi
apt_get() { $SUDO env "${apt_env[@]}" apt-get "$@"; }

mesa_target=()
if [ "$need_mesa" = "1" ] && [ "$codename" = "bookworm" ]; then
  src=/etc/apt/sources.list.d/backports.sources
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding bookworm-backports ($src)"
    $SUDO tee "$src" >/dev/null <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  mesa_target=(-t bookworm-backports)
fi

log "apt-get update"
apt_get update -qq

if [ "$need_mesa" = "1" ]; then
  log "installing mesa-vulkan-drivers ${mesa_target[*]}"
  apt_get install -y -qq --no-install-recommends "${mesa_target[@]}" mesa-vulkan-drivers libvulkan1
elif [ "$need_loader" = "1" ]; then
  apt_get install -y -qq --no-install-recommends libvulkan1
fi
if [ "$need_chromium" = "1" ]; then
  log "installing chromium"
  apt_get install -y -qq --no-install-recommends chromium fonts-liberation
fi

log "done: mesa-vulkan-drivers $(installed_version mesa-vulkan-drivers), chromium $(installed_version chromium || echo '-')"
