#!/usr/bin/env bash
# libcortex.so exports exactly the functions and data that the public
# headers (lib/include/cortex/*.h) declare with CX_API: no private helper
# leaks into the ABI, and no public declaration lacks its definition.
#   e2e_exports.sh BUILD_DIR SOURCE_DIR
set -u
lib=$1/libcortex.so
src=$2
[ -f "$lib" ] || { echo "FAIL: no $lib"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Declared: the name before the first '(' (functions) or '[' / ';' (data)
# of every declaration that starts with CX_API, joined across lines.
/usr/bin/python3 - "$src"/lib/include/cortex/*.h > "$tmp/declared" <<'PY'
import re, sys
names = set()
for path in sys.argv[1:]:
    text = open(path).read()
    for m in re.finditer(r'^CX_API\b([^;]*);', text, re.M):
        decl = re.sub(r'\s+', ' ', m.group(1))
        head = decl.split('(')[0] if '(' in decl else decl.split('[')[0]
        names.add(re.findall(r'\w+', head)[-1])
print('\n'.join(sorted(names)))
PY
# ASan adds an __odr_asan.NAME marker beside each exported global.
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRV]$/ && $3 !~ /^__odr_asan/ {print $3}' | sort -u > "$tmp/exported"
# Also: no header declares a cx_ function without CX_API.
missing_api=$(grep -hE '^[A-Za-z_][A-Za-z0-9_ *]*\bcx_[a-z0-9_]+\(' "$src"/lib/include/cortex/*.h | grep -v '^CX_API' || true)
fail=0
extra=$(comm -13 "$tmp/declared" "$tmp/exported")
absent=$(comm -23 "$tmp/declared" "$tmp/exported")
if [ -n "$extra" ]; then echo "FAIL: exported but not declared CX_API in a public header:"; echo "$extra"; fail=1; fi
if [ -n "$absent" ]; then echo "FAIL: declared CX_API but not exported:"; echo "$absent"; fail=1; fi
if [ -n "$missing_api" ]; then echo "FAIL: public declarations without CX_API:"; echo "$missing_api"; fail=1; fi
echo "$(wc -l < "$tmp/declared") public symbols, $(wc -l < "$tmp/exported") exported"
[ "$fail" = 0 ] && echo "ok: libcortex.so exports exactly the public API"
exit $fail
