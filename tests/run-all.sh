#!/usr/bin/env bash
# Runs Skiplane's whole test suite on a fresh Debian/Ubuntu machine with Rust installed.
# It installs what the tests need (Mesa's software Vulkan driver, so the wgpu code path is tested
# for real without a GPU), then runs every test target. The last line is cargo's own summary.
set -euo pipefail
cd "$(dirname "$0")/.."

need_packages=()
dpkg -s mesa-vulkan-drivers >/dev/null 2>&1 || need_packages+=(mesa-vulkan-drivers)
dpkg -s libvulkan1 >/dev/null 2>&1 || need_packages+=(libvulkan1)
# The window test runs the real app under a virtual X server; winit loads libxkbcommon-x11.
dpkg -s xvfb >/dev/null 2>&1 || need_packages+=(xvfb)
dpkg -s libxkbcommon-x11-0 >/dev/null 2>&1 || need_packages+=(libxkbcommon-x11-0)
if [ ${#need_packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing ${need_packages[*]} (software Vulkan and a virtual X server, for the GPU and window tests)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_packages[@]}"
fi

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
