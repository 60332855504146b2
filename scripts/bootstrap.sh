#!/usr/bin/env bash
# Installs every Debian 12 package depot needs to build, run and test. Idempotent:
# it asks apt only for what is missing, and runs `apt-get update` at most once.
set -euo pipefail

BUILD_PKGS=(build-essential cmake pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-program-options1.81-dev
  libpugixml-dev libpqxx-dev libpq-dev libssl-dev libcurl4-openssl-dev libspdlog-dev libfmt-dev
  catch2 libargon2-dev libgoogle-perftools-dev postgresql postgresql-contrib openssl ca-certificates curl)
TEST_PKGS=(litmus awscli python3-boto3 rclone s3cmd cadaver python3-aiosmtpd chromium nodejs npm davfs2 apache2 apache2-utils
  golang-go golang-github-aws-aws-sdk-go-v2-dev)

want=("${BUILD_PKGS[@]}")
if [[ "${1:-}" == "--test" ]]; then want+=("${TEST_PKGS[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# nodejs/npm may come from elsewhere on a developer machine: accept any working node + npm.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=(); for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
