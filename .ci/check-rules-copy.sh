#!/usr/bin/env bash
# Keeps features/RULES.md (the project's copy of the rule catalogue) and the Gherkin tags honest:
#   1. if ../shared/spec/RULES.md exists, every rule of it is in the copy at the same level;
#      the copy may add rules of its own (printed as additions);
#   2. every rule ID in features/RULES.md has at least one `@rule:<id>` scenario under features/;
#   3. every `@rule:` tag under features/ names an ID listed in features/RULES.md;
#   4. every scenario carries exactly one @rule tag, the rule's level tag and its profile tag,
#      and a scenario that uses a settings step is tagged @serial and @requires:setting:...
# Exit 0 when all hold, 1 otherwise (the differences are printed). A missing shared file is
# not an error: check 1 is skipped with a note.
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

# 2-4. Tags in the feature files.
shopt -s nullglob
features=(features/*.feature)
if [ ${#features[@]} -eq 0 ]; then
  echo "error: no features/*.feature files" >&2
  exit 1
fi
awk -v tagfile="$tmp/tags" '
  FNR == 1 && FILENAME != ARGV[1] { flush(); tags = "" }
  FILENAME == ARGV[1] { level[$1] = $2; profile[$1] = $3; next }
  function flush() {
    if (scen == "") return
    if (settings && (scen_tags !~ / @serial / || scen_tags !~ / @requires:setting:/))
      problem("uses a settings step but lacks @serial or @requires:setting:...")
    scen = ""; settings = 0
  }
  function trim(x) { sub(/[ \t]+$/, "", x); return x }
  function problem(msg) { printf "%s: %s\n", where, msg; bad = 1 }
  { line = $0; sub(/^[ \t]+/, "", line) }
  line ~ /^@/ { tags = tags " " line; next }
  line ~ /^(Scenario|Scenario Outline|Example|Scenario Template):/ {
    flush()
    scen = line; where = FILENAME ":" FNR; scen_tags = tags " "; tags = ""
    n = split(scen_tags, t, /[ \t]+/); rules = 0; rid = ""; lv = ""; pf = ""
    for (i = 1; i <= n; i++) {
      if (t[i] ~ /^@rule:/) { rules++; rid = substr(t[i], 7); print rid > tagfile }
      else if (t[i] ~ /^@(MUST|SHOULD|MAY|INFO)$/) lv = lv substr(t[i], 2) " "
      else if (t[i] ~ /^@(rfc7009|janssen)$/) pf = pf substr(t[i], 2) " "
    }
    if (rules != 1) { problem("needs exactly one @rule:<id> tag, has " rules); next }
    if (!(rid in level)) { problem("@rule:" rid " is not an ID in features/RULES.md"); next }
    if (lv != level[rid] " ") problem("level tag(s) [" trim(lv) "] but " rid " is " level[rid])
    if (pf != profile[rid] " ") problem("profile tag(s) [" trim(pf) "] but " rid " is in profile " profile[rid])
    next
  }
  line ~ /^(Given|When|Then|And|But) (the setting |the REVOKE_TOKEN feature flag |the featureFlags list )/ { settings = 1 }
  END { flush(); exit bad }
' "$tmp/copy" "${features[@]}" || status=1

sort -u "$tmp/tags" > "$tmp/tags.sorted"
cut -d' ' -f1 "$tmp/copy" | sort -u > "$tmp/ids"
uncovered=$(comm -23 "$tmp/ids" "$tmp/tags.sorted")
if [ -n "$uncovered" ]; then
  echo "rules without any @rule:<id> scenario under features/:"; printf '  %s\n' $uncovered; status=1
fi
unknown=$(comm -13 "$tmp/ids" "$tmp/tags.sorted")
if [ -n "$unknown" ]; then
  echo "@rule: tags naming no ID in $copy:"; printf '  %s\n' $unknown; status=1
fi

if [ "$status" -eq 0 ]; then
  scenarios=$(grep -cE '^[[:space:]]*(Scenario|Scenario Outline):' "${features[@]}" | awk -F: '{ s += $NF } END { print s }')
  if [ -n "$shared_ok" ]; then
    echo "rules copy holds every rule of shared/spec/RULES.md at its level ($n rules in the copy)"
  fi
  echo "every rule has a scenario and every @rule tag is known ($n rules, $scenarios scenarios in ${#features[@]} files)"
fi
exit "$status"
