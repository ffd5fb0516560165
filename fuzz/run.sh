#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 10), one at a time and at
# the lowest priority, starting from the committed seeds. Fails if any target
# finds a crash; crashing inputs are left in fuzz/artifacts/<target>/.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail

cd "$(dirname "$0")"
seconds="${1:-10}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    # Most exposed to hostile input first.
    targets=(subunit subunit_crc record metadata entry_points setup_cfg pyproject manifest
        definition lockfile plan egg_info requirement wheel_file wheel_filename pth pyvenv_cfg)
fi

export RUSTC_BOOTSTRAP=1 CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
# No sanitizer: the code under test is safe Rust, and without ASan the 2-core
# machine runs about twice as many inputs; panics are what we look for.
nice -n 19 cargo fuzz build -s none

# pep508_rs keeps every marker it parses in a global interner, by design;
# tens of millions of distinct fuzzed markers grow it by about 1 GiB a
# minute, past libFuzzer's 2 GiB RSS limit, where a tempest-env process
# parses a few thousand. So `requirement` runs in sessions of at most 60 s,
# each a fresh process on the same corpus; a single input that needs over
# 2 GiB still fails its session.
session_limit() {
    case "$1" in
        requirement) echo 60 ;;
        *) echo "$seconds" ;;
    esac
}

failed=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    cp -n "seeds/$target"/* "corpus/$target/" 2>/dev/null || true
    echo "== $target: ${seconds}s"
    : >"corpus/$target.log"
    left="$seconds"
    while [ "$left" -gt 0 ]; do
        session="$(session_limit "$target")"
        [ "$session" -lt "$left" ] || session="$left"
        if ! nice -n 19 cargo fuzz run -s none "$target" "corpus/$target" -- \
            -max_total_time="$session" -print_final_stats=1 2>>"corpus/$target.log"; then
            failed+=("$target")
            tail -n 30 "corpus/$target.log"
            break
        fi
        left=$((left - session))
    done
    grep -a -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+== ERROR|SUMMARY|panicked)' \
        "corpus/$target.log" || true
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "no crashes in ${#targets[@]} targets"
