#!/usr/bin/env bash
# bisect over 16 fixture plugins with one culprit (state-mutator breaks
# state-victim), with the offline Tempest stand-in as the runner:
#  (a) the whole search, timed by hyperfine;
#  (b) tempest-env's own time per runner run: the search's elapsed time
#      minus the time spent in runner subprocesses, divided by the runs
#      (`probe_overhead_ms` of `bisect --format json`); the target is
#      under 50 ms;
#  (c) the same search done with tox: one `tox -r --notest` environment
#      creation with the same 16 plugin wheels and the stand-in installed,
#      times the number of probes, plus the same runner time.
# Usage: benches/bisect.sh   (writes benches/results/bisect-*.md)
source "$(dirname "$0")/common.sh"
D="$WORK/bisect"
mkdir -p "$D"

# valet and the stand-in come with `--def demo` (as editable trees).
PLUGINS=(alpha bravo filler-1 filler-2 filler-3 dup-opt-a state-mutator filler-4
    filler-5 dup-entrypoint-a filler-6 dup-entrypoint-b dup-client-a dup-opt-b state-victim)
WH="$D/wheels" && rm -rf "$WH" && mkdir -p "$WH"
STANDIN="$("$PY" "$ROOT/fixtures/build_wheel.py" "$ROOT/fixtures/tempest-standin" "$WH")"
ARGS=(--python "$PY" --def demo)
for p in "${PLUGINS[@]}"; do
    ARGS+=(--plugin "$("$PY" "$ROOT/fixtures/build_wheel.py" "$ROOT/fixtures/plugins/$p" "$WH")")
done
"$PY" "$ROOT/fixtures/build_wheel.py" "$ROOT/fixtures/plugins/valet" "$WH" >/dev/null
echo "plugins: $((${#PLUGINS[@]} + 1)) (culprit: state-mutator, target: state-victim)"

# Warm: the store and the interpreter query; check the answer.
"$TE" bisect victim "${ARGS[@]}" --format json >"$D/report.json"
"$PY" - "$D/report.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["culprits"] == ["state-mutator-tempest-plugin"], r["culprits"]
PYEOF

hyperfine --warmup 1 --min-runs 10 -N --export-json "$RESULTS/bisect-search.json" \
    -n "tempest-env bisect victim (16 plugins, 1 culprit)" "$TE bisect -q victim ${ARGS[*]}"
medians "$RESULTS/bisect-search.json" | tee "$RESULTS/bisect-search-medians.md"

# Own time per probe, over several searches.
for i in 1 2 3 4 5; do
    "$TE" bisect victim "${ARGS[@]}" --format json >"$D/report-$i.json"
done

# tox: one environment per probe, with the same wheels installed.
TOXD="$D/tox" && rm -rf "$TOXD" && mkdir -p "$TOXD"
{
    echo "[tox]"
    echo "skipsdist = true"
    echo "[testenv:probe]"
    echo "basepython = $PY"
    echo "deps ="
    for w in "$WH"/*.whl; do echo "    $w"; done
    echo "commands = tempest --version"
} >"$TOXD/tox.ini"
export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1
(cd "$TOXD" && "$TOX" -q -r -e probe --notest >/dev/null)
hyperfine --warmup 1 --min-runs 5 -N --export-json "$RESULTS/bisect-tox.json" \
    -n "tox -r -e probe --notest (17 wheels)" "bash -c 'cd $TOXD && $TOX -q -r -e probe --notest'"
medians "$RESULTS/bisect-tox.json" | tee "$RESULTS/bisect-tox-medians.md"

"$PY" - "$RESULTS" "$D" <<'PYEOF' | tee "$RESULTS/bisect-summary.md"
import glob, json, statistics, sys
results, d = sys.argv[1], sys.argv[2]
reports = [json.load(open(f)) for f in sorted(glob.glob(d + "/report-*.json"))]
search = json.load(open(results + "/bisect-search.json"))["results"][0]["median"] * 1e3
tox = json.load(open(results + "/bisect-tox.json"))["results"][0]["median"] * 1e3
r = reports[0]
probes = r["probes"] + r["target_probes"]
runs = r["runner_runs"]
overhead = statistics.median(x["probe_overhead_ms"] for x in reports)
runner = statistics.median(x["runner_ms"] for x in reports)
print("| figure | value |")
print("|---|---|")
print("| plugins, culprit | %d, %s |" % (len(r["candidates"]) + 1, ", ".join(r["culprits"])))
print("| probes (search + target listing), bound | %d + %d, %d |" % (r["probes"], r["target_probes"], r["bound"]))
print("| whole search (hyperfine median) | %.0f ms |" % search)
print("| runner time in the search (median of 5) | %.0f ms over %d runs |" % (runner, runs))
print("| tempest-env's own time per probe (median of 5) | %.1f ms (target < 50 ms) |" % overhead)
print("| tox -r env creation, one probe | %.0f ms |" % tox)
print("| same search with tox (creation x %d runs + runner) | %.0f ms |" % (runs, tox * runs + runner))
print("| env creation: tox / tempest-env per probe | %.0fx |" % (tox / overhead))
print("| whole search: tox / tempest-env | %.1fx |" % ((tox * runs + runner) / search))
PYEOF
