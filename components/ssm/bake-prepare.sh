#!/usr/bin/env bash
# Prepares an Amazon Linux 2023 builder instance to become the web tier's AMI: OS updates,
# the configured packages, what the backup scripts need (their tools and the directories they
# back up), the SSM agent, then removes everything that must not be baked into an image
# (caches, logs, SSH host keys, cloud-init state, shell history, machine-id).
#
# Embedded verbatim in the `bake-prepare` SSM Command document and run as root:
#   bash bake-prepare.sh --packages 'nginx amazon-cloudwatch-agent' \
#     [--backup-tools '/usr/bin/zstd ...'] [--backup-directories '/var/www ...'] [--skip-upgrade] [--dry-run]
#
# --dry-run prints every command instead of running it (tests, and a look before a bake).
#
# Exit codes: 0 ok, 2 bad arguments, 3 OS update failed, 4 package install failed (the
#             configured packages or the backup tools), 5 SSM agent missing/not enabled,
#             6 cleanup failed, 7 creating a backup directory failed, 9 not Amazon Linux / no dnf.
set -euo pipefail

readonly PROG="platform-bake-prepare"
packages=""
backup_tools=""
backup_directories=""
upgrade=1
dry_run=0

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
    local code=$1
    shift
    log "ERROR: $*"
    exit "$code"
}

usage() {
    cat <<'USAGE'
usage: bash bake-prepare.sh [--packages 'NAME ...'] [--backup-tools 'PATH ...']
                            [--backup-directories 'DIR ...'] [--skip-upgrade] [--dry-run]
  --packages LIST   space-separated dnf package names to install (may be empty)
  --backup-tools LIST
                    absolute paths of the commands the backup scripts run: dnf installs the
                    package providing each one that is missing (components/backupTools.ts)
  --backup-directories LIST
                    absolute directories the scheduled backup reads: created when missing
  --skip-upgrade    do not apply OS updates (only for quick tests of the pipeline)
  --dry-run         print the commands instead of running them
USAGE
}

# Runs a command, or prints it under --dry-run.
run() {
    if ((dry_run)); then
        printf 'DRY-RUN:'
        printf ' %q' "$@"
        printf '\n'
        return 0
    fi
    "$@"
}

while (($# > 0)); do
    case $1 in
        --packages)
            (($# >= 2)) || die 2 "--packages needs a value"
            packages=$2
            shift 2
            ;;
        --packages=*)
            packages=${1#--packages=}
            shift
            ;;
        --backup-tools | --backup-directories)
            (($# >= 2)) || die 2 "$1 needs a value"
            if [[ $1 == --backup-tools ]]; then backup_tools=$2; else backup_directories=$2; fi
            shift 2
            ;;
        --skip-upgrade)
            upgrade=0
            shift
            ;;
        --dry-run)
            dry_run=1
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            die 2 "unknown argument: $1"
            ;;
    esac
done

# The SSM document's allowedPattern already restricts the list; this is the second line of
# defence for anyone running the script by hand (a name is passed to dnf as one argument).
read -r -a package_list <<<"$packages" || true
for p in "${package_list[@]}"; do
    [[ $p =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] || die 2 "not a package name: '$p'"
done

read -r -a tool_list <<<"$backup_tools" || true
for t in "${tool_list[@]}"; do
    [[ $t =~ ^/usr/bin/[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] || die 2 "not a tool path under /usr/bin: '$t'"
done
read -r -a directory_list <<<"$backup_directories" || true
for d in "${directory_list[@]}"; do
    [[ $d =~ ^/[A-Za-z0-9._/-]*$ && /$d/ != */../* ]] || die 2 "not an absolute directory: '$d'"
done

if ((!dry_run)); then
    [[ $(id -u) -eq 0 ]] || die 2 "must run as root"
    command -v dnf >/dev/null 2>&1 || die 9 "dnf not found: this script expects Amazon Linux 2023"
fi

# Any failing command ends the run with the current phase's exit code (set -e + ERR trap).
fail_code=1
trap 'log "ERROR: command failed with exit $? (line $LINENO)"; exit "$fail_code"' ERR

# --- 1. OS updates -------------------------------------------------------------------------
if ((upgrade)); then
    log "applying OS updates"
    # AL2023 pins a release version; --releasever=latest moves to the newest one. Older dnf
    # (or other distributions) fall back to a plain update.
    if ! run dnf -y upgrade --releasever=latest; then
        log "dnf upgrade --releasever=latest failed; trying dnf update"
        run dnf -y update || die 3 "OS update failed"
    fi
fi

# --- 2. Packages ---------------------------------------------------------------------------
if ((${#package_list[@]} > 0)); then
    log "installing: ${package_list[*]}"
    fail_code=4
    run dnf -y install "${package_list[@]}"
fi

# --- 2b. Backup prerequisites ----------------------------------------------------------------
# By path: dnf installs the package that provides each missing command and does nothing for the
# others (AL2023 has conflicting alternatives, e.g. coreutils-single, so no package names here).
if ((${#tool_list[@]} > 0)); then
    log "installing the backup tools: ${tool_list[*]}"
    fail_code=4
    run dnf -y install "${tool_list[@]}"
fi
# mkdir -p leaves existing directories and their modes alone.
if ((${#directory_list[@]} > 0)); then
    log "creating the backup directories: ${directory_list[*]}"
    fail_code=7
    run mkdir -p -- "${directory_list[@]}"
fi

# --- 3. SSM agent --------------------------------------------------------------------------
# Instances launched from the image must be reachable by Session Manager and Run Command.
fail_code=5
if ((dry_run)) || ! rpm -q amazon-ssm-agent >/dev/null 2>&1; then
    run dnf -y install amazon-ssm-agent
fi
# Not restarted: this script runs under the agent, and a restart would cut the command off.
run systemctl enable amazon-ssm-agent

# --- 4. Cleanup for imaging ----------------------------------------------------------------
log "cleaning up for imaging"
fail_code=6
run dnf clean all
run rm -rf /var/cache/dnf
# Logs: truncated, not deleted, so services that hold them open keep valid handles and
# the files keep their owners and SELinux labels.
if command -v journalctl >/dev/null 2>&1 || ((dry_run)); then
    run journalctl --rotate
    run journalctl --vacuum-time=1s
fi
run find /var/log -type f -name '*.gz' -delete
run find /var/log -type f -exec truncate -s 0 {} +
# Each instance must generate its own host keys on first boot.
run find /etc/ssh -maxdepth 1 -type f -name 'ssh_host_*' -delete
# No key pair is used; nothing may carry over a login.
run find /root /home -maxdepth 3 -path '*/.ssh/authorized_keys' -type f -delete
# cloud-init runs again on first boot of each launched instance.
if command -v cloud-init >/dev/null 2>&1 || ((dry_run)); then
    run cloud-init clean --logs --seed
else
    run rm -rf /var/lib/cloud/instances
fi
run find /root /home -maxdepth 2 -type f \( -name '.bash_history' -o -name '.lesshst' -o -name '.viminfo' \) -delete
# An empty machine-id makes systemd generate a fresh one on first boot (an absent one
# would make it treat the boot as a first boot with no writable id on some setups).
run truncate -s 0 /etc/machine-id
run rm -f /var/lib/dbus/machine-id
run find /tmp /var/tmp -mindepth 1 -delete
run sync
unset HISTFILE
log "done"
