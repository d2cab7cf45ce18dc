#!/usr/bin/env bash
# Helpers shared by backup.sh, restore.sh and drill.sh: sourced from the directory of the script
# that uses it (the SSM documents install it beside them), never run on its own. Whatever names a
# snapshot's keys, reads its manifest or counts what tar archived lives here, so the scripts
# cannot drift apart: a restore must derive exactly the slug the backup wrote, and the drill must
# read a manifest exactly as the restore does.
#
# The caller sets PROG (the name log lines start with) before calling log or die, and BUCKET
# (the bucket) and TMP (a private temp dir) before calling the S3 and metric helpers.
#
# External commands used here: aws, awk, od (each script's REQUIRED_TOOLS lists them).

# check_bucket_and_prefix: the --bucket and --prefix every script takes, judged alike (through
# the calling script's usage: exit 2); PREFIX loses its leading and trailing slashes, so every
# script derives the same keys from the same arguments. Reads BUCKET, PREFIX and PREFIX_SET.
check_bucket_and_prefix() {
  # shellcheck disable=SC2154 # BUCKET, PREFIX and PREFIX_SET come from the caller's argument parsing
  [[ -n $BUCKET ]] || usage "--bucket is required"
  [[ $BUCKET =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || usage "invalid bucket name: $BUCKET"
  ((PREFIX_SET)) || usage "--prefix is required (use --prefix '' for none)"
  [[ $PREFIX =~ ^[A-Za-z0-9\!_.*\'\(\)/-]*$ ]] || usage "invalid --prefix (allowed: A-Za-z0-9 !_.*'()/-)"
  while [[ $PREFIX == */ ]]; do PREFIX=${PREFIX%/}; done
  while [[ $PREFIX == /* ]]; do PREFIX=${PREFIX#/}; done
  [[ $PREFIX != *//* ]] || usage "invalid --prefix (empty path segment)"
}

# log MESSAGE...: one line on stderr, prefixed with the program's name.
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  local code=$1
  shift
  log "ERROR: $*"
  exit "$code"
}

# on_err STATUS LINE COMMAND: the ERR trap of both scripts (exit 1: an unexpected failure).
on_err() {
  local rc=$1 line=$2 cmd=$3
  log "ERROR: unexpected failure (status $rc) at line $line: $cmd"
  exit 1
}

# norm_path PATH -> REPLY: absolute path with "//", "/./" and trailing "/" removed.
# Returns 1 for relative paths or ".." components. Works for names containing newlines.
norm_path() {
  local p=$1 comp out=""
  local -a parts
  [[ $p == /* ]] || return 1
  IFS=/ read -r -d '' -a parts < <(printf '%s\0' "$p") || true
  for comp in "${parts[@]}"; do
    case $comp in
      '' | .) ;;
      ..) return 1 ;;
      *) out+="/$comp" ;;
    esac
  done
  REPLY=${out:-/}
}

# slugify NORMALIZED_PATH -> REPLY (see header). Byte-wise via od.
slugify() {
  local p=${1#/} b out="" ch
  local -a bytes
  if [[ -z $p ]]; then
    REPLY=-
    return 0
  fi
  while read -r -a bytes; do
    for b in "${bytes[@]}"; do
      case $b in
        2f) out+=- ;;
        2e | 3[0-9] | 4[1-9a-f] | 5[0-9a] | 6[1-9a-f] | 7[0-9a])
          printf -v ch '%b' "\\x$b"
          out+=$ch
          ;;
        *) out+="_$b" ;;
      esac
    done
  done < <(printf '%s' "$p" | od -An -v -tx1)
  REPLY=$out
}

# join_key PART... -> REPLY: the non-empty parts joined with "/" (an S3 key).
join_key() {
  local k="" part
  for part in "$@"; do
    [[ -n $part ]] && k+="${k:+/}$part"
  done
  REPLY=$k
}

# ---------------------------------------------------------------- S3

# s3_key_exists KEY -> 0 the object exists, 1 it does not, 2 the listing failed (message in
# $TMP/list.err).
#
# Existence is decided by listing, never from a GetObject/HeadObject error: S3 answers 403
# AccessDenied, not 404, for a missing key unless the caller holds s3:ListBucket on the bucket
# (Amazon S3 API Reference, GetObject and HeadObject, "Permissions":
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html), and the instance role's
# s3:ListBucket carries an s3:prefix condition (components/bucket.ts grantPolicyDocument), which
# that request does not meet. A ListObjectsV2 whose prefix is the key itself does meet it (the key
# is under the granted prefix), and lists the key first if it exists: every other key with that
# prefix is longer, and S3 lists in UTF-8 binary order.
s3_key_exists() {
  local key=$1 first
  if ! first=$(aws s3api list-objects-v2 --bucket "$BUCKET" --prefix "$key" --page-size 1 --max-items 1 \
    --query 'Contents[0].Key' --output text 2>"$TMP/list.err"); then
    return 2
  fi
  [[ $first == "$key" ]]
}

# s3_fetch KEY OUTFILE -> 0 ok, 44 the object does not exist, 1 any other failure (message in
# $TMP/fetch.err). A download that fails on a key that exists (403 from a Deny or a KMS key
# policy, throttling, the network) is a failure, never "not found".
s3_fetch() {
  local key=$1 out=$2 rc=0
  aws s3 cp --only-show-errors "s3://$BUCKET/$key" "$out" 2>"$TMP/fetch.err" && return 0
  s3_key_exists "$key" || rc=$?
  case $rc in
    1) return 44 ;;
    2) printf 'and deciding whether it exists failed: %s\n' "$(<"$TMP/list.err")" >>"$TMP/fetch.err" ;;
  esac
  return 1
}

# ---------------------------------------------------------------- text

# json_str STRING -> REPLY: a JSON string literal (quotes included). Bytes >= 0x80 are
# passed through (valid JSON when the input is UTF-8; the slug is the lossless form).
json_str() {
  local LC_ALL=C
  local s=$1 i hex c u
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\t'/\\t}
  s=${s//$'\r'/\\r}
  for ((i = 1; i < 32; i++)); do
    ((i == 9 || i == 10 || i == 13)) && continue
    printf -v hex '%02x' "$i"
    printf -v c '%b' "\\x$hex"
    [[ $s == *"$c"* ]] || continue
    printf -v u '\\u%04x' "$i"
    s=${s//"$c"/$u}
  done
  REPLY="\"$s\""
}

# unslug SLUG -> REPLY: the absolute path slugify made SLUG from (its exact inverse).
unslug() {
  local slug=$1 out="" i ch
  if [[ $slug == - ]]; then
    REPLY=/
    return 0
  fi
  for ((i = 0; i < ${#slug}; i++)); do
    ch=${slug:i:1}
    case $ch in
      -) out+=/ ;;
      _)
        printf -v ch '%b' "\\x${slug:i+1:2}"
        out+=$ch
        i=$((i + 2))
        ;;
      *) out+=$ch ;;
    esac
  done
  REPLY=/$out
}

# cquote NAME -> REPLY: NAME as GNU tar prints it with --quoting-style=c in the C locale, without
# the surrounding quotes: \a \b \t \n \v \f \r \" \\ for those bytes, three octal digits for any
# other byte outside 0x20-0x7e, everything else as it is. Names of printable ASCII take no fork.
cquote() {
  local LC_ALL=C
  local s=$1 out="" o c
  if [[ $s != *[!\ -~]* && $s != *[\"\\]* ]]; then
    REPLY=$s
    return 0
  fi
  local -a bytes
  while read -r -a bytes; do
    for o in "${bytes[@]}"; do
      case $o in
        007) out+='\a' ;;
        010) out+='\b' ;;
        011) out+='\t' ;;
        012) out+='\n' ;;
        013) out+='\v' ;;
        014) out+='\f' ;;
        015) out+='\r' ;;
        042) out+='\"' ;;
        134) out+="\\\\" ;;
        177) out+="\\$o" ;;
        0[4-7][0-7] | 1[0-7][0-7])
          printf -v c '%b' "\\0$o"
          out+=$c
          ;;
        *) out+="\\$o" ;;
      esac
    done
  done < <(printf '%s' "$s" | od -An -v -to1)
  REPLY=$out
}

# ---------------------------------------------------------------- what tar archived

# A member line of `tar --verbose --verbose --numeric-owner --quoting-style=c` (create's
# --index-file or --list, C locale): type letter and mode, uid/gid, size (or major,minor), date,
# time, the quoted name (then " -> target" or " link to target").

# listing_table LISTING OUT -> LT_MEMBERS (lines = members, the top directory "./" included) and
# LT_BYTES (apparent size of the regular-file members: type "-"; a hard link "h" adds nothing, a
# sparse file counts its full size), and OUT: one line per member, "type<TAB>size<TAB>name", the
# name as tar quotes it without the quotes and without a trailing "/" (a device's "major,minor"
# size is 0). Returns 1 (REPLY says which line) when a line is not a member line: counts from a
# listing this parser does not understand would be wrong.
#
# One awk pass rather than a bash loop: a bash regex match per line cost seconds for a tree of
# 20,000 files, twice (the counts, then the table). POSIX awk only (gawk on AL2023, mawk on
# Debian): no capture groups, so the name is read up to its first unescaped quote.
listing_table() {
  local file=$1 out=$2 result
  # shellcheck disable=SC2016 # awk's own $0 and $3
  if ! result=$(LC_ALL=C awk '
    BEGIN { out = ARGV[2]; ARGV[2] = ""; members = 0; bytes = 0; printf "" >out }
    {
      if ($0 !~ /^.[^ ]* +[0-9]+\/[0-9]+ +([0-9]+|[0-9]+,[0-9]+) [0-9-]+ [0-9:]+ "/) bad()
      rest = substr($0, index($0, "\"") + 1)
      name = ""; closed = 0; n = length(rest); i = 1
      while (i <= n) {
        c = substr(rest, i, 1)
        if (c == "\"") { closed = 1; break }
        if (c == "\\") { if (i == n) break; name = name substr(rest, i, 2); i += 2; continue }
        name = name c; i++
      }
      if (!closed) bad()
      type = substr($0, 1, 1); size = $3
      if (size !~ /^[0-9]+$/) size = 0
      sub(/\/$/, "", name)
      members++
      if (type == "-") bytes += size
      printf "%s\t%s\t%s\n", type, size, name >out
    }
    END { if (!failed) printf "ok %.0f %.0f\n", members, bytes }
    function bad() { failed = 1; printf "unexpected tar listing line: %s\n", substr($0, 1, 200); exit 1 }
  ' "$file" "$out"); then
    REPLY=${result:-"the listing could not be read: $file"}
    return 1
  fi
  # shellcheck disable=SC2034 # LT_MEMBERS and LT_BYTES are the caller's results
  read -r _ LT_MEMBERS LT_BYTES <<<"$result"
}

# listing_totals FILE -> LT_MEMBERS, LT_BYTES as listing_table counts them (1 and REPLY likewise).
listing_totals() { listing_table "$1" /dev/null; }

# ---------------------------------------------------------------- manifests

# manifest_parse FILE EXPECTED_SNAPSHOT EXPECTED_SLUG -> M_VERSION, M_LEVEL, M_CHAIN (array),
# M_ARCH_NAME/SIZE/SHA/MEMBERS/MEMBER_BYTES (arrays; members empty in v1), M_TREE_ENTRIES and
# M_TREE_BYTES (empty in v1), M_APPARENT (sourceApparentBytes), M_COMPLETED. Returns 1 with
# the reason in REPLY when the manifest is malformed or not the one expected.
#
# backup.sh writes one field per line with fixed indentation; JSON strings never contain raw
# newlines, so anchored line matches are unambiguous. Versions 1 and 2 are read (2 appends
# fields: members and memberBytes on each archive, treeEntries and treeBytes at the end).
manifest_parse() {
  local file=$1 want=$2 want_slug=$3 line id snap="" slug="" chain_raw="" in_arch=0
  local -a ids
  M_VERSION="" M_LEVEL="" M_CHAIN=() M_ARCH_NAME=() M_ARCH_SIZE=() M_ARCH_SHA=() M_ARCH_MEMBERS=() M_ARCH_MEMBER_BYTES=()
  M_TREE_ENTRIES="" M_TREE_BYTES="" M_APPARENT="" M_COMPLETED=""
  local re_arch='^    \{"name": "([A-Za-z0-9._-]+)", "size": ([0-9]+), "sha256": "([0-9a-f]{64})"(, "members": ([0-9]+), "memberBytes": ([0-9]+))?\},?$'
  while IFS= read -r line; do
    if ((in_arch)); then
      if [[ $line =~ $re_arch ]]; then
        M_ARCH_NAME+=("${BASH_REMATCH[1]}")
        M_ARCH_SIZE+=("${BASH_REMATCH[2]}")
        M_ARCH_SHA+=("${BASH_REMATCH[3]}")
        M_ARCH_MEMBERS+=("${BASH_REMATCH[5]}")
        M_ARCH_MEMBER_BYTES+=("${BASH_REMATCH[6]}")
        continue
      fi
      in_arch=0
    fi
    case $line in
      '  "formatVersion": '*) M_VERSION=${line#*: } M_VERSION=${M_VERSION%,} ;;
      '  "snapshotId": "'*) snap=${line#*: \"} snap=${snap%\",} ;;
      '  "slug": "'*) slug=${line#*: \"} slug=${slug%\",} ;;
      '  "level": '*) M_LEVEL=${line#*: } M_LEVEL=${M_LEVEL%,} ;;
      '  "chain": ['*) chain_raw=${line#*: [} chain_raw=${chain_raw%],} ;;
      '  "completedAt": "'*) M_COMPLETED=${line#*: \"} M_COMPLETED=${M_COMPLETED%\",} ;;
      '  "sourceApparentBytes": '*) M_APPARENT=${line#*: } M_APPARENT=${M_APPARENT%,} ;;
      '  "treeEntries": '*) M_TREE_ENTRIES=${line#*: } M_TREE_ENTRIES=${M_TREE_ENTRIES%,} ;;
      '  "treeBytes": '*) M_TREE_BYTES=${line#*: } M_TREE_BYTES=${M_TREE_BYTES%,} ;;
      '  "archives": [') in_arch=1 ;;
    esac
  done <"$file"
  case $M_VERSION in
    1) ;;
    2)
      if [[ ! $M_TREE_ENTRIES =~ ^[0-9]+$ || ! $M_TREE_BYTES =~ ^[0-9]+$ ]]; then
        REPLY="manifest of $want (format 2) lacks treeEntries/treeBytes"
        return 1
      fi
      ;;
    *)
      REPLY="manifest of $want: unsupported formatVersion '$M_VERSION'"
      return 1
      ;;
  esac
  if [[ $snap != "$want" ]]; then
    REPLY="manifest of $want names snapshot '$snap'"
    return 1
  fi
  if [[ $slug != "$want_slug" ]]; then
    REPLY="manifest of $want is for slug '$slug', expected '$want_slug'"
    return 1
  fi
  if [[ ! $M_LEVEL =~ ^[0-9]+$ ]]; then
    REPLY="manifest of $want: bad level"
    return 1
  fi
  if ((${#M_ARCH_NAME[@]} == 0)); then
    REPLY="manifest of $want lists no archives"
    return 1
  fi
  if [[ $M_VERSION == 2 && -z ${M_ARCH_MEMBERS[0]} ]]; then
    REPLY="manifest of $want (format 2): an archive lacks members/memberBytes"
    return 1
  fi
  if [[ -n $chain_raw ]]; then
    chain_raw=${chain_raw//\"/}
    IFS=', ' read -r -a ids <<<"$chain_raw"
    for id in "${ids[@]}"; do
      if [[ ! $id =~ ^[A-Za-z0-9._-]+$ ]]; then
        REPLY="manifest of $want: bad chain entry '$id'"
        return 1
      fi
      M_CHAIN+=("$id")
    done
  fi
  if ((${#M_CHAIN[@]} != M_LEVEL)); then
    REPLY="manifest of $want: level $M_LEVEL but chain has ${#M_CHAIN[@]} entries"
    return 1
  fi
}

# chain_resolve BASE SNAPSHOT SLUG -> CHAIN (the snapshots to apply, the full first, SNAPSHOT
# last), A_SNAP/A_NAME/A_SIZE/A_SHA/A_MEMBERS/A_MEMBER_BYTES (every archive of the chain in apply
# order); the M_* of manifest_parse are left describing SNAPSHOT's manifest (parsed last). Downloads
# each manifest to $TMP/manifest.<id>.json and checks the chain is one: every member's manifest
# names itself and the slug, sits at its level, and builds on the same predecessors.
# Returns 0, or 4 (a download failed), 5 (a manifest is malformed or the chain inconsistent), 8 (a
# manifest does not exist, decided by listing: lib.sh s3_fetch), with the reason in REPLY.
chain_resolve() {
  local base=$1 snap=$2 slug=$3 i j id
  CHAIN=() A_SNAP=() A_NAME=() A_SIZE=() A_SHA=() A_MEMBERS=() A_MEMBER_BYTES=()
  chain_fetch_manifest "$base" "$snap" || return
  manifest_parse "$TMP/manifest.$snap.json" "$snap" "$slug" || return 5
  CHAIN=("${M_CHAIN[@]}" "$snap")
  for i in "${!CHAIN[@]}"; do
    id=${CHAIN[$i]}
    [[ -f $TMP/manifest.$id.json ]] || chain_fetch_manifest "$base" "$id" || return
    manifest_parse "$TMP/manifest.$id.json" "$id" "$slug" || return 5
    if ((M_LEVEL != i)); then
      REPLY="chain broken: $id is at position $i but its manifest says level $M_LEVEL"
      return 5
    fi
    for ((j = 0; j < i; j++)); do
      if [[ ${M_CHAIN[$j]:-} != "${CHAIN[$j]}" ]]; then
        REPLY="chain broken: $id does not build on ${CHAIN[$j]}"
        return 5
      fi
    done
    for j in "${!M_ARCH_NAME[@]}"; do
      A_SNAP+=("$id") A_NAME+=("${M_ARCH_NAME[$j]}") A_SIZE+=("${M_ARCH_SIZE[$j]}") A_SHA+=("${M_ARCH_SHA[$j]}")
      A_MEMBERS+=("${M_ARCH_MEMBERS[$j]}") A_MEMBER_BYTES+=("${M_ARCH_MEMBER_BYTES[$j]}")
    done
  done
}

# chain_fetch_manifest BASE ID: downloads one manifest (chain_resolve's return codes).
chain_fetch_manifest() {
  local rc=0
  s3_fetch "$1/$2/manifest.json" "$TMP/manifest.$2.json" || rc=$?
  case $rc in
    0) return 0 ;;
    44)
      REPLY="snapshot $2 not found: s3://$BUCKET/$1/$2/manifest.json does not exist"
      return 8
      ;;
    *)
      REPLY="cannot download manifest of $2: $(<"$TMP/fetch.err")"
      return 4
      ;;
  esac
}

# ---------------------------------------------------------------- CloudWatch metrics

# metric_dimension_value PATH SLUG -> REPLY: the Directory dimension: the path itself when it is
# printable ASCII of at most 1024 characters (CloudWatch dimension values must be ASCII, 1-1024
# characters: Amazon CloudWatch API Reference, Dimension), else the slug, which always is.
metric_dimension_value() {
  local LC_ALL=C
  if [[ $1 != *[!\ -~]* && ${#1} -le 1024 ]]; then REPLY=$1; else REPLY=$2; fi
}

# metric_json NAME VALUE UNIT DIMENSION... -> REPLY: one MetricDatum as JSON; each DIMENSION is
# NAME=VALUE (the value may contain "=").
metric_json() {
  local name=$1 value=$2 unit=$3 dims="" d
  shift 3
  for d in "$@"; do
    json_str "${d#*=}"
    dims+="${dims:+, }{\"Name\": \"${d%%=*}\", \"Value\": $REPLY}"
  done
  REPLY="{\"MetricName\": \"$name\", \"Value\": $value, \"Unit\": \"$unit\", \"Dimensions\": [$dims]}"
}

# put_metrics NAMESPACE DATUM_JSON... -> 0 published, 1 failed (message in $TMP/metrics.err).
# One PutMetricData call (at most 1000 data: far more than a run makes).
put_metrics() {
  local ns=$1 data=""
  shift
  local IFS=,
  data="[$*]"
  aws cloudwatch put-metric-data --namespace "$ns" --metric-data "$data" >/dev/null 2>"$TMP/metrics.err"
}
