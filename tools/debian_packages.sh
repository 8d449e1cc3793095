#!/usr/bin/env bash
# Install the Debian packages a step needs and the machine lacks (from its configured registry).
# Usage: tools/debian_packages.sh <check>=<package> ...  where <check> is a command name or an
# absolute path (globs allowed), or several separated by |, any of which will do:
#   tools/debian_packages.sh "initdb|/usr/lib/postgresql/*/bin/initdb=postgresql" wrk=wrk
set -euo pipefail
missing=()
for pair in "$@"; do
  checks=${pair%%=*} package=${pair#*=} found=""
  IFS='|' read -ra alternatives <<<"$checks"
  for check in "${alternatives[@]}"; do
    if [[ $check == /* ]]; then
      compgen -G "$check" >/dev/null && found=1
    else
      command -v "$check" >/dev/null 2>&1 && found=1
    fi
  done
  [ -n "$found" ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "installing Debian packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
