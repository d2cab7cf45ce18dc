#!/usr/bin/env bash
# Helpers shared by backup.sh and restore.sh: sourced from the directory of the script that
# uses it (the SSM documents install it beside them), never run on its own. Whatever names a
# snapshot's keys lives here, so the two scripts cannot drift apart: a restore must derive
# exactly the slug the backup wrote.
#
# The caller sets PROG (the name log lines start with) before calling log or die, and BUCKET
# (the bucket) and TMP (a private temp dir) before calling the S3 helpers at the end.

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
