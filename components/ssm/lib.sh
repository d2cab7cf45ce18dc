#!/usr/bin/env bash
# Helpers shared by backup.sh and restore.sh: sourced from the directory of the script that
# uses it (the SSM documents install it beside them), never run on its own. Whatever names a
# snapshot's keys lives here, so the two scripts cannot drift apart: a restore must derive
# exactly the slug the backup wrote.
#
# The caller sets PROG (the name log lines start with) before calling log or die.

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
