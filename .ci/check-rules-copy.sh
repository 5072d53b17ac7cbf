#!/usr/bin/env bash
# Keeps features/RULES.md (the project's copy of the rule catalogue) in step with the shared one:
# if ../shared/spec/RULES.md exists, every rule of it is in the copy at the same level; the copy
# may add rules of its own (printed as additions). What the feature files' tags must say (one
# @rule tag naming a rule of the copy, its level and rule-set tags, @serial and
# @requires:setting: on settings steps, every rule covered) is checked by the catalogue's unit
# tests (src/catalogue/features.rs). Exit 0 when it holds, 1 otherwise (the differences are
# printed). A missing shared file is not an error: the check is skipped with a note.
set -euo pipefail
cd "$(dirname "$0")/.."

copy=features/RULES.md
shared=../shared/spec/RULES.md
status=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -f "$copy" ]; then
  echo "error: $copy not found" >&2
  exit 1
fi

# "ID LEVEL PROFILE" for each table row whose first cell is a rule ID. The level is the first
# word of the second cell ("MAY, requires: cors" -> MAY); the profile is the last
# "## Profile `name`" heading above the row.
extract() {
  awk -F'|' '
    /^## Profile `/ { p = $0; sub(/^## Profile `/, "", p); sub(/`.*/, "", p); profile = p; next }
    /^\| / {
      id = $2; gsub(/^[ \t]+|[ \t]+$/, "", id)
      if (id !~ /^[a-z0-9.-]+$/) next
      lvl = $3; gsub(/^[ \t]+/, "", lvl); split(lvl, w, /[ ,\t]+/)
      print id, w[1], (profile == "" ? "-" : profile)
    }' "$1"
}

extract "$copy" | sort > "$tmp/copy"
n=$(wc -l < "$tmp/copy")
if [ "$n" -eq 0 ]; then
  echo "error: no rule rows found in $copy" >&2
  exit 1
fi
dups=$(cut -d' ' -f1 "$tmp/copy" | uniq -d)
if [ -n "$dups" ]; then
  echo "duplicate rule IDs in $copy:"; printf '  %s\n' $dups; status=1
fi
bad_levels=$(awk '$2 !~ /^(MUST|SHOULD|MAY|INFO)$/ { print "  " $1 ": " $2 }' "$tmp/copy")
if [ -n "$bad_levels" ]; then
  echo "levels in $copy must be MUST, SHOULD, MAY or INFO:"; echo "$bad_levels"; status=1
fi

# 1. Every shared rule at the shared level; the copy's own rules are additions.
shared_ok=""
if [ -f "$shared" ]; then
  extract "$shared" | sort > "$tmp/shared"
  cut -d' ' -f1,2 "$tmp/shared" > "$tmp/shared.pairs"
  cut -d' ' -f1,2 "$tmp/copy" > "$tmp/copy.pairs"
  missing=$(comm -23 "$tmp/shared.pairs" "$tmp/copy.pairs")
  if [ -n "$missing" ]; then
    echo "rules of shared/spec/RULES.md missing from $copy or at another level (ID level as shared):"
    printf '%s\n' "$missing" | sed 's/^/  /'
    status=1
  else
    shared_ok=yes
  fi
  cut -d' ' -f1 "$tmp/shared" | sort -u > "$tmp/shared.ids"
  additions=$(cut -d' ' -f1,2 "$tmp/copy" | sort | awk 'NR==FNR { s[$1] = 1; next } !($1 in s)' "$tmp/shared.ids" -)
  if [ -n "$additions" ]; then
    echo "additions of the project (not in shared/spec/RULES.md):"
    printf '%s\n' "$additions" | sed 's/^/  /'
  fi
else
  echo "note: $shared not found; skipping the comparison with the shared catalogue"
fi

if [ "$status" -eq 0 ]; then
  if [ -n "$shared_ok" ]; then
    echo "rules copy holds every rule of shared/spec/RULES.md at its level ($n rules in the copy)"
  fi
fi
exit "$status"
