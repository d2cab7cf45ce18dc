#!/usr/bin/env bash
# platform-backup: stream directories as `tar | zstd` to S3, verified, with GNU tar
# incremental chains. Runs as root via SSM Run Command on Amazon Linux 2023
# (bash, GNU tar, zstd, AWS CLI v2, flock, cmp, curl, coreutils; no jq/python needed: see
# REQUIRED_TOOLS).
#
# Usage:
#   bash backup.sh --bucket B --prefix P [--instance-id ID] [--exclude PATTERN]...
#                  [--full-every N] [--level N] [--state-dir DIR] [--lock-file F]
#                  [--expected-size BYTES] [--fail-on-change] [--verify upload|read-back]
#                  [--stack NAME [--metrics-namespace NS]] [--] DIR...
#   Options accept "--opt value" or "--opt=value". See components/ssm/README.md.
#
#   --bucket B         S3 bucket (required)
#   --prefix P         key prefix (required, may be ""; leading/trailing "/" ignored;
#                      characters limited to A-Za-z0-9 and !_.*'()/-)
#   --instance-id ID   default: IMDSv2 instance-id, else `hostname` (IMDS is skipped
#                      when AWS_EC2_METADATA_DISABLED=true)
#   --exclude PATTERN  GNU tar --exclude pattern (unanchored, wildcards), matched
#                      against member names, which are relative to DIR ("./a/b")
#   --full-every N     a full backup every N runs, N-1 incrementals between (default 7)
#   --level N          zstd level 1..19 (default 3)
#   --state-dir DIR    per-directory tar snapshot (snar) state (default /var/lib/platform-backup)
#   --lock-file F      flock file (default /run/platform-backup.lock)
#   --expected-size B  override the stream size hint given to `aws s3 cp --expected-size`
#   --fail-on-change   exit 10 (instead of 0) when tar reported files changing while read
#   --verify MODE      how an upload is known to be stored intact (default upload; see below):
#                      upload     S3's own check of every upload, and the archive's size from S3
#                      read-back  the archive streamed back and hashed, the manifest read back
#   --stack NAME       after each committed snapshot, publish the CloudWatch metric BackupSuccess=1
#                      (dimensions Stack+Directory and Stack+InstanceId+Directory); default: none
#   --metrics-namespace NS  CloudWatch namespace of that metric (default Platform/Backups)
#   DIR...             absolute paths; processed in order, the first failure stops the run
#                      (directories already completed stay committed)
#
# Key layout (one snapshot per directory per run):
#   <prefix>/<instance-id>/<slug>/<snapshot-id>/archive.tar.zst
#   <prefix>/<instance-id>/<slug>/<snapshot-id>/manifest.json   (format 2: what the archive and the
#                                                               tree hold, see components/ssm/README.md)
#   <prefix>/<instance-id>/<slug>/latest          (one line: the snapshot id)
#   slug: path without the leading "/", "/" -> "-", [A-Za-z0-9.] kept, every other byte
#   -> "_XX" (lower-case hex), e.g. /var/www -> var-www, /srv/my_app-1 -> srv-my_5fapp_2d1;
#   "/" itself -> "-". Reversible.
#   snapshot-id: UTC start time, YYYYMMDDTHHMMSS.mmmZ (sorts chronologically).
#
# "latest" is written only after the archive and the manifest are known to be stored as sent:
#   --verify upload (default): S3 checked every upload's body against a checksum the CLI computed
#     over the bytes it read, and refused a mismatch (400 BadDigest, or a checksum mismatch; Amazon
#     S3 API Reference, UploadPart and PutObject, "Content-MD5" and "x-amz-checksum-*",
#     https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html). Which checksum depends
#     on the AWS CLI v2: before 2.23 botocore sends a Content-MD5 with every PutObject and
#     UploadPart (its conditionally_calculate_md5 handler); from 2.23 it sends a CRC that S3 stores
#     with the object, when request_checksum_calculation is when_supported, which this script sets
#     (AWS_REQUEST_CHECKSUM_CALCULATION beats a config file's when_required). Afterwards HeadObject
#     must report the archive at the size counted here, and, for a CLI from 2.23 on, the checksum S3
#     stored (--checksum-mode ENABLED). A CLI whose version says neither (or one whose archive comes
#     back without a checksum) gets the read-back below instead, and the log says so.
#   --verify read-back: the archive is streamed back from S3 and its sha256 + size compared, and
#     the manifest read back and compared byte for byte (for S3-compatible servers that do not
#     check upload checksums). The read-back overlaps the manifest's steps; its failure is
#     reported first.
#
# Exit codes:
#   0  success (tar warnings, e.g. "file changed as we read it", are printed to stderr and
#      recorded in the manifest's tarWarnings; see --fail-on-change)
#   1  unexpected internal error (message names the line/command)
#   2  bad arguments
#   3  a source directory is missing (checked for all DIRs before anything is uploaded)
#   4  S3 transfer failed (upload, reading latest/verification read-back, or the listing that
#      decides whether latest exists: lib.sh s3_key_exists)
#   5  verification failed (the size S3 reports, or the read-back sha256/size or manifest, differs)
#   6  another backup is running (lock held)
#   7  archive creation failed (tar fatal error, zstd error)
#   9  a required tool is missing
#   10 success, but tar reported changed files and --fail-on-change was given
#   11 every snapshot committed, but publishing a BackupSuccess metric failed (takes precedence over 10)
set -Eeuo pipefail
shopt -s inherit_errexit

