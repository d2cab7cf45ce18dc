#!/usr/bin/env bash
# platform-drill: prove that the latest snapshot of every backed-up directory of every instance of
# a stack restores, and measure how long that takes. Runs as root via SSM Run Command on Amazon
# Linux 2023, on one instance of the stack (the drill runbook picks one), with restore.sh and
# lib.sh installed beside it (see REQUIRED_TOOLS).
#
# Usage:
#   bash drill.sh --bucket B --prefix P --stack NAME [--instance ID]... [--expect DIR]... [--mode auto|extract|stream]
#                 [--scratch-dir DIR] [--reserve-bytes N] [--metrics-namespace NS] [--no-metrics]
#                 [--lock-file F]
#   Options accept "--opt value" or "--opt=value". See components/ssm/README.md.
#
#   --prefix P         the stack's backup prefix: every <P>/<instance>/<slug>/latest is drilled
#                      (of the --instance ids, when given)
#   --stack NAME       the Stack dimension of the metrics
#   --instance ID      a live instance of the stack (repeatable; the runbook passes every instance
#                      DescribeInstanceInformation lists with the stack's tags, i.e. not stopped or
#                      terminated): only their directories are drilled. A terminated instance's
#                      backups are not the fleet's restore proof, and the lifecycle rules expire its
#                      full backup before its latest (a chain that no longer restores, by design);
#                      they are skipped, named on stderr. Without --instance: every instance under P.
#   --expect DIR       a directory the stack backs up (repeatable): no snapshot of it on any
#                      (live) instance is a failure of that directory (exit 8), not silence
#   --mode             auto (default): restore into the scratch directory when its file system has
#                      room for the chain's archives, the restored tree and --reserve-bytes, else
#                      stream; extract: always restore; stream: never extract (verify the archives'
#                      checksums, decompress them and list them with tar, compare with the manifests)
#   --scratch-dir DIR  where restores go (default /var/lib/platform-backup/_drill: disk; AL2023's
#                      /tmp is a RAM-backed tmpfs). The drill works in DIR/platform-drill, a
#                      directory of its own (mode 700, removed at the end); DIR itself is created
#                      if missing but its mode is never changed (it may be a directory in use).
#   --reserve-bytes N  free space to leave to the instance's own work (default 1073741824 = 1 GiB)
#   --metrics-namespace NS  CloudWatch namespace (default Platform/Backups)
#   --no-metrics       publish nothing (stdout and the exit code only)
#   --lock-file F      flock file (default /run/platform-drill.lock)
#
# Per directory: read latest, resolve the chain (every manifest checked, lib.sh chain_resolve),
# then either restore it with restore.sh into a fresh scratch directory (every archive's sha256 and
# size checked before anything is extracted) and compare the restored tree with the manifest
# (treeEntries: every name below the directory; treeBytes: apparent bytes of its regular files,
# each inode once), or stream each archive through sha256 + zstd -d + tar --list and compare with
# the manifest (members, memberBytes). The scratch copy is removed after each directory, on every
# exit and on SIGTERM/SIGINT/SIGHUP; one left by a SIGKILL is removed by the next drill. Metrics
# (only for directories that were drilled): RestoreDrillSuccess 1|0 (Count) and, on success only,
# RestoreDrillSeconds (Seconds: from reading latest to the end of the verification).
#   Stack+InstanceId+Directory (InstanceId: the instance whose backup it is): as each directory
#     of each instance finishes.
#   Stack+Directory (what the alarms watch): ONE value per directory, at the end of the run, the
#     worst of all its instances (Success: the minimum; Seconds: the slowest, only when every
#     instance's restore of it succeeded), so one instance's success can never clear another's
#     failure within an alarm period.
# A failed or interrupted drill never publishes a success (an interrupted one publishes no
# Stack+Directory value at all: the drill-missing alarm notices).
#
# stdout, one line per directory:
#   drill<TAB>instance<TAB>slug<TAB>snapshot<TAB>chain-length<TAB>archive-bytes<TAB>tree-entries
#        <TAB>tree-bytes<TAB>seconds<TAB>mode<TAB>verdict<TAB>detail<TAB>snapshot-age-seconds
#   tree-entries, tree-bytes: what the drill counted in the restored tree (extract mode); "-" in
#   stream mode, which extracts no tree (detail then says what was listed and what the manifest
#   records); mode: extract | stream | none (failed before a mode was chosen); verdict: ok |
#   "ok (checksums only: format 1 manifest)" (a manifest that records no tree counts: the archives'
#   checksums were verified, the tree could not be compared) | failed; "-" where a value is unknown;
#   detail: what was compared, or why it failed (no tabs); snapshot-age-seconds: how old the
#   drilled snapshot was when the drill read it (from its id, a UTC time).
#
# Exit codes (with several failing directories: the first failure's code; every directory is
# drilled either way):
#   0  every directory restored (or streamed) and verified, metrics published
#   1  unexpected internal error
#   2  bad arguments
#   3  nothing to drill: no latest under the prefix (and no --expect)
#   4  S3 failure (listing, download)
#   5  verification failed: checksum/size, malformed or inconsistent manifest or chain, the restored
#      tree (or the streamed listing) differs from the manifest, an archive does not decompress/list
#   6  another drill is running (lock held)
#   7  extraction failed
#   8  not found: a snapshot or chain member is missing, or an --expect directory has no snapshot
#   9  a required tool is missing (or lib.sh / restore.sh is not beside the script)
#   11 every directory verified, but publishing the metrics failed
#   143/130/129 interrupted by SIGTERM/SIGINT/SIGHUP (scratch removed, nothing published)
set -Eeuo pipefail
shopt -s inherit_errexit

