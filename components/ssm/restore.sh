#!/usr/bin/env bash
# platform-restore: restore a directory snapshot written by backup.sh (full + incremental
# chain) from S3. Runs as root on Amazon Linux 2023 (bash, GNU tar, zstd, AWS CLI v2,
# sha256sum, coreutils; no jq/python needed: see REQUIRED_TOOLS).
#
# Usage:
#   bash restore.sh --bucket B --prefix P --instance-id ID --directory DIR
#                   [--snapshot ID|latest] [--target DIR] [--work-dir DIR]
#   Options accept "--opt value" or "--opt=value". See components/ssm/README.md.
#
#   --directory DIR  the original absolute path that was backed up (the slug is derived
#                    from it exactly as backup.sh does)
#   --snapshot ID    a snapshot id, or "latest" (default)
#   --target DIR     where to restore (default: DIR itself). The target ends up an exact
#                    copy of the snapshot: entries in it that are not in the snapshot are
#                    DELETED (GNU tar incremental semantics, needed to honour deletions).
#   --work-dir DIR   where the verified archives are staged before extraction (default:
#                    the target's parent directory, i.e. normally the same filesystem).
#                    Needs room for the compressed archives of the whole chain.
#
# Safety: every archive of the chain (full, then each incremental in order) is
# downloaded into a private staging dir and its sha256 and size are checked against its
# manifest BEFORE anything is extracted. A failed check extracts nothing and does not
# even create the target. Extraction then reads the verified local copies, so what is
# extracted is exactly what was verified.
#
# Exit codes:
#   0  success
#   1  unexpected internal error
#   2  bad arguments
#   4  S3 download failed (or the listing that decides whether an object exists failed)
#   5  verification failed (sha256/size mismatch, malformed or inconsistent manifest/chain)
#   7  extraction failed (tar/zstd error while extracting; the target may be partial)
#   8  snapshot not found (no latest, unknown snapshot id, or a chain member is missing), as
#      decided by listing the key (S3 answers 403, not 404, for a missing key to this role)
#   9  a required tool is missing
set -Eeuo pipefail
shopt -s inherit_errexit

readonly PROG=platform-restore
readonly EX_USAGE=2 EX_S3=4 EX_VERIFY=5 EX_EXTRACT=7 EX_NOTFOUND=8 EX_TOOL=9
# Every external command this script and lib.sh run, checked before anything else happens (exit
# 9); tests/backupScripts.test.ts derives the list from the code and fails when one is missing here.
readonly -a REQUIRED_TOOLS=(aws awk chmod mkdir mkfifo mktemp od rm sha256sum stat tar tee zstd)

