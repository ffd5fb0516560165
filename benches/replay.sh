#!/usr/bin/env bash
# What reproducing elsewhere costs, with real tempest 47.0.0 and two real
# plugins from PyPI:
#  - `run`'s overhead now that each recorded run locks its environment
#    (a trivial runner, `true`, in a per-run environment on a warm tempest
#    base), and, when TE_BASELINE names another tempest-env binary (one
#    without the lock), the same run with it;
#  - `lock ENV` and `lock --run last` of that environment and run;
#  - `sanity` over the two plugins locally, against writing its plan, one
#    probe (in a warm home, and the first probe in a fresh home, whose base
#    is rebuilt from the lock through uv's warm cache), and collecting.
# Usage: [TE_BASELINE=/path/to/tempest-env] benches/replay.sh
#        (writes benches/results/replay-*.md)
source "$(dirname "$0")/common.sh"
D="$WORK/replay"
rm -rf "$D" && mkdir -p "$D"
export UV_CACHE_DIR="$WORK/uv-cache"
TEMPEST="tempest==47.0.0"
SET=(--python "$PY" --base "$TEMPEST" --plugin barbican-tempest-plugin --plugin designate-tempest-plugin)

# Warm: the base, the plugin layers, the interpreter query.
"$TE" run -q --python "$PY" --base "$TEMPEST" --runner true >/dev/null 2>&1
"$TE" create -q bench-lock --clear --python "$PY" --base "$TEMPEST" >/dev/null 2>&1
"$TE" sanity "${SET[@]}" >/dev/null 2>&1 || true

RUNS=(-n "true (the runner alone)" "true"
    -n "tempest-env run --base $TEMPEST --runner true (locks its environment)" "$TE run -q --python $PY --base $TEMPEST --runner true")
if [ -n "${TE_BASELINE:-}" ]; then
    RUNS+=(-n "the same run, baseline binary (no lock)" "$TE_BASELINE run -q --python $PY --base $TEMPEST --runner true")
fi
hyperfine --warmup 5 --min-runs 60 -N --export-json "$RESULTS/replay-run.json" "${RUNS[@]}"
medians "$RESULTS/replay-run.json" | tee "$RESULTS/replay-run-medians.md"

# What a lock costs beyond starting tempest-env and opening the environment
# (`path`): about what a recorded run now adds.
"$TE" run -q --python "$PY" --base "$TEMPEST" --runner true >/dev/null 2>&1
hyperfine --warmup 3 --min-runs 60 -N --export-json "$RESULTS/replay-lock.json" \
    -n "tempest-env path (start, open the environment)" "$TE path bench-lock" \
    -n "tempest-env lock (an environment on a tempest base)" "$TE lock bench-lock -o $D/env.lock" \
    -n "tempest-env lock --run last" "$TE lock --run last -o $D/run.lock"
medians "$RESULTS/replay-lock.json" | tee "$RESULTS/replay-lock-medians.md"

cd "$D"
hyperfine --warmup 1 --runs 5 -N -i --export-json "$RESULTS/replay-plan.json" \
    -n "sanity, 2 real plugins, local (4 probes)" "$TE sanity ${SET[*]}" \
    -n "sanity --plan (4 locks, nothing run)" "$TE sanity ${SET[*]} --plan $D/plan.json" \
    -n "probe --index 3 (together), warm home" "$TE probe $D/plan.json --index 3 --out $D/results/probe-3.json"
medians "$RESULTS/replay-plan.json" | tee "$RESULTS/replay-plan-medians.md"

# The first probe on a machine: a fresh home, so the base and plugin
# layers are rebuilt from the lock (uv's cache is warm, as a CI cache is).
start=$(date +%s.%N)
TEMPEST_ENV_HOME="$D/fresh-home" "$TE" probe "$D/plan.json" --index 3 --out "$D/results/probe-3.json" 2>/dev/null
end=$(date +%s.%N)
for i in 0 1 2; do "$TE" probe "$D/plan.json" --index "$i" --out "$D/results/probe-$i.json" 2>/dev/null; done
hyperfine --warmup 1 --runs 10 -N -i --export-json "$RESULTS/replay-collect.json" \
    -n "sanity --collect (4 results)" "$TE sanity --collect $D/results --plan $D/plan.json"
medians "$RESULTS/replay-collect.json" | tee "$RESULTS/replay-collect-medians.md"
printf '| probe --index 3 (together), fresh home, first run | %.1f s |\n' "$(echo "$end - $start" | bc)" \
    | tee "$RESULTS/replay-fresh.md"