readonly PROG=platform-drill
readonly EX_USAGE=2 EX_NOTHING=3 EX_S3=4 EX_VERIFY=5 EX_LOCKED=6 EX_EXTRACT=7 EX_NOTFOUND=8 EX_TOOL=9 EX_METRICS=11
# Every external command this script, lib.sh and the restore.sh it runs need, checked before anything
# else happens (exit 9). tests/backupScripts.test.ts derives them from the code's syntax tree; the bake
# and the web tier's user data install them (components/backupTools.ts).
readonly -a REQUIRED_TOOLS=(aws awk bash chmod date df find flock mkdir mkfifo mktemp od rm sha256sum stat tar tee wc zstd)

lib_dir=.
[[ ${BASH_SOURCE[0]} != */* ]] || lib_dir=${BASH_SOURCE[0]%/*}
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$lib_dir/lib.sh" || { printf '%s: ERROR: %s/lib.sh is missing: install it beside this script\n' "$PROG" "$lib_dir" >&2; exit 9; }
readonly RESTORE=$lib_dir/restore.sh

usage() { die "$EX_USAGE" "$* (usage: drill.sh --bucket B --prefix P --stack NAME [options]; see header)"; }
trap 'on_err "$?" "$LINENO" "$BASH_COMMAND"' ERR

RUN="" TMP="" CHILD="" WORK_ROOT=""
# shellcheck disable=SC2317
# (SC2317 "unreachable": cleanup and on_signal are only invoked from trap strings, which ShellCheck
#  0.9 does not follow.)
cleanup() {
  local pid
  stop_child
  for pid in $(jobs -p); do kill "$pid" 2>/dev/null || true; done
  if [[ -n $RUN && -d $RUN ]]; then rm -rf -- "$RUN"; fi
  # The drill's own directory (set with RUN, once the lock is held): nothing but runs' copies in it.
  if [[ -n $RUN && -d $WORK_ROOT ]]; then rm -rf -- "$WORK_ROOT"; fi
}
# shellcheck disable=SC2317
on_signal() {
  trap - TERM INT HUP
  log "interrupted by SIG$1: stopping and removing the scratch copy; nothing is published"
  exit "$2"
}
# shellcheck disable=SC2317
# stop_child: the restore or stream runs in a process group of its own (run in the background with
# job control on), so one signal stops it and every process of its pipelines before the scratch
# directory is removed (a tar still writing there would refill it).
stop_child() {
  if [[ -n $CHILD ]]; then
    kill -TERM -- "-$CHILD" 2>/dev/null || true
    wait "$CHILD" 2>/dev/null || true
    CHILD=""
  fi
}
trap cleanup EXIT
trap 'on_signal TERM 143' TERM
trap 'on_signal INT 130' INT
trap 'on_signal HUP 129' HUP

# ---------------------------------------------------------------- arguments

BUCKET="" PREFIX="" PREFIX_SET=0 STACK="" MODE=auto SCRATCH_DIR=/var/lib/platform-backup/_drill
RESERVE=1073741824 NAMESPACE=Platform/Backups METRICS=1 LOCK_FILE=/run/platform-drill.lock
EXPECT=() LIVE=()
while (($#)); do
  opt=$1 val="" has_val=0
  if [[ $opt == --*=* ]]; then
    val=${opt#*=} opt=${opt%%=*} has_val=1
  fi
  case $opt in
    --bucket | --prefix | --stack | --instance | --expect | --mode | --scratch-dir | --reserve-bytes | --metrics-namespace | --lock-file)
      if ((!has_val)); then
        (($# >= 2)) || usage "option $opt needs a value"
        val=$2
        shift
      fi
      shift
      case $opt in
        --bucket) BUCKET=$val ;;
        --prefix) PREFIX=$val PREFIX_SET=1 ;;
        --stack) STACK=$val ;;
        --instance) LIVE+=("$val") ;;
        --expect) EXPECT+=("$val") ;;
        --mode) MODE=$val ;;
        --scratch-dir) SCRATCH_DIR=$val ;;
        --reserve-bytes) RESERVE=$val ;;
        --metrics-namespace) NAMESPACE=$val ;;
        --lock-file) LOCK_FILE=$val ;;
      esac
      ;;
    --no-metrics)
      ((!has_val)) || usage "option $opt takes no value"
      METRICS=0
      shift
      ;;
    -h | --help) usage "help requested" ;;
    *) usage "unexpected argument: $opt" ;;
  esac
done

check_bucket_and_prefix
[[ $STACK =~ ^[A-Za-z0-9._-]{1,128}$ ]] || usage "--stack is required (A-Za-z0-9._-)"
[[ $MODE == auto || $MODE == extract || $MODE == stream ]] || usage "--mode must be auto, extract or stream"
norm_path "$SCRATCH_DIR" || usage "--scratch-dir must be an absolute path without '..'"
SCRATCH_DIR=$REPLY
[[ $SCRATCH_DIR != / ]] || usage "--scratch-dir must not be /"
[[ $RESERVE =~ ^[0-9]{1,18}$ ]] || usage "--reserve-bytes must be a number of bytes"
RESERVE=$((10#$RESERVE))
[[ $NAMESPACE =~ ^[A-Za-z0-9._/#-]{1,255}$ && $NAMESPACE != AWS/* ]] || usage "invalid --metrics-namespace"
[[ $LOCK_FILE == /* ]] || usage "--lock-file must be absolute"
declare -A LIVE_SET=()
for d in "${LIVE[@]}"; do
  [[ $d =~ ^[A-Za-z0-9._-]{1,64}$ ]] || usage "invalid --instance: $d"
  LIVE_SET[$d]=1
done
declare -A EXPECTED=()
for d in "${EXPECT[@]}"; do
  norm_path "$d" || usage "--expect must be an absolute path without '..': $d"
  slugify "$REPLY"
  EXPECTED[$REPLY]=1
done

missing=()
for t in "${REQUIRED_TOOLS[@]}"; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
((${#missing[@]} == 0)) || die "$EX_TOOL" "required tools missing: ${missing[*]}"
[[ -f $RESTORE ]] || die "$EX_TOOL" "$RESTORE is missing: install it beside this script"

# ---------------------------------------------------------------- lock, scratch

mkdir -p -- "${LOCK_FILE%/*}"
exec {LOCK_FD}>>"$LOCK_FILE"
flock -n "$LOCK_FD" || die "$EX_LOCKED" "another drill is running (lock held on $LOCK_FILE)"

# The given directory may be one in use (a data disk's mount point): created if missing, never
# chmod-ed. The drill works in a directory of its own below it, root-only.
mkdir -p -- "$SCRATCH_DIR"
WORK_ROOT=$SCRATCH_DIR/platform-drill
[[ ! -L $WORK_ROOT ]] || die "$EX_USAGE" "$WORK_ROOT is a symbolic link: refusing to work there"
mkdir -p -- "$WORK_ROOT"
chmod 700 -- "$WORK_ROOT"
# Only a drill holding the lock touches the scratch directory: what is there now was left by one
# that was killed without a chance to clean up (SIGKILL, a reboot).
for stale in "$WORK_ROOT"/drill.*; do
  if [[ -e $stale ]]; then
    log "removing the scratch copy a killed drill left: $stale"
    rm -rf -- "$stale"
  fi
done
RUN=$(mktemp -d "$WORK_ROOT/drill.XXXXXX")
TMP=$RUN/tmp
mkdir -- "$TMP"

now_ns() { date +%s%N; }

# ---------------------------------------------------------------- what to drill

# Every <prefix>/<instance>/<slug>/latest: one listing of the stack's prefix (all pages; the granted
# s3:prefix condition admits it), filtered to the latest objects by the CLI. Not per level with a
# delimiter: that would take a listing per instance, and this finds the same keys.
base_prefix=${PREFIX:+$PREFIX/}
if ! listing=$(aws s3api list-objects-v2 --bucket "$BUCKET" --prefix "$base_prefix" \
  --query "Contents[?ends_with(Key, '/latest')].Key" --output text 2>"$TMP/list.err"); then
  die "$EX_S3" "listing s3://$BUCKET/$base_prefix failed: $(<"$TMP/list.err")"
fi
TARGET_INST=() TARGET_SLUG=()
declare -A INSTANCES=() DEAD=()
# Split on blanks without globbing (key characters include "*").
IFS=$' \t\n' read -r -d '' -a keys <<<"$listing" || true
for key in "${keys[@]}"; do
  rel=${key#"$base_prefix"}
  [[ $key == "$base_prefix"* && $rel =~ ^([A-Za-z0-9._-]+)/([A-Za-z0-9._-]+)/latest$ ]] || continue
  if ((${#LIVE_SET[@]} > 0)) && [[ -z ${LIVE_SET[${BASH_REMATCH[1]}]:-} ]]; then
    DEAD[${BASH_REMATCH[1]}]=$((${DEAD[${BASH_REMATCH[1]}]:-0} + 1))
    continue
  fi
  TARGET_INST+=("${BASH_REMATCH[1]}") TARGET_SLUG+=("${BASH_REMATCH[2]}")
  INSTANCES[${BASH_REMATCH[1]}]=1
done
log "found ${#TARGET_SLUG[@]} backed-up directories on ${#INSTANCES[@]} instances under s3://$BUCKET/$base_prefix"
for inst in "${!DEAD[@]}"; do
  log "skipping ${DEAD[$inst]} backed-up directories of $inst: not a live instance of the stack (its backups expire under the lifecycle rules and are not the fleet's restore proof)"
done
LIVE_WHAT=instance
((${#LIVE_SET[@]} == 0)) || LIVE_WHAT="live instance (${LIVE[*]})"

# ---------------------------------------------------------------- one directory

FIRST_FAILURE=0 METRICS_FAILED=0 DRILLED=0

# Per Directory dimension value, in the order first seen: the worst result of its instances.
declare -A WORST_OK=() SLOWEST=()
DIMS=()
# record DIM SUCCESS SECONDS: folds one instance's result into the directory's worst.
record() {
  local dim=$1 success=$2 seconds=$3
  if [[ -z ${WORST_OK[$dim]:-} ]]; then
    DIMS+=("$dim")
    WORST_OK[$dim]=$success SLOWEST[$dim]=$seconds
    return 0
  fi
  ((success)) || WORST_OK[$dim]=0
  # Seconds as "S.mmm": compared as milliseconds.
  if ((10#${seconds/./} > 10#${SLOWEST[$dim]/./})); then SLOWEST[$dim]=$seconds; fi
}

# publish INSTANCE DIM SUCCESS SECONDS: one instance's metrics for one directory (Stack+InstanceId+
# Directory; nothing with --no-metrics). The Stack+Directory value waits for the end of the run.
publish() {
  local inst=$1 dim=$2 success=$3 seconds=$4
  local -a data=()
  record "$dim" "$success" "$seconds"
  ((METRICS)) || return 0
  metric_json RestoreDrillSuccess "$success" Count "Stack=$STACK" "InstanceId=$inst" "Directory=$dim"
  data+=("$REPLY")
  if ((success)); then
    metric_json RestoreDrillSeconds "$seconds" Seconds "Stack=$STACK" "InstanceId=$inst" "Directory=$dim"
    data+=("$REPLY")
  fi
  if put_metrics "$NAMESPACE" "${data[@]}"; then
    return 0
  fi
  METRICS_FAILED=1
  log "ERROR: publishing the drill's metrics for $dim failed: $(<"$TMP/metrics.err")"
}

# report INSTANCE SLUG SNAPSHOT CHAIN ARCHIVE_BYTES ENTRIES BYTES SECONDS MODE CODE DETAIL AGE [VERDICT]
report() {
  local verdict=${13:-ok} detail=${11}
  detail=${detail//$'\t'/ }
  detail=${detail//$'\n'/ }
  if (("${10}" != 0)); then
    verdict=failed
    ((FIRST_FAILURE != 0)) || FIRST_FAILURE=${10}
    unslug "$2"
    log "ERROR: $REPLY of $1: $detail (exit ${10})"
  fi
  printf 'drill\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9" "$verdict" "$detail" "${12}"
}

# tree_totals DIR -> TT_ENTRIES (every name below DIR), TT_BYTES (apparent size of the regular files,
# each inode once): what the manifest's treeEntries and treeBytes count.
tree_totals() {
  local type inode links size
  local -A seen=()
  TT_ENTRIES=0 TT_BYTES=0
  while read -r type inode links size; do
    TT_ENTRIES=$((TT_ENTRIES + 1))
    [[ $type == f ]] || continue
    if ((links > 1)); then
      [[ -z ${seen[$inode]:-} ]] || continue
      seen[$inode]=1
    fi
    TT_BYTES=$((TT_BYTES + size))
  done < <(find "$1" -mindepth 1 -printf '%y %i %n %s\n')
}

# stream_archive KEY SIZE SHA LISTING -> exit 0 ok, 4 download failed, 5 checksum/decompression/listing
# failed, 8 the object does not exist; the reason in $LISTING.reason. Runs as a background job.
stream_archive() {
  local key=$1 want_size=$2 want_sha=$3 listing=$4 sha size sha_pid len_pid rc=0
  trap - ERR
  set +e
  rm -f -- "$TMP/s.sha.fifo" "$TMP/s.len.fifo"
  mkfifo -- "$TMP/s.sha.fifo" "$TMP/s.len.fifo"
  sha256sum <"$TMP/s.sha.fifo" >"$TMP/s.sha" &
  sha_pid=$!
  wc -c <"$TMP/s.len.fifo" >"$TMP/s.len" &
  len_pid=$!
  # tee -p keeps feeding the checksum when zstd stops early: a corrupt archive is then reported by
  # its checksum, as it is.
  aws s3 cp --only-show-errors "s3://$BUCKET/$key" - 2>"$TMP/s.aws.err" |
    tee -p -- "$TMP/s.sha.fifo" "$TMP/s.len.fifo" |
    zstd -q -dc 2>"$TMP/s.zstd.err" |
    LC_ALL=C tar --list --verbose --verbose --numeric-owner --quoting-style=c --file=- >"$listing" 2>"$TMP/s.tar.err"
  local -a st=("${PIPESTATUS[@]}")
  wait "$sha_pid"
  wait "$len_pid"
  if ((st[0] != 0)); then
    s3_key_exists "$key" || rc=$?
    case $rc in
      1)
        printf 'archive s3://%s/%s is missing' "$BUCKET" "$key" >"$listing.reason"
        exit 8
        ;;
      0) printf 'download of s3://%s/%s failed: %s' "$BUCKET" "$key" "$(<"$TMP/s.aws.err")" >"$listing.reason" ;;
      *) printf 'download of s3://%s/%s failed: %s; listing it failed too: %s' "$BUCKET" "$key" "$(<"$TMP/s.aws.err")" "$(<"$TMP/list.err")" >"$listing.reason" ;;
    esac
    exit 4
  fi
  read -r sha _ <"$TMP/s.sha"
  read -r size <"$TMP/s.len"
  if [[ $sha != "$want_sha" || $size != "$want_size" ]]; then
    printf 'checksum mismatch for s3://%s/%s: manifest sha256=%s size=%s, downloaded sha256=%s size=%s' "$BUCKET" "$key" "$want_sha" "$want_size" "$sha" "$size" >"$listing.reason"
    exit 5
  fi
  if ((st[1] != 0 || st[2] != 0 || st[3] != 0)); then
    printf 's3://%s/%s does not decompress and list (tee=%s zstd=%s tar=%s): %s %s' "$BUCKET" "$key" "${st[1]}" "${st[2]}" "${st[3]}" "$(<"$TMP/s.zstd.err")" "$(<"$TMP/s.tar.err")" >"$listing.reason"
    exit 5
  fi
  exit 0
}

# snapshot_age SNAPSHOT -> REPLY: seconds since the snapshot's id (YYYYMMDDTHHMMSS.mmmZ, UTC), or "-".
snapshot_age() {
  local stamp
  REPLY=-
  [[ $1 =~ ^([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})\.[0-9]{3}Z$ ]] || return 0
  stamp=$(date -u -d "${BASH_REMATCH[1]}-${BASH_REMATCH[2]}-${BASH_REMATCH[3]} ${BASH_REMATCH[4]}:${BASH_REMATCH[5]}:${BASH_REMATCH[6]}" +%s 2>/dev/null) || return 0
  REPLY=$(($(date -u +%s) - stamp))
}

drill_one() {
  local inst=$1 slug=$2 started elapsed seconds base snap="" rc=0 dir dim work mode=none k
  local chain_len=- archive_bytes=- tree_entries=- tree_bytes=- detail age=- version=""
  started=$(now_ns)
  unslug "$slug"
  dir=$REPLY
  metric_dimension_value "$dir" "$slug"
  dim=$REPLY
  join_key "$PREFIX" "$inst" "$slug"
  base=$REPLY
  work=$(mktemp -d "$RUN/d.XXXXXX")
  TMP=$work/tmp
  mkdir -- "$TMP"
  DRILLED=$((DRILLED + 1))

  rc=0
  s3_fetch "$base/latest" "$TMP/latest" || rc=$?
  case $rc in
    0) ;;
    44)
      # A directory whose first backup never committed: nothing to restore, nothing claimed.
      log "skipping s3://$BUCKET/$base/: no latest (no committed snapshot)"
      DRILLED=$((DRILLED - 1))
      rm -rf -- "$work"
      return 0
      ;;
    *) finish "$EX_S3" "cannot read s3://$BUCKET/$base/latest: $(<"$TMP/fetch.err")"; return 0 ;;
  esac
  IFS= read -r snap <"$TMP/latest" || true
  if [[ ! $snap =~ ^[A-Za-z0-9._-]+$ ]]; then
    snap=-
    finish "$EX_VERIFY" "s3://$BUCKET/$base/latest has malformed content"
    return 0
  fi
  COMMITTED[$slug]=1
  snapshot_age "$snap"
  age=$REPLY

  rc=0
  chain_resolve "$base" "$snap" "$slug" || rc=$?
  if ((rc != 0)); then
    finish "$rc" "$REPLY"
    return 0
  fi
  chain_len=${#CHAIN[@]}
  archive_bytes=0
  for k in "${!A_SIZE[@]}"; do archive_bytes=$((archive_bytes + A_SIZE[k])); done
  local want_entries=$M_TREE_ENTRIES want_bytes=$M_TREE_BYTES apparent=${M_APPARENT:-0}
  version=$M_VERSION

  # Room for the staged archives (restore.sh keeps the chain's compressed archives while it
  # extracts), the restored tree (its apparent bytes plus a block per name) and the reserve.
  local avail="" need
  need=$((archive_bytes + ${want_bytes:-$apparent} + 4096 * ${want_entries:-0} + RESERVE))
  { read -r _ && read -r avail; } < <(df --output=avail -B1 -- "$SCRATCH_DIR" 2>/dev/null) || true
  [[ $avail =~ ^[0-9]+$ ]] || avail=0
  case $MODE in
    extract | stream) mode=$MODE ;;
    *) if ((avail >= need)); then mode=extract; else mode=stream; fi ;;
  esac
  log "$dir of $inst: snapshot $snap, chain of $chain_len ($archive_bytes bytes compressed); $avail bytes free, $need needed: $mode"

  if [[ $mode == extract ]]; then
    # restore.sh's staging and temp files go inside the scratch directory too: all of it goes at once.
    rc=0
    set -m
    TMPDIR=$work bash "$RESTORE" --bucket "$BUCKET" --prefix "$PREFIX" --instance-id "$inst" --directory "$dir" \
      --snapshot "$snap" --target "$work/tree" --work-dir "$work/stage" >"$work/restore.out" 2>"$work/restore.err" &
    CHILD=$!
    set +m
    wait "$CHILD" || rc=$?
    CHILD=""
    if ((rc != 0)); then
      local why
      why=$(<"$work/restore.err")
      why=${why##*ERROR: }
      case $rc in
        "$EX_S3" | "$EX_VERIFY" | "$EX_EXTRACT" | "$EX_NOTFOUND" | "$EX_TOOL") ;;
        *) rc=1 ;;
      esac
      finish "$rc" "restore.sh exit $rc: $why"
      return 0
    fi
    tree_totals "$work/tree"
    tree_entries=$TT_ENTRIES tree_bytes=$TT_BYTES
    if [[ $version == 1 ]]; then
      detail="restored; checksums verified (manifest format 1 records no tree counts)"
    elif ((tree_entries != want_entries || tree_bytes != want_bytes)); then
      finish "$EX_VERIFY" "manifest mismatch: the manifest of $snap says $want_entries entries and $want_bytes bytes, the restored tree has $tree_entries entries and $tree_bytes bytes"
      return 0
    else
      detail="restored; checksums and tree ($tree_entries entries, $tree_bytes bytes) match the manifests"
    fi
  else
    local members_total=0 bytes_total=0 archives=0
    for k in "${!A_SNAP[@]}"; do
      rc=0
      set -m
      stream_archive "$base/${A_SNAP[$k]}/${A_NAME[$k]}" "${A_SIZE[$k]}" "${A_SHA[$k]}" "$work/listing.$k" &
      CHILD=$!
      set +m
      wait "$CHILD" || rc=$?
      CHILD=""
      if ((rc != 0)); then
        [[ $rc == 4 || $rc == 5 || $rc == 8 ]] || rc=1
        finish "$rc" "$(<"$work/listing.$k.reason")"
        return 0
      fi
      if ! listing_totals "$work/listing.$k"; then
        finish "$EX_VERIFY" "${A_SNAP[$k]}: $REPLY"
        return 0
      fi
      if [[ $version == 2 ]] && ((LT_MEMBERS != A_MEMBERS[k] || LT_BYTES != A_MEMBER_BYTES[k])); then
        finish "$EX_VERIFY" "manifest mismatch: the manifest of ${A_SNAP[$k]} says ${A_MEMBERS[$k]} members and ${A_MEMBER_BYTES[$k]} bytes, the archive lists $LT_MEMBERS members and $LT_BYTES bytes"
        return 0
      fi
      members_total=$((members_total + LT_MEMBERS)) bytes_total=$((bytes_total + LT_BYTES)) archives=$((archives + 1))
      rm -f -- "$work/listing.$k"
    done
    # Nothing was extracted, so no tree was counted: the entries and bytes fields stay "-" and the
    # detail says what was measured (the archives' listings) apart from what the manifest records.
    detail="streamed (no room to extract or --mode stream): checksums verified; measured: $members_total members ($bytes_total bytes) listed across the chain's $archives archives"
    if [[ $version == 1 ]]; then
      detail+="; the tree was not extracted"
    else
      detail+=", each archive matching its manifest; the tree was not extracted (the manifest records $want_entries entries, $want_bytes bytes)"
    fi
  fi
  finish 0 "$detail"
}

# finish CODE DETAIL: ends drill_one's directory: removes its scratch copy, reports, publishes.
# (Reads drill_one's locals: bash functions see their caller's.)
finish() {
  local code=$1 ended
  ended=$(now_ns)
  elapsed=$((ended - started))
  printf -v seconds '%d.%03d' $((elapsed / 1000000000)) $((elapsed % 1000000000 / 1000000))
  rm -rf -- "$work"
  TMP=$RUN/tmp
  local verdict=ok
  ((code != 0)) || [[ $version != 1 ]] || verdict="ok (checksums only: format 1 manifest)"
  report "$inst" "$slug" "$snap" "$chain_len" "$archive_bytes" "$tree_entries" "$tree_bytes" "$seconds" "$mode" "$code" "$2" "$age" "$verdict"
  if ((code == 0)); then
    publish "$inst" "$dim" 1 "$seconds"
  else
    publish "$inst" "$dim" 0 0
  fi
}

declare -A COMMITTED=()
for i in "${!TARGET_SLUG[@]}"; do
  drill_one "${TARGET_INST[$i]}" "${TARGET_SLUG[$i]}"
done

# A directory the stack backs up but nobody has a snapshot of: fail it, loudly, with its metric.
for slug in "${!EXPECTED[@]}"; do
  [[ -z ${COMMITTED[$slug]:-} ]] || continue
  unslug "$slug"
  dir=$REPLY
  metric_dimension_value "$dir" "$slug"
  dim=$REPLY
  report - "$slug" - - - - - - none "$EX_NOTFOUND" "no $LIVE_WHAT has a committed snapshot of $dir under s3://$BUCKET/$base_prefix" -
  record "$dim" 0 0
  DRILLED=$((DRILLED + 1))
done

# The Stack+Directory values, one per directory: the worst of its instances.
if ((METRICS)); then
  for dim in "${DIMS[@]}"; do
    metric_json RestoreDrillSuccess "${WORST_OK[$dim]}" Count "Stack=$STACK" "Directory=$dim"
    data=("$REPLY")
    if ((WORST_OK[$dim])); then
      metric_json RestoreDrillSeconds "${SLOWEST[$dim]}" Seconds "Stack=$STACK" "Directory=$dim"
      data+=("$REPLY")
    fi
    put_metrics "$NAMESPACE" "${data[@]}" || { METRICS_FAILED=1; log "ERROR: publishing the drill's metrics for $dim failed: $(<"$TMP/metrics.err")"; }
  done
fi

((DRILLED > 0)) || die "$EX_NOTHING" "nothing to drill: no committed snapshot under s3://$BUCKET/$base_prefix"
((FIRST_FAILURE == 0)) || exit "$FIRST_FAILURE"
((METRICS_FAILED == 0)) || exit "$EX_METRICS"
log "every directory restored and verified"
exit 0