# Helpers shared with backup.sh and drill.sh (log, die, on_err, norm_path, slugify, join_key, manifest_parse).
lib_dir=.
[[ ${BASH_SOURCE[0]} != */* ]] || lib_dir=${BASH_SOURCE[0]%/*}
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$lib_dir/lib.sh" || { printf '%s: ERROR: %s/lib.sh is missing: install it beside this script\n' "$PROG" "$lib_dir" >&2; exit 9; }

usage() { die "$EX_USAGE" "$* (usage: restore.sh --bucket B --prefix P --instance-id ID --directory DIR [--snapshot ID|latest] [--target DIR] [--work-dir DIR])"; }
trap 'on_err "$?" "$LINENO" "$BASH_COMMAND"' ERR

TMP="" STAGE=""
# shellcheck disable=SC2317
# (SC2317 "unreachable": cleanup is only invoked from the EXIT trap string, which ShellCheck
#  0.9 does not follow.)
cleanup() {
  local pid
  for pid in $(jobs -p); do kill "$pid" 2>/dev/null || true; done
  if [[ -n $STAGE && -d $STAGE ]]; then rm -rf -- "$STAGE"; fi
  if [[ -n $TMP && -d $TMP ]]; then rm -rf -- "$TMP"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- arguments

BUCKET="" PREFIX="" PREFIX_SET=0 INSTANCE_ID="" DIRECTORY="" SNAPSHOT=latest TARGET="" WORK_DIR=""
while (($#)); do
  opt=$1 val="" has_val=0
  if [[ $opt == --*=* ]]; then
    val=${opt#*=} opt=${opt%%=*} has_val=1
  fi
  case $opt in
    --bucket | --prefix | --instance-id | --directory | --snapshot | --target | --work-dir)
      if ((!has_val)); then
        (($# >= 2)) || usage "option $opt needs a value"
        val=$2
        shift
      fi
      shift
      case $opt in
        --bucket) BUCKET=$val ;;
        --prefix) PREFIX=$val PREFIX_SET=1 ;;
        --instance-id) INSTANCE_ID=$val ;;
        --directory) DIRECTORY=$val ;;
        --snapshot) SNAPSHOT=$val ;;
        --target) TARGET=$val ;;
        --work-dir) WORK_DIR=$val ;;
      esac
      ;;
    -h | --help) usage "help requested" ;;
    *) usage "unexpected argument: $opt" ;;
  esac
done

check_bucket_and_prefix
[[ $INSTANCE_ID =~ ^[A-Za-z0-9._-]+$ ]] || usage "--instance-id is required (A-Za-z0-9._-)"
[[ -n $DIRECTORY ]] || usage "--directory is required"
norm_path "$DIRECTORY" || usage "--directory must be an absolute path without '..'"
DIRECTORY=$REPLY
[[ $SNAPSHOT =~ ^[A-Za-z0-9._-]+$ ]] || usage "invalid --snapshot"
if [[ -n $TARGET ]]; then
  norm_path "$TARGET" || usage "--target must be an absolute path without '..'"
  TARGET=$REPLY
else
  TARGET=$DIRECTORY
fi
if [[ -n $WORK_DIR ]]; then
  norm_path "$WORK_DIR" || usage "--work-dir must be an absolute path without '..'"
  WORK_DIR=$REPLY
else
  WORK_DIR=${TARGET%/*}
  WORK_DIR=${WORK_DIR:-/}
fi
case $WORK_DIR/ in
  "$TARGET"/*) usage "--work-dir must not be inside the target (it would be deleted by the restore)" ;;
esac

missing=()
for t in "${REQUIRED_TOOLS[@]}"; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
((${#missing[@]} == 0)) || die "$EX_TOOL" "required tools missing: ${missing[*]}"

slugify "$DIRECTORY"
SLUG=$REPLY
join_key "$PREFIX" "$INSTANCE_ID" "$SLUG"
BASE=$REPLY
TMP=$(mktemp -d "${TMPDIR:-/tmp}/platform-restore.XXXXXX")

# ---------------------------------------------------------------- resolve the chain

if [[ $SNAPSHOT == latest ]]; then
  rc=0
  s3_fetch "$BASE/latest" "$TMP/latest" || rc=$?
  case $rc in
    0) ;;
    44) die "$EX_NOTFOUND" "no snapshot found for $DIRECTORY: s3://$BUCKET/$BASE/latest does not exist" ;;
    *) die "$EX_S3" "cannot read s3://$BUCKET/$BASE/latest: $(<"$TMP/fetch.err")" ;;
  esac
  SNAPSHOT=""
  IFS= read -r SNAPSHOT <"$TMP/latest" || true
  [[ $SNAPSHOT =~ ^[A-Za-z0-9._-]+$ ]] || die "$EX_VERIFY" "s3://$BUCKET/$BASE/latest has malformed content"
  log "latest snapshot for $DIRECTORY is $SNAPSHOT"
fi

# The whole chain's manifests, checked (lib.sh chain_resolve: exit 4, 5 or 8 with the reason).
rc=0
chain_resolve "$BASE" "$SNAPSHOT" "$SLUG" || rc=$?
((rc == 0)) || die "$rc" "$REPLY"
log "restoring $DIRECTORY snapshot $SNAPSHOT: chain ${CHAIN[*]}"

# ---------------------------------------------------------------- download + verify all

mkdir -p -- "$WORK_DIR"
STAGE=$(mktemp -d "$WORK_DIR/.platform-restore.XXXXXX")
chmod 700 -- "$STAGE"
for k in "${!A_SNAP[@]}"; do
  key="$BASE/${A_SNAP[$k]}/${A_NAME[$k]}"
  file="$STAGE/$k.${A_NAME[$k]}"
  rm -f -- "$TMP/dl.fifo"
  mkfifo -- "$TMP/dl.fifo"
  sha256sum <"$TMP/dl.fifo" >"$TMP/dl.sha" &
  sha_pid=$!
  trap - ERR
  set +e
  aws s3 cp --only-show-errors "s3://$BUCKET/$key" - 2>"$TMP/aws.err" | tee -- "$TMP/dl.fifo" >"$file"
  st=("${PIPESTATUS[@]}")
  wait "$sha_pid"
  sha_rc=$?
  set -e
  trap 'on_err "$?" "$LINENO" "$BASH_COMMAND"' ERR
  if ((st[0] != 0)); then
    # Not from the error text: a missing key answers 403 here, like a denied one (lib.sh).
    rc=0
    s3_key_exists "$key" || rc=$?
    case $rc in
      1) die "$EX_NOTFOUND" "archive s3://$BUCKET/$key is missing; nothing extracted" ;;
      2) die "$EX_S3" "download of s3://$BUCKET/$key failed: $(<"$TMP/aws.err"); listing it failed too: $(<"$TMP/list.err"); nothing extracted" ;;
    esac
    die "$EX_S3" "download of s3://$BUCKET/$key failed: $(<"$TMP/aws.err"); nothing extracted"
  fi
  ((st[1] == 0 && sha_rc == 0)) || die 1 "staging s3://$BUCKET/$key into $STAGE failed (disk full?); nothing extracted"
  read -r sha _ <"$TMP/dl.sha"
  size=$(stat -c %s -- "$file")
  if [[ $sha != "${A_SHA[$k]}" || $size != "${A_SIZE[$k]}" ]]; then
    die "$EX_VERIFY" "verification failed for s3://$BUCKET/$key: manifest sha256=${A_SHA[$k]} size=${A_SIZE[$k]}, downloaded sha256=$sha size=$size; nothing extracted"
  fi
  log "verified ${A_SNAP[$k]}/${A_NAME[$k]} ($size bytes)"
done

# ---------------------------------------------------------------- extract in order

mkdir -p -- "$TARGET"
for k in "${!A_SNAP[@]}"; do
  file="$STAGE/$k.${A_NAME[$k]}"
  trap - ERR
  set +e
  zstd -q -dc -- "$file" 2>"$TMP/zstd.err" |
    tar --extract --file=- --directory="$TARGET" --listed-incremental=/dev/null \
      --numeric-owner --same-owner --preserve-permissions --acls --xattrs --xattrs-include='*' \
      2>"$TMP/tar.err"
  st=("${PIPESTATUS[@]}")
  set -e
  trap 'on_err "$?" "$LINENO" "$BASH_COMMAND"' ERR
  if [[ -s $TMP/tar.err ]]; then
    while IFS= read -r line; do log "tar: $line"; done <"$TMP/tar.err"
  fi
  if ((st[0] != 0 || st[1] != 0)); then
    die "$EX_EXTRACT" "extracting ${A_SNAP[$k]}/${A_NAME[$k]} into $TARGET failed (zstd=${st[0]} tar=${st[1]}) $(<"$TMP/zstd.err"); the target may be partially restored"
  fi
  rm -f -- "$file"
  log "applied ${A_SNAP[$k]}"
done

printf 'restored\t%s\t%s\t%s\n' "$SLUG" "$SNAPSHOT" "$TARGET"
exit 0
