#!/usr/bin/env bash
# The native ego pose decoder (egoexo_sql/_posecols.c) under AddressSanitizer and
# UndefinedBehaviorSanitizer.
#
#   bash tools/sanitize.sh [FUZZ_SECONDS]     (default 60)
#
# Builds the extension with -fsanitize=address,undefined into a scratch copy of the
# package (the checkout's own build is left alone), then runs, in that copy, the native
# decoder's tests (hypothesis cases and the byte-mutation corpus included) and the fuzz
# target with a time budget, with the ASan runtime preloaded into Python and leak
# checking off (CPython's own allocations are not ours). Any ASan or UBSan report aborts
# the run: exit non-zero. Needs a C compiler with the sanitizer runtimes (gcc or clang);
# without one it says so and exits 0, so CI runs it wherever it can.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS="${1:-60}"
PYTHON="${PYTHON:-python3}"
# absolute: the tests run inside the scratch copy
if [[ "$PYTHON" == */* ]]; then PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")"; fi
CC_CMD="${CC:-$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_config_var("CC") or "cc")')}"
CC_BIN="${CC_CMD%% *}"
if ! command -v "$CC_BIN" >/dev/null 2>&1; then
  echo "sanitize: no C compiler ($CC_BIN); skipped"
  exit 0
fi
ASAN_LIB="$($CC_CMD -print-file-name=libasan.so)"
if [ ! -e "$ASAN_LIB" ]; then
  echo "sanitize: $CC_BIN has no AddressSanitizer runtime (libasan.so); skipped"
  exit 0
fi
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/egoexo-sanitize.XXXXXX")"
trap 'rm -rf "$SCRATCH"' EXIT
# a copy of what the tests need; the sanitized module goes inside it
cp -r egoexo_sql schemas queries tests pyproject.toml "$SCRATCH/"
rm -f "$SCRATCH"/egoexo_sql/_posecols*.so
EXT="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX") or ".so")')"
INCLUDE="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
DIGEST="$("$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' egoexo_sql/_posecols.c)"
$CC_CMD -O1 -g -fPIC -shared -fno-strict-aliasing -fno-omit-frame-pointer \
  -fsanitize=address,undefined -fno-sanitize-recover=undefined \
  -DPOSECOLS_SOURCE_SHA256="\"$DIGEST\"" -I "$INCLUDE" \
  "$SCRATCH/egoexo_sql/_posecols.c" -o "$SCRATCH/egoexo_sql/_posecols$EXT"
echo "sanitize: built $SCRATCH/egoexo_sql/_posecols$EXT with -fsanitize=address,undefined"
export LD_PRELOAD="$ASAN_LIB"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export PYTHONPATH="$SCRATCH"
export PYTHONDONTWRITEBYTECODE=1
export EGOEXO_SQL_FUZZ_SECONDS="$FUZZ_SECONDS"
cd "$SCRATCH"
# the sanitized module is the one in use (not the checkout's, not msgspec)
"$PYTHON" - <<'PY'
import egoexo_sql, egoexo_sql.tables.ego_pose as e
m = e._load_native()
assert m is not None and m.__file__.startswith(egoexo_sql.__path__[0]), (m, egoexo_sql.__path__)
print(f"sanitize: using {m.__file__}")
PY
"$PYTHON" -m pytest -q -p no:cacheprovider -o addopts="" tests/test_ego_pose_native.py
echo "sanitize: no AddressSanitizer or UndefinedBehaviorSanitizer finding"
