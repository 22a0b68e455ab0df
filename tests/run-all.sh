#!/usr/bin/env bash
# Runs Skiplane's whole test suite on a fresh Debian/Ubuntu machine with Rust installed.
# It installs what the tests need (Mesa's software Vulkan driver, so the wgpu code path is tested
# for real without a GPU; Xvfb; packaging tools; onnxruntime from PyPI in a venv; cargo-deb),
# then runs every test target. The last line is cargo's own summary.
set -euo pipefail
cd "$(dirname "$0")/.."

need_packages=()
dpkg -s mesa-vulkan-drivers >/dev/null 2>&1 || need_packages+=(mesa-vulkan-drivers)
dpkg -s libvulkan1 >/dev/null 2>&1 || need_packages+=(libvulkan1)
# The window test runs the real app under a virtual X server; winit loads libxkbcommon-x11.
dpkg -s xvfb >/dev/null 2>&1 || need_packages+=(xvfb)
dpkg -s libxkbcommon-x11-0 >/dev/null 2>&1 || need_packages+=(libxkbcommon-x11-0)
# The packaging tests validate the desktop entry, build the .deb (dpkg-dev computes its library
# dependencies) and launch it through the entry with gio.
dpkg -s desktop-file-utils >/dev/null 2>&1 || need_packages+=(desktop-file-utils)
dpkg -s libglib2.0-bin >/dev/null 2>&1 || need_packages+=(libglib2.0-bin)
dpkg -s dpkg-dev >/dev/null 2>&1 || need_packages+=(dpkg-dev)
# The ONNX tests run exported models in onnxruntime, installed from PyPI into a virtual environment.
command -v python3 >/dev/null 2>&1 || need_packages+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_packages+=(python3-venv)
if [ ${#need_packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing ${need_packages[*]} (software Vulkan and a virtual X server, for the GPU and window tests)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_packages[@]}"
fi

# onnxruntime from PyPI, in target/ so a fresh clone builds it once and `cargo clean` removes it.
onnx_venv=target/onnxruntime-venv
if ! "$onnx_venv/bin/python" -c 'import onnxruntime, numpy' >/dev/null 2>&1; then
  echo "installing onnxruntime and numpy from PyPI into $onnx_venv (the ONNX export tests run it)"
  rm -rf "$onnx_venv"
  python3 -m venv "$onnx_venv"
  "$onnx_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "onnxruntime>=1.20,<2" "numpy>=1.26,<3"
fi
export SKIPLANE_PYTHON="$PWD/$onnx_venv/bin/python"
export SKIPLANE_REQUIRE_ONNXRUNTIME=1

# cargo-deb builds the .deb in the packaging test; installed under target/ like the venv.
cargo_tools="$PWD/target/cargo-tools"
if ! "$cargo_tools/bin/cargo-deb" --version >/dev/null 2>&1; then
  echo "installing cargo-deb into $cargo_tools (the packaging test builds the .deb with it)"
  cargo install --quiet --locked cargo-deb --version 3.8.0 --root "$cargo_tools"
fi
export PATH="$cargo_tools/bin:$PATH"
export SKIPLANE_REQUIRE_PACKAGING=1

# The wgpu parity tests must run (on lavapipe if there is no GPU), not skip.
export SKIPLANE_REQUIRE_WGPU=1
# …and so must the test that opens the real window under Xvfb.
export SKIPLANE_REQUIRE_XVFB=1
# Mesa wants a private runtime dir; without one it only warns, but noisily.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  export XDG_RUNTIME_DIR="$(mktemp -d)"
  chmod 700 "$XDG_RUNTIME_DIR"
fi

# --all-targets: unit, integration and bench targets, not doc-tests, so the last summary line is
# the real suite's.
cargo test --all-targets "$@"
