#!/usr/bin/env bash
# Installs one release of the web app on this instance, atomically, and keeps it only if it
# is healthy (components/ssm/README.md, "deploy.sh"). Run as root by the deploy Command
# document (npm run ops -- deploy), by user data at boot (--release current --missing-ok) and
# by the bake (a release baked into the AMI):
#
#   bash deploy.sh --bucket B --prefix releases/<stack> --release VERSION|current
#                  [--app-dir DIR] [--port N] [--health-path /healthz] [--service UNIT]
#                  [--keep N] [--health-timeout SECONDS] [--missing-ok]
#
# A release is s3://B/<prefix>/<VERSION>.tar.gz with its sha256 in <VERSION>.tar.gz.sha256;
# s3://B/<prefix>/current names the version new instances install. On the instance:
# <app-dir>/releases/<VERSION>/ and the symlink <app-dir>/current -> releases/<VERSION>.
#
# Exit codes: 0 installed and healthy (or already current and healthy), 1 unexpected error,
# 2 bad arguments, 3 release (or current pointer) not found, 4 S3 download failed,
# 5 checksum mismatch or unreadable checksum (nothing switched), 6 archive unreadable or
# unsafe (nothing switched), 7 unhealthy: rolled back to the previous release (healthy),
# 8 unhealthy and no healthy previous release to return to, 9 another deploy is running.
set -Eeuo pipefail
umask 022

readonly PROG="platform-deploy"
bucket=""
prefix=""
release=""
app_dir="/srv/platform-app"
port=8080
health_path="/healthz"
service="platform-app.service"
keep=3
health_timeout=60
missing_ok=0

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  local code=$1
  shift
  log "ERROR: $*"
  exit "$code"
}
trap 'log "ERROR: unexpected failure (status $?) at line $LINENO: $BASH_COMMAND"; exit 1' ERR

usage() {
  cat <<'USAGE'
usage: bash deploy.sh --bucket B --prefix releases/<stack> --release VERSION|current
                      [--app-dir DIR] [--port N] [--health-path /healthz] [--service UNIT]
                      [--keep N] [--health-timeout SECONDS] [--missing-ok]
USAGE
}

while (($# > 0)); do
  opt=$1
  case $opt in
    --missing-ok) missing_ok=1; shift; continue ;;
    -h | --help) usage; exit 0 ;;
    --*=*) val=${opt#*=}; opt=${opt%%=*}; shift ;;
    --*) (($# >= 2)) || die 2 "$opt needs a value"; val=$2; shift 2 ;;
    *) die 2 "unknown argument: $opt" ;;
  esac
  case $opt in
    --bucket) bucket=$val ;;
    --prefix) prefix=${val%/} ;;
    --release) release=$val ;;
    --app-dir) app_dir=${val%/} ;;
    --port) port=$val ;;
    --health-path) health_path=$val ;;
    --service) service=$val ;;
    --keep) keep=$val ;;
    --health-timeout) health_timeout=$val ;;
    *) die 2 "unknown option: $opt" ;;
  esac
done