readonly PROG=platform-backup
readonly EX_USAGE=2 EX_NOSRC=3 EX_S3=4 EX_VERIFY=5 EX_LOCKED=6 EX_ARCHIVE=7 EX_TOOL=9 EX_CHANGED=10 EX_METRICS=11
readonly ARCHIVE_NAME=archive.tar.zst
# Every external command this script and lib.sh run, checked before anything else happens (exit
# 9). tests/backupScripts.test.ts derives the commands from the code's syntax tree and fails when
# one is missing here; the bake and the web tier's user data install them (components/backupTools.ts).
readonly -a REQUIRED_TOOLS=(aws awk chmod cmp cp curl date du flock mkdir mkfifo mktemp mv od openssl rm sleep tar tee wc zstd)
readonly MANIFEST_VERSION=2

# Helpers shared with restore.sh and drill.sh (log, die, norm_path, slugify, json_str, cquote, S3, metrics).
lib_dir=.
[[ ${BASH_SOURCE[0]} != */* ]] || lib_dir=${BASH_SOURCE[0]%/*}
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$lib_dir/lib.sh" || { printf '%s: ERROR: %s/lib.sh is missing: install it beside this script\n' "$PROG" "$lib_dir" >&2; exit 9; }

usage() { die "$EX_USAGE" "$* (usage: backup.sh --bucket B --prefix P [options] DIR...; see header)"; }
trap 'on_err "$?" "$LINENO" "$BASH_COMMAND"' ERR

TMP=""
# shellcheck disable=SC2317
# (SC2317 "unreachable": cleanup is only invoked from the EXIT trap string, which ShellCheck
#  0.9 does not follow.)
cleanup() {
  local pid
  for pid in $(jobs -p); do kill "$pid" 2>/dev/null || true; done
  if [[ -n $TMP && -d $TMP ]]; then rm -rf -- "$TMP"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- helpers (no forks unless noted)

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

s3_rm_quiet() { aws s3 rm --only-show-errors "s3://$BUCKET/$1" >/dev/null 2>&1 || true; }

# sha256: stdin's SHA-256 as "<hex> *stdin". OpenSSL's rather than coreutils' sha256sum, which has no
# SHA CPU instructions: on an archive of 1 GiB it cost about 5 CPU-seconds against 1.5 on the
# machines here, on the cores tar, zstd and the upload share.
sha256() { openssl dgst -sha256 -r; }

# tree_index PREVIOUS_INDEX LISTING SNAR OUT_INDEX -> TI_ENTRIES, TI_BYTES, and LT_MEMBERS, LT_BYTES (what
# the archive holds: lib.sh listing_table) (1, the reason in REPLY, when the listing or the snapshot
# file is not one this parser understands).
#
# The tree a restore of this snapshot produces, computed from what tar did in this run, not from a
# second walk of the directory (which could see other files than tar saw): tar's directory dumps
# in the snapshot (snar) file it wrote (every directory it archived, with every name in it) and the
# members it wrote (the --index-file listing, with sizes). A name is in the restored tree when this
# archive carries it, or when the previous snapshot's tree had it and this archive's directory dump
# still names it (incremental extraction keeps such names and deletes every other). Names tar
# excluded are in the dumps too (as "N"), but in no archive: they are never counted.
#
# The index (one line per name: type letter, size, the name as tar quotes it) is kept with the snar
# so the next incremental can carry the unchanged names over. TI_ENTRIES counts every name below
# the directory (files, directories, symlinks, hard links, FIFOs, devices), TI_BYTES the apparent
# size of the regular files, each file once (a hard link adds nothing).
# index_load FILE TYPES SIZES: the lines "type<TAB>size<TAB>name" of FILE (a listing table or a tree
# index) into the caller's associative arrays named TYPES and SIZES, keyed by name. The whole file
# into an array, then parameter expansions: a `read` per line costs a few system calls each,
# seconds for a tree of 20,000 files.
index_load() {
  local -n types=$2 sizes=$3
  local -a lines
  local line rest name
  mapfile -t lines <"$1"
  for line in "${lines[@]}"; do
    rest=${line#*$'\t'} name=${line#*$'\t'*$'\t'}
    # shellcheck disable=SC2034,SC2004 # namerefs to the caller's associative arrays, keyed by name
    types[$name]=${line%%$'\t'*} sizes[$name]=${rest%%$'\t'*}
  done
}

tree_index() {
  local previous=$1 listing=$2 snar=$3 out=$4 type size header dir entry key i n
  local -A ltype=() lsize=() ptype=() psize=()
  local -a fields
  TI_ENTRIES=0 TI_BYTES=0
  listing_table "$listing" "$TMP/listing.table" || return 1
  index_load "$TMP/listing.table" ltype lsize
  [[ -z $previous ]] || index_load "$previous" ptype psize
  # GNU tar snapshot format 2: a header line, the dump time (2 NUL-terminated numbers), then per
  # directory: nfs, mtime s, mtime ns, dev, ino, name, its entries ("Y"/"N"/"D" + name), "\0\0".
  # Split at every NUL, the header line and the dump time's seconds are the first field.
  mapfile -d '' -t fields <"$snar"
  n=${#fields[@]}
  header=${fields[0]:-}
  [[ $header == *$'\n'* ]] || header+=$'\n'
  header=${header%%$'\n'*}
  [[ $header == "GNU tar-"*-2 ]] || { REPLY="unexpected snapshot file header: ${header:0:100}"; return 1; }
  if ((n < 2)) || [[ ${fields[0]} != *$'\n'* ]]; then
    REPLY="snapshot file has no dump time"
    return 1
  fi
  local -a listed=()
  i=2
  while ((i < n)); do
    if ((i + 5 >= n)); then
      REPLY="truncated directory record in the snapshot file"
      return 1
    fi
    dir=${fields[i + 5]}
    i=$((i + 6))
    while ((i < n)); do
      entry=${fields[i]}
      i=$((i + 1))
      [[ -n $entry ]] || break
      key=$dir/${entry:1}
      # cquote's fast path, inline: most names are printable ASCII without quotes or backslashes.
      if [[ $key == *[!\ -~]* || $key == *[\"\\]* ]]; then
        cquote "$key"
        key=$REPLY
      fi
      if [[ -n ${ltype[$key]+set} ]]; then
        type=${ltype[$key]} size=${lsize[$key]}
      elif [[ -n ${ptype[$key]+set} ]]; then
        type=${ptype[$key]} size=${psize[$key]}
      else
        continue
      fi
      TI_ENTRIES=$((TI_ENTRIES + 1))
      [[ $type != - ]] || TI_BYTES=$((TI_BYTES + size))
      listed+=("$type"$'\t'"$size"$'\t'"$key")
    done
    # the field after the entries' terminating empty one
    i=$((i + 1))
  done
  if ((${#listed[@]})); then printf '%s\n' "${listed[@]}" >"$out"; else : >"$out"; fi
}

# ---------------------------------------------------------------- arguments

BUCKET="" PREFIX="" PREFIX_SET=0 INSTANCE_ID="" FULL_EVERY=7 LEVEL=3
STATE_DIR=/var/lib/platform-backup LOCK_FILE=/run/platform-backup.lock EXPECTED_SIZE=""
FAIL_ON_CHANGE=0 STACK="" NAMESPACE=Platform/Backups VERIFY=upload
EXCLUDES=()
DIRS=()

while (($#)); do
  opt=$1 val="" has_val=0
  if [[ $opt == --*=* ]]; then
    val=${opt#*=} opt=${opt%%=*} has_val=1
  fi
  case $opt in
    --bucket | --prefix | --instance-id | --exclude | --full-every | --level | --state-dir | --lock-file | --expected-size | --stack | --metrics-namespace | --verify)
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
        --exclude) EXCLUDES+=("$val") ;;
        --full-every) FULL_EVERY=$val ;;
        --level) LEVEL=$val ;;
        --state-dir) STATE_DIR=$val ;;
        --lock-file) LOCK_FILE=$val ;;
        --expected-size) EXPECTED_SIZE=$val ;;
        --stack) STACK=$val ;;
        --metrics-namespace) NAMESPACE=$val ;;
        --verify) VERIFY=$val ;;
      esac
      ;;
    --fail-on-change)
      ((!has_val)) || usage "option $opt takes no value"
      FAIL_ON_CHANGE=1
      shift
      ;;
    -h | --help)
      usage "help requested"
      ;;
    --)
      shift
      DIRS+=("$@")
      break
      ;;
    -*) usage "unknown option: $opt" ;;
    *)
      DIRS+=("$1")
      shift
      ;;
  esac
done

check_bucket_and_prefix
if [[ -n $INSTANCE_ID && ! $INSTANCE_ID =~ ^[A-Za-z0-9._-]+$ ]]; then usage "invalid --instance-id"; fi
{ is_uint "$FULL_EVERY" && ((10#$FULL_EVERY >= 1)); } || usage "--full-every must be an integer >= 1"
FULL_EVERY=$((10#$FULL_EVERY))
{ is_uint "$LEVEL" && ((10#$LEVEL >= 1 && 10#$LEVEL <= 19)); } || usage "--level must be 1..19"
LEVEL=$((10#$LEVEL))
if [[ -n $EXPECTED_SIZE ]]; then
  { is_uint "$EXPECTED_SIZE" && ((10#$EXPECTED_SIZE > 0)); } || usage "--expected-size must be a positive integer"
fi
[[ $STATE_DIR == /* ]] || usage "--state-dir must be absolute"
[[ $LOCK_FILE == /* ]] || usage "--lock-file must be absolute"
for e in "${EXCLUDES[@]}"; do [[ -n $e ]] || usage "empty --exclude pattern"; done
if [[ -n $STACK && ! $STACK =~ ^[A-Za-z0-9._-]{1,128}$ ]]; then usage "invalid --stack (A-Za-z0-9._-)"; fi
# CloudWatch: 1-255 characters, no ":", and the AWS/ prefix is reserved (PutMetricData, Namespace).
[[ $NAMESPACE =~ ^[A-Za-z0-9._/#-]{1,255}$ && $NAMESPACE != AWS/* ]] || usage "invalid --metrics-namespace"
[[ $VERIFY == upload || $VERIFY == read-back ]] || usage "--verify must be upload or read-back"
((${#DIRS[@]} > 0)) || usage "no DIR given"

missing=()
for t in "${REQUIRED_TOOLS[@]}"; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
((${#missing[@]} == 0)) || die "$EX_TOOL" "required tools missing: ${missing[*]}"

declare -A SEEN_SLUG=()
NDIRS=()
SLUGS=()
for d in "${DIRS[@]}"; do
  norm_path "$d" || usage "DIR must be an absolute path without '..': $d"
  nd=$REPLY
  slugify "$nd"
  [[ -z ${SEEN_SLUG[$REPLY]:-} ]] || usage "directory given twice: $nd"
  SEEN_SLUG[$REPLY]=1
  NDIRS+=("$nd")
  SLUGS+=("$REPLY")
done

for nd in "${NDIRS[@]}"; do
  [[ -d $nd ]] || die "$EX_NOSRC" "source directory does not exist or is not a directory: $nd"
done

# ---------------------------------------------------------------- lock, identity, temp

mkdir -p -- "${LOCK_FILE%/*}"
exec {LOCK_FD}>>"$LOCK_FILE"
flock -n "$LOCK_FD" || die "$EX_LOCKED" "another backup is running (lock held on $LOCK_FILE)"

HOST=$(</proc/sys/kernel/hostname)
if [[ -z $INSTANCE_ID ]]; then
  if [[ ${AWS_EC2_METADATA_DISABLED:-} != true ]]; then
    token=$(curl -fsS --connect-timeout 1 -m 3 -X PUT http://169.254.169.254/latest/api/token \
      -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' 2>/dev/null) || token=""
    if [[ -n $token ]]; then
      INSTANCE_ID=$(curl -fsS --connect-timeout 1 -m 3 -H "X-aws-ec2-metadata-token: $token" \
        http://169.254.169.254/latest/meta-data/instance-id 2>/dev/null) || INSTANCE_ID=""
    fi
  fi
  if [[ ! $INSTANCE_ID =~ ^[A-Za-z0-9._-]+$ ]]; then
    INSTANCE_ID=${HOST//[!A-Za-z0-9._-]/_}
    log "instance id not available from IMDS; using hostname: $INSTANCE_ID"
  fi
fi

TAR_VERSION=""
IFS= read -r TAR_VERSION < <(tar --version 2>/dev/null) || true
TAR_VERSION=${TAR_VERSION//[^A-Za-z0-9 ._()-]/}
mkdir -p -- "$STATE_DIR"
chmod 700 -- "$STATE_DIR"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/platform-backup.XXXXXX")
# Every upload with a checksum S3 checks and stores, whatever the config file says (CLI 2.23 and
# later; older ones ignore the variable and send Content-MD5). The CLI's version decides, after the
# upload, what HeadObject must show (upload_checks); asked now, while the first run starts.
export AWS_REQUEST_CHECKSUM_CALCULATION=when_supported
CLI_VERSION_PID=""
if [[ $VERIFY == upload ]]; then
  aws --version >"$TMP/cli.version" 2>/dev/null &
  CLI_VERSION_PID=$!
fi

# ---------------------------------------------------------------- one directory

OVERALL_WARN=0 METRICS_FAILED=0

# read_back KEY: streams s3://$BUCKET/KEY through a SHA-256 (sha256 below) and wc -c (no local
# staging) into $TMP/v.sha and $TMP/v.len; the download's exit status goes to $TMP/v.aws.rc, the
# local pipeline's (tee, wc, the hash) to $TMP/v.rc. Run in the background (`read_back KEY &`): while
# the object comes back, the caller computes the manifest from local files and uploads it.
# TERM (the script's cleanup) ends the pipeline with it.
read_back() {
  local key=$1 sha_pid pipe_pid rc
  trap - ERR
  set +e
  rm -f -- "$TMP/v.sha.fifo" "$TMP/v.aws.rc" "$TMP/v.rc"
  mkfifo -- "$TMP/v.sha.fifo" || { printf '1\n' >"$TMP/v.rc"; exit 0; }
  sha256 <"$TMP/v.sha.fifo" >"$TMP/v.sha" &
  sha_pid=$!
  {
    aws s3 cp --only-show-errors "s3://$BUCKET/$key" - 2>"$TMP/vaws.err"
    printf '%s\n' "$?" >"$TMP/v.aws.rc"
  } | tee -- "$TMP/v.sha.fifo" | wc -c >"$TMP/v.len" &
  pipe_pid=$!
  trap 'kill "$pipe_pid" "$sha_pid" 2>/dev/null; exit 143' TERM
  wait "$pipe_pid"
  rc=$?
  wait "$sha_pid" || rc=1
  printf '%s\n' "$rc" >"$TMP/v.rc"
  exit 0
}

# manifest_read_back KEY -> 0 when s3://$BUCKET/KEY reads back identical to $TMP/manifest.json, else
# EX_S3 (it could not be read) or EX_VERIFY (it differs), with the message in REPLY.
manifest_read_back() {
  local rc=0
  s3_fetch "$1" "$TMP/manifest.check" || rc=$?
  if ((rc != 0)); then
    REPLY="manifest read-back failed: $(<"$TMP/fetch.err"); latest unchanged"
    return "$EX_S3"
  fi
  cmp -s -- "$TMP/manifest.json" "$TMP/manifest.check" && return 0
  REPLY="manifest read back from S3 differs from what was uploaded; latest unchanged"
  return "$EX_VERIFY"
}

# verify_status: the background verification's exit statuses (read_back or stored_size) into the
# caller's v_aws_rc and v_rc; 1 where none was written.
verify_status() {
  v_aws_rc=1 v_rc=1
  [[ ! -s $TMP/v.aws.rc ]] || read -r v_aws_rc <"$TMP/v.aws.rc"
  [[ ! -s $TMP/v.rc ]] || read -r v_rc <"$TMP/v.rc"
}

# stored_size KEY: the object's size and the flexible checksum S3 stored with it, if any, as
# HeadObject reports them ("<size><TAB><checksum or nothing>") into $TMP/v.len, the call's exit
# status into $TMP/v.aws.rc (its message in $TMP/vaws.err) and 0 into $TMP/v.rc: the --verify upload
# counterpart of read_back, run in the background the same way. (A CLI older than a checksum type
# reports none of it: its model lacks the member.)
stored_size() {
  local key=$1 rc=0
  # shellcheck disable=SC2016 # a JMESPath literal, not a shell expansion
  aws s3api head-object --bucket "$BUCKET" --key "$key" --checksum-mode ENABLED \
    --query '[ContentLength, ChecksumCRC64NVME || ChecksumCRC32 || ChecksumCRC32C || ChecksumSHA256 || ChecksumSHA1 || `""`]' \
    --output text >"$TMP/v.len" 2>"$TMP/vaws.err" || rc=$?
  printf '%s\n' "$rc" >"$TMP/v.aws.rc"
  printf '0\n' >"$TMP/v.rc"
}

# upload_checks CHECKSUM -> 0 and REPLY (how S3 checked the upload) when this CLI's uploads carry a
# checksum S3 verifies, else 1 and REPLY (why not). CHECKSUM: what HeadObject reported as stored.
upload_checks() {
  local stored=$1 version="" minor
  if [[ -n $stored ]]; then
    REPLY="S3 checked every part; it stores the checksum $stored"
    return 0
  fi
  [[ -s $TMP/cli.version ]] && read -r version _ <"$TMP/cli.version"
  if [[ $version =~ ^aws-cli/2\.([0-9]+)\. ]]; then
    minor=${BASH_REMATCH[1]}
    if ((10#$minor < 23)); then
      REPLY="S3 checked every part's Content-MD5 (${version#aws-cli/} sends one with each)"
      return 0
    fi
    REPLY="${version#aws-cli/} sends a checksum S3 stores, but HeadObject reports none"
    return 1
  fi
  REPLY="the AWS CLI's version (${version:-unknown}) does not say which checksum its uploads carry"
  return 1
}

backup_one() {
  local dir=$1 slug=$2 base sdir prev="" rc snap mode reason level chain_csv="" prev_for_manifest=""
  local state_snap="" state_level="" state_chain="" line previous_index=""
  join_key "$PREFIX" "$INSTANCE_ID" "$slug"
  base=$REPLY
  sdir=$STATE_DIR/$slug
  mkdir -p -- "$sdir"

  rc=0
  s3_fetch "$base/latest" "$TMP/latest" || rc=$?
  case $rc in
    0)
      IFS= read -r prev <"$TMP/latest" || true
      if [[ ! $prev =~ ^[A-Za-z0-9._-]+$ ]]; then
        log "WARNING: s3://$BUCKET/$base/latest has unexpected content; forcing a full backup"
        prev=""
      fi
      ;;
    44) prev="" ;;
    *) die "$EX_S3" "cannot read s3://$BUCKET/$base/latest: $(<"$TMP/fetch.err")" ;;
  esac

  if [[ -f $sdir/state ]]; then
    while IFS= read -r line; do
      case $line in
        snapshot=*) state_snap=${line#snapshot=} ;;
        level=*) state_level=${line#level=} ;;
        chain=*) state_chain=${line#chain=} ;;
      esac
    done <"$sdir/state"
  fi

  mode=incremental
  if [[ -z $prev ]]; then
    mode=full reason="no previous snapshot in S3"
  elif [[ ! -s $sdir/snar || ! -f $sdir/index || -z $state_snap ]] || ! is_uint "$state_level"; then
    mode=full reason="local incremental state missing in $sdir"
  elif [[ $state_snap != "$prev" ]]; then
    mode=full reason="local state is for snapshot $state_snap but latest is $prev"
  elif ((state_level + 1 >= FULL_EVERY)); then
    mode=full reason="--full-every $FULL_EVERY reached"
  fi

  rm -f -- "$TMP/snar"
  if [[ $mode == incremental ]]; then
    level=$((state_level + 1))
    chain_csv=${state_chain:+$state_chain,}$prev
    prev_for_manifest=$prev
    cp -- "$sdir/snar" "$TMP/snar"
    previous_index=$sdir/index
    log "$dir: incremental level $level on top of $prev"
  else
    level=0
    log "$dir: full backup ($reason)"
  fi

  snap=$(date -u +%Y%m%dT%H%M%S.%3NZ)
  while [[ $snap == "$prev" ]]; do
    sleep 0.01
    snap=$(date -u +%Y%m%dT%H%M%S.%3NZ)
  done
  local started
  started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  local key="$base/$snap/$ARCHIVE_NAME"

  # Size hint for the multipart part size: apparent size + 12.5% + 64 MiB (tar headers).
  local apparent expected
  apparent=""
  read -r apparent _ < <(du -sb -- "$dir" 2>/dev/null) || true
  is_uint "${apparent:-x}" || apparent=0
  if [[ -n $EXPECTED_SIZE ]]; then
    expected=$EXPECTED_SIZE
  else
    expected=$((apparent + apparent / 8 + 64 * 1024 * 1024))
  fi

  local -a tar_args=(
    --create --file=- --directory="$dir"
    --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f
    --pax-option=delete=atime --pax-option=delete=ctime
    --listed-incremental="$TMP/snar" --no-check-device
    --numeric-owner --acls --xattrs --xattrs-include='*' --sparse
    # What tar archives, listed as it writes it (tree_index, the manifest's counts). The two
    # warnings are informational messages that only verbose runs print; they are not changes.
    --verbose --verbose --index-file="$TMP/listing" --quoting-style=c
    --warning=no-new-directory --warning=no-rename-directory
  )
  local e
  for e in "${EXCLUDES[@]}"; do tar_args+=("--exclude=$e"); done
  tar_args+=(.)

  rm -f -- "$TMP/up.sha.fifo" "$TMP/up.len.fifo"
  mkfifo -- "$TMP/up.sha.fifo" "$TMP/up.len.fifo"
  sha256 <"$TMP/up.sha.fifo" >"$TMP/up.sha" &
  local sha_pid=$!
  wc -c <"$TMP/up.len.fifo" >"$TMP/up.len" &
  local len_pid=$!

  local -a st
  trap - ERR
  set +e
  # The C locale: names are quoted byte by byte, as cquote does (and as SSM's bare environment has it).
  LC_ALL=C tar "${tar_args[@]}" 2>"$TMP/tar.err" |
    zstd -q -T0 "-$LEVEL" -c 2>"$TMP/zstd.err" |
    tee -- "$TMP/up.sha.fifo" "$TMP/up.len.fifo" 2>"$TMP/tee.err" |
    aws s3 cp --only-show-errors --content-type application/zstd \
      --expected-size "$expected" - "s3://$BUCKET/$key" 2>"$TMP/aws.err"
  st=("${PIPESTATUS[@]}")
  wait "$sha_pid"
  local sha_rc=$?
  wait "$len_pid"
  local len_rc=$?
  set -e
  trap 'on_err "$?" "$LINENO" "$BASH_COMMAND"' ERR

  local tar_rc=${st[0]} zstd_rc=${st[1]} tee_rc=${st[2]} aws_rc=${st[3]}
  if [[ -s $TMP/tar.err ]]; then
    while IFS= read -r line; do log "tar: $line"; done <"$TMP/tar.err"
  fi
  if ((tar_rc != 0 && tar_rc != 1 && tar_rc != 141)); then
    ((aws_rc != 0)) || s3_rm_quiet "$key"
    die "$EX_ARCHIVE" "tar failed (exit $tar_rc) for $dir; nothing committed, latest unchanged"
  fi
  if ((zstd_rc != 0 && zstd_rc != 141)); then
    ((aws_rc != 0)) || s3_rm_quiet "$key"
    die "$EX_ARCHIVE" "zstd failed (exit $zstd_rc): $(<"$TMP/zstd.err"); latest unchanged"
  fi
  if ((aws_rc != 0)); then
    die "$EX_S3" "upload to s3://$BUCKET/$key failed (aws exit $aws_rc): $(<"$TMP/aws.err"); latest unchanged"
  fi
  if ((tee_rc != 0 || tar_rc == 141 || zstd_rc == 141 || sha_rc != 0 || len_rc != 0)); then
    s3_rm_quiet "$key"
    die "$EX_ARCHIVE" "stream pipeline broke (tar=$tar_rc zstd=$zstd_rc tee=$tee_rc sha=$sha_rc wc=$len_rc): $(<"$TMP/tee.err"); latest unchanged"
  fi

  local sha size
  read -r sha _ <"$TMP/up.sha"
  read -r size <"$TMP/up.len"

  # ---- verify, in the background: the size S3 stored (--verify upload), or the object read back
  # and hashed (--verify read-back). What comes next until the wait reads only local files and
  # writes only the manifest's own object, so the request overlaps it; `latest` moves only once
  # the archive and the manifest are verified, and an archive that does not verify is reported
  # before anything about the manifest.
  rm -f -- "$TMP/v.sha" "$TMP/v.len" "$TMP/v.aws.rc" "$TMP/v.rc"
  if [[ $VERIFY == read-back ]]; then
    read_back "$key" &
  else
    stored_size "$key" &
  fi
  local verify_pid=$!

  # ---- what the archive holds, and the tree a restore of this snapshot produces
  if ! tree_index "$previous_index" "$TMP/listing" "$TMP/snar" "$TMP/index"; then
    s3_rm_quiet "$key"
    die 1 "$dir: $REPLY; nothing committed, latest unchanged"
  fi

  # ---- manifest
  local nwarn=0 warn_json="" dir_json host_json slug_json chain_json="" id ex_json=""
  if [[ -s $TMP/tar.err ]]; then
    while IFS= read -r line; do
      nwarn=$((nwarn + 1))
      if ((nwarn <= 200)); then
        json_str "$line"
        warn_json+="${warn_json:+, }$REPLY"
      fi
    done <"$TMP/tar.err"
  fi
  json_str "$dir"
  dir_json=$REPLY
  json_str "$HOST"
  host_json=$REPLY
  json_str "$slug"
  slug_json=$REPLY
  if [[ -n $chain_csv ]]; then
    local -a chain_ids
    IFS=, read -r -a chain_ids <<<"$chain_csv"
    for id in "${chain_ids[@]}"; do chain_json+="${chain_json:+, }\"$id\""; done
  fi
  for e in "${EXCLUDES[@]}"; do
    json_str "$e"
    ex_json+="${ex_json:+, }$REPLY"
  done
  local prev_json=null
  [[ -z $prev_for_manifest ]] || prev_json="\"$prev_for_manifest\""
  local mtype=full
  ((level == 0)) || mtype=incremental
  # One field per line, fixed order and indentation: restore.sh parses it line-wise.
  {
    printf '{\n'
    printf '  "formatVersion": %d,\n' "$MANIFEST_VERSION"
    printf '  "tool": "platform-backup",\n'
    printf '  "snapshotId": "%s",\n' "$snap"
    printf '  "type": "%s",\n' "$mtype"
    printf '  "level": %d,\n' "$level"
    printf '  "previousSnapshotId": %s,\n' "$prev_json"
    printf '  "chain": [%s],\n' "$chain_json"
    printf '  "fullEvery": %d,\n' "$FULL_EVERY"
    printf '  "host": %s,\n' "$host_json"
    printf '  "instanceId": "%s",\n' "$INSTANCE_ID"
    printf '  "directory": %s,\n' "$dir_json"
    printf '  "slug": %s,\n' "$slug_json"
    printf '  "startedAt": "%s",\n' "$started"
    printf '  "completedAt": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '  "tarFormat": "posix",\n'
    printf '  "tarVersion": "%s",\n' "$TAR_VERSION"
    printf '  "compression": "zstd",\n'
    printf '  "zstdLevel": %d,\n' "$LEVEL"
    printf '  "excludes": [%s],\n' "$ex_json"
    printf '  "sourceApparentBytes": %d,\n' "$apparent"
    printf '  "archives": [\n'
    printf '    {"name": "%s", "size": %d, "sha256": "%s", "members": %d, "memberBytes": %d}\n' "$ARCHIVE_NAME" "$size" "$sha" "$LT_MEMBERS" "$LT_BYTES"
    printf '  ],\n'
    printf '  "tarExitCode": %d,\n' "$tar_rc"
    printf '  "tarWarningCount": %d,\n' "$nwarn"
    printf '  "tarWarnings": [%s],\n' "$warn_json"
    printf '  "treeEntries": %d,\n' "$TI_ENTRIES"
    printf '  "treeBytes": %d\n' "$TI_BYTES"
    printf '}\n'
  } >"$TMP/manifest.json"

  local manifest_code=0 manifest_error=""
  rc=0
  aws s3 cp --only-show-errors --content-type application/json "$TMP/manifest.json" \
    "s3://$BUCKET/$base/$snap/manifest.json" 2>"$TMP/aws.err" || rc=$?
  if ((rc != 0)); then
    manifest_code=$EX_S3 manifest_error="manifest upload failed: $(<"$TMP/aws.err"); latest unchanged"
  elif [[ $VERIFY == read-back ]]; then
    manifest_read_back "$base/$snap/manifest.json" || manifest_code=$? manifest_error=$REPLY
  fi

  # ---- the archive's verification, started after the upload
  wait "$verify_pid" || true
  local v_aws_rc v_rc vsha="" vsize="" vsum="" how
  verify_status
  if [[ $VERIFY == upload ]]; then
    ((v_aws_rc == 0)) || die "$EX_S3" "reading the size of s3://$BUCKET/$key (HeadObject) failed: $(<"$TMP/vaws.err"); latest unchanged"
    IFS=$'\t' read -r vsize vsum <"$TMP/v.len" || true
    if [[ $vsize != "$size" ]]; then
      s3_rm_quiet "$key"
      s3_rm_quiet "$base/$snap/manifest.json"
      die "$EX_VERIFY" "verification failed for s3://$BUCKET/$key: uploaded $size bytes, S3 stores ${vsize:-nothing}; latest unchanged"
    fi
    [[ -z $CLI_VERSION_PID ]] || wait "$CLI_VERSION_PID" || true
    CLI_VERSION_PID=""
    if upload_checks "$vsum"; then
      how="$REPLY; the size from HeadObject"
    else
      # The fallback: what --verify read-back does, now, for this directory.
      log "$dir: $REPLY; reading the archive and the manifest back instead"
      (read_back "$key")
      verify_status
      vsize="" how=""
      if ((manifest_code == 0)); then
        manifest_read_back "$base/$snap/manifest.json" || manifest_code=$? manifest_error=$REPLY
      fi
    fi
  fi
  if [[ $VERIFY == read-back || -z $how ]]; then
    ((v_aws_rc == 0)) || die "$EX_S3" "verification download of s3://$BUCKET/$key failed: $(<"$TMP/vaws.err"); latest unchanged"
    ((v_rc == 0)) || die 1 "verification pipeline failed; latest unchanged"
    [[ -s $TMP/v.len ]] && read -r vsize <"$TMP/v.len"
    [[ -s $TMP/v.sha ]] && read -r vsha _ <"$TMP/v.sha"
    if [[ $vsha != "$sha" || $vsize != "$size" ]]; then
      s3_rm_quiet "$key"
      s3_rm_quiet "$base/$snap/manifest.json"
      die "$EX_VERIFY" "verification failed for s3://$BUCKET/$key: uploaded sha256=$sha size=$size, read back sha256=$vsha size=$vsize; latest unchanged"
    fi
    how="read back"
  fi
  log "$dir: uploaded and verified $size bytes ($how), sha256 $sha"
  ((manifest_code == 0)) || die "$manifest_code" "$manifest_error"

  # ---- commit: move latest, then advance the local incremental state
  printf '%s\n' "$snap" >"$TMP/latest.new"
  rc=0
  aws s3 cp --only-show-errors --content-type text/plain "$TMP/latest.new" \
    "s3://$BUCKET/$base/latest" 2>"$TMP/aws.err" || rc=$?
  ((rc == 0)) || die "$EX_S3" "updating s3://$BUCKET/$base/latest failed: $(<"$TMP/aws.err"); latest unchanged (snapshot $snap is uploaded but not referenced)"

  if ! {
    cp -- "$TMP/snar" "$sdir/snar.new" &&
      cp -- "$TMP/index" "$sdir/index.new" &&
      printf 'snapshot=%s\nlevel=%d\nchain=%s\n' "$snap" "$level" "$chain_csv" >"$sdir/state.new" &&
      mv -f -- "$sdir/snar.new" "$sdir/snar" &&
      mv -f -- "$sdir/index.new" "$sdir/index" &&
      mv -f -- "$sdir/state.new" "$sdir/state"
  }; then
    rm -f -- "$sdir/state"
    die 1 "snapshot $snap committed, but local state in $sdir could not be saved; the next run will be full"
  fi

  if ((tar_rc == 1 || nwarn > 0)); then
    OVERALL_WARN=1
    log "WARNING: $dir: tar reported $nwarn warning(s) (exit $tar_rc); recorded in the manifest"
  fi
  printf 'snapshot\t%s\t%s\t%s\t%d\t%s\n' "$slug" "$snap" "$mtype" "$size" "s3://$BUCKET/$base/$snap/"

  # ---- the freshness metric: one datum per good snapshot (the alarm watches Stack+Directory, so
  # replacing an instance does not leave it watching a metric nobody publishes any more)
  if [[ -n $STACK ]]; then
    local dim
    metric_dimension_value "$dir" "$slug"
    dim=$REPLY
    metric_json BackupSuccess 1 Count "Stack=$STACK" "Directory=$dim"
    local by_dir=$REPLY
    metric_json BackupSuccess 1 Count "Stack=$STACK" "InstanceId=$INSTANCE_ID" "Directory=$dim"
    if put_metrics "$NAMESPACE" "$by_dir" "$REPLY"; then
      log "$dir: published BackupSuccess to $NAMESPACE"
    else
      METRICS_FAILED=1
      log "ERROR: $dir: snapshot $snap is committed, but publishing BackupSuccess failed: $(<"$TMP/metrics.err")"
    fi
  fi
}

for i in "${!NDIRS[@]}"; do
  backup_one "${NDIRS[$i]}" "${SLUGS[$i]}"
done

if ((METRICS_FAILED)); then
  exit "$EX_METRICS"
fi
if ((OVERALL_WARN && FAIL_ON_CHANGE)); then
  exit "$EX_CHANGED"
fi
exit 0
