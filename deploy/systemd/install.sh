#!/usr/bin/env bash
# Installs parakeet-server as a systemd service running this checkout.
#
#   sudo bash deploy/systemd/install.sh             install, enable and start
#   bash deploy/systemd/install.sh --root DIR       only write the files under DIR (no user,
#                                                   no systemctl): to inspect or test them
#   options: --user NAME (default parakeet, created as a system user when missing)
#            --app-dir DIR (default this checkout)
#
# Writes /etc/systemd/system/parakeet-server.service and, unless it exists,
# /etc/parakeet-server/parakeet-server.env. Run bash scripts/setup.sh first (Deno and ONNX
# Runtime in .tools/; the service user must be able to read the checkout).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
app_dir=$(cd "$here/../.." && pwd)
user=parakeet
dest_root=""
while [ $# -gt 0 ]; do
  case "$1" in
    --root) dest_root=${2:?--root needs a directory}; shift 2 ;;
    --user) user=${2:?--user needs a name}; shift 2 ;;
    --app-dir) app_dir=${2:?--app-dir needs a directory}; shift 2 ;;
    -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$user" =~ ^[a-z_][a-z0-9_-]*$ ]] || { echo "install.sh: --user must be a plain user name, got '$user'" >&2; exit 2; }
[ -x "$app_dir/parakeet-server" ] || { echo "install.sh: $app_dir/parakeet-server not found; --app-dir must be a parakeet-server checkout" >&2; exit 2; }
case "$app_dir" in *[[:space:]@]*) echo "install.sh: the app directory may not contain spaces or @: '$app_dir'" >&2; exit 2 ;; esac

unit_dir="$dest_root/etc/systemd/system"
env_dir="$dest_root/etc/parakeet-server"
mkdir -p "$unit_dir" "$env_dir"
tmp=$(mktemp "$unit_dir/.parakeet-server.service.XXXXXX")
sed -e "s|@APP_DIR@|$app_dir|g" -e "s|@USER@|$user|g" "$here/parakeet-server.service" >"$tmp"
chmod 644 "$tmp"
mv "$tmp" "$unit_dir/parakeet-server.service"
echo "wrote $unit_dir/parakeet-server.service (ExecStart=$app_dir/parakeet-server serve, User=$user)"
if [ -e "$env_dir/parakeet-server.env" ]; then
  echo "kept the existing $env_dir/parakeet-server.env"
else
  install -m 644 "$here/parakeet-server.env" "$env_dir/parakeet-server.env"
  echo "wrote $env_dir/parakeet-server.env (edit the knobs there)"
fi
[ -z "$dest_root" ] || exit 0

[ "$(id -u)" = 0 ] || { echo "install.sh: creating the user and enabling the service needs root (sudo)" >&2; exit 1; }
if ! id "$user" >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
  echo "created system user $user"
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now parakeet-server.service
  echo "started: systemctl status parakeet-server; journalctl -u parakeet-server -f"
else
  echo "systemd is not running on this machine: the unit is installed but not started"
fi