readonly VERSION_RE='^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'
[[ $bucket =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || die 2 "--bucket must be an S3 bucket name"
[[ $prefix =~ ^[A-Za-z0-9][A-Za-z0-9/_.-]*$ ]] || die 2 "--prefix must be a key prefix such as releases/dev"
[[ $release == current || ($release =~ $VERSION_RE && $release != *..*) ]] || die 2 "--release must be current or a version (letters, digits, . _ -)"
[[ $app_dir == /* ]] || die 2 "--app-dir must be an absolute path"
if ! [[ $port =~ ^[0-9]{1,5}$ ]] || ((port < 1 || port > 65535)); then die 2 "--port must be 1-65535"; fi
[[ $health_path =~ ^/[A-Za-z0-9/_.~-]*$ ]] || die 2 "--health-path must be a path such as /healthz"
[[ $service =~ ^[A-Za-z0-9@_.-]+$ ]] || die 2 "--service must be a systemd unit name"
[[ $keep =~ ^[0-9]+$ ]] || die 2 "--keep must be a number"
[[ $health_timeout =~ ^[0-9]+$ ]] || die 2 "--health-timeout must be a number of seconds"

releases="$app_dir/releases"
mkdir -p "$releases"
exec 9>"$app_dir/.deploy.lock"
flock -n 9 || die 9 "another deploy is running on this instance ($app_dir/.deploy.lock)"

s3uri() { printf 's3://%s/%s/%s' "$bucket" "$prefix" "$1"; }

# fetch DIR NAME...: downloads the objects <prefix>/NAME that exist into DIR, in one CLI run.
# It lists the prefix first (s3:ListBucket on it), so a missing object is simply not there
# (a GetObject of a missing key answers 403, not 404, to a caller that may only list a prefix).
fetch() {
  local dest=$1 name
  shift
  local -a filters=(--exclude '*')
  for name in "$@"; do filters+=(--include "$name"); done
  aws s3 cp --recursive --only-show-errors "s3://$bucket/$prefix/" "$dest" "${filters[@]}" ||
    die 4 "download from s3://$bucket/$prefix/ failed"
}

# healthy: the health path answers 2xx/3xx on the app port within --health-timeout seconds.
healthy() {
  local deadline=$((SECONDS + health_timeout))
  while :; do
    if curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$port$health_path" 2>/dev/null; then
      return 0
    fi
    ((SECONDS < deadline)) || return 1
    sleep 1
  done
}

# switch_to VERSION: points current at releases/VERSION in one rename (readers never see no link).
switch_to() {
  ln -sfn "releases/$1" "$app_dir/.current.tmp"
  mv -T "$app_dir/.current.tmp" "$app_dir/current"
}

restart() { systemctl restart "$service"; }

stage=$(mktemp -d "$releases/.incoming.XXXXXX")
# shellcheck disable=SC2317  # invoked by the EXIT trap only
cleanup() { rm -rf "$stage" "$app_dir/.current.tmp"; }
trap cleanup EXIT

if [[ $release == current ]]; then
  fetch "$stage" current
  if [[ ! -f $stage/current ]]; then
    ((missing_ok)) && { log "no current release under $(s3uri '') yet: keeping what is installed"; exit 0; }
    die 3 "no current release pointer at $(s3uri current)"
  fi
  release=$(head -n 1 "$stage/current" | tr -d '[:space:]')
  [[ $release =~ $VERSION_RE ]] || die 3 "$(s3uri current) does not name a version: '$release'"
  log "current release of the stack: $release"
fi

previous=""
if [[ -L $app_dir/current ]]; then
  previous=$(basename "$(readlink "$app_dir/current")")
fi

if [[ $previous == "$release" && -d $releases/$release ]]; then
  log "release $release is already installed and current"
  # At boot the app is not started yet (a baked release that is still current): start it rather
  # than wait out the health timeout first.
  systemctl is-active --quiet "$service" || restart || true
  healthy || { restart || true; healthy; } || die 8 "release $release is current but $health_path does not answer on port $port"
  printf '%s: OK %s (already current)\n' "$PROG" "$release"
  exit 0
fi

log "downloading $(s3uri "$release.tar.gz")"
fetch "$stage" "$release.tar.gz" "$release.tar.gz.sha256"
if [[ ! -f $stage/$release.tar.gz || ! -f $stage/$release.tar.gz.sha256 ]]; then
  die 3 "no release $release (both $release.tar.gz and $release.tar.gz.sha256 must exist under $(s3uri ''))"
fi
mv "$stage/$release.tar.gz" "$stage/release.tar.gz"
mv "$stage/$release.tar.gz.sha256" "$stage/sha256"
expected=$(awk 'NR == 1 { print $1 }' "$stage/sha256")
[[ $expected =~ ^[0-9a-f]{64}$ ]] || die 5 "$release.tar.gz.sha256 holds no sha256 (expected '<64 hex digits>  $release.tar.gz')"
actual=$(sha256sum "$stage/release.tar.gz" | awk '{ print $1 }')
[[ $actual == "$expected" ]] || die 5 "checksum mismatch for $release.tar.gz: expected $expected, got $actual; nothing was switched"
log "checksum verified: $actual"

mkdir "$stage/tree"
# GNU tar strips a leading "/" or "../" and refuses (exit 2) a member whose name contains ".."
# elsewhere: nothing of a release lands outside its directory. Owners are not restored.
tar -xzf "$stage/release.tar.gz" -C "$stage/tree" --no-same-owner --no-same-permissions ||
  die 6 "release $release is not a readable .tar.gz of relative paths; nothing was switched"
chmod -R u+rwX,go+rX "$stage/tree"
if [[ -e $releases/$release ]]; then
  rm -rf "${releases:?}/$release"
fi
mv -T "$stage/tree" "$releases/$release"

switch_to "$release"
log "current -> releases/$release (previous: ${previous:-none}); restarting $service"
if restart && healthy; then
  # Keep the current and the previous release, and the newest others up to --keep in all.
  others=$((keep > 2 ? keep - 2 : 0))
  while read -r _ r; do
    [[ $r == "$release" || $r == "$previous" ]] && continue
    if ((others > 0)); then
      others=$((others - 1))
    else
      rm -rf "${releases:?}/$r"
    fi
  done < <(find "$releases" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%T@ %f\n' | sort -rn)
  printf '%s: OK %s (previous %s)\n' "$PROG" "$release" "${previous:-none}"
  exit 0
fi

log "release $release is unhealthy: $health_path did not answer on port $port within ${health_timeout}s"
if [[ -n $previous && -d $releases/$previous ]]; then
  switch_to "$previous"
  if restart && healthy; then
    rm -rf "${releases:?}/$release"
    die 7 "rolled back to release $previous (healthy); release $release was removed"
  fi
  die 8 "rolled back to release $previous, but it is unhealthy too"
fi
die 8 "no previous release to roll back to; this instance is unhealthy"
