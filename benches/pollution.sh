#!/usr/bin/env bash
# pollution with real tempest 47 against stestr's own `run --analyze-isolation`
# on the same cases: the leaky and victims fixture wheels, a serial run of
# leaky's 14 tests and one victim, recorded once per tool:
#  (a) one polluter: test_region_is_the_configured_one fails after
#      test_a14_overrides_a_config_value (tempest's CONF left overridden);
#  (b) a pair: test_needs_one_of_the_pair_unset fails only after both
#      test_a10_… and test_a12_….
# stestr analyses its workspace's last run in a plain venv (uv, tempest
# init); tempest-env replays its own recorded run. For each: wall time
# (hyperfine; stestr's last run is recorded again before each of its
# runs), probes (runner runs after the recorded one) and what it names.
# Usage: benches/pollution.sh   (writes benches/results/pollution-*.md)
source "$(dirname "$0")/common.sh"
D="$WORK/pollution"
mkdir -p "$D"
TEMPEST="tempest==47.0.0"
RUNS="${RUNS:-3}"
for fixture in leaky victims; do
    "$PY" "$ROOT/fixtures/build_wheel.py" "$ROOT/fixtures/plugins/$fixture" "$D/wheels" >/dev/null
done
LEAKY="$(ls "$D"/wheels/leaky_tempest_plugin-*.whl)"
VICTIMS="$(ls "$D"/wheels/victims_tempest_plugin-*.whl)"

if [ ! -x "$D/venv/bin/stestr" ]; then
    "$UV" venv -q --python "$PY" "$D/venv"
    "$UV" pip install -q --python "$D/venv/bin/python" "$TEMPEST" "$LEAKY" "$VICTIMS"
fi
rm -rf "$D/ws" && HOME="$D/home" "$D/venv/bin/tempest" init "$D/ws" >/dev/null

declare -A VICTIM=(
    [one]=victims_tempest_plugin.tests.test_victims.VictimTest.test_region_is_the_configured_one
    [pair]=victims_tempest_plugin.tests.test_victims.VictimTest.test_needs_one_of_the_pair_unset
)
# stestr: record the serial run again, then analyse it (serially: with
# several workers its probes would split the polluter from the victim).
for case in one pair; do
    regex="leaky_tempest_plugin|${VICTIM[$case]}"
    cat >"$D/stestr-$case.sh" <<EOF
#!/usr/bin/env bash
cd "$D/ws"
HOME="$D/home" "$D/venv/bin/tempest" run --serial --regex '$regex' >/dev/null 2>&1 || true
EOF
    cat >"$D/analyze-$case.sh" <<EOF
#!/usr/bin/env bash
cd "$D/ws"
before=\$(cat .stestr/next-stream)
HOME="$D/home" "$D/venv/bin/stestr" run --serial --analyze-isolation >"$D/analyze-$case.out" 2>&1 || true
echo \$(( \$(cat .stestr/next-stream) - before )) >"$D/analyze-$case.probes"
EOF
    chmod +x "$D/stestr-$case.sh" "$D/analyze-$case.sh"
    # tempest-env: one recorded run per case (warming the base and layers).
    "$TE" run --python "$PY" --base "$TEMPEST" --plugin "$LEAKY" --plugin "$VICTIMS" \
        "$regex" --format json -- --serial >"$D/run-$case.json" 2>/dev/null || true
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"]["id"])' \
        "$D/run-$case.json" >"$D/run-$case.id"
    "$TE" pollution "${VICTIM[$case]}" --run "$(cat "$D/run-$case.id")" -j 2 --format json \
        >"$D/pollution-$case.json" || true
done

# One prepare per command, in order: stestr's last run is recorded again.
hyperfine --runs "$RUNS" -i -N --export-json "$RESULTS/pollution.json" \
    --prepare "$D/stestr-one.sh" --prepare true --prepare "$D/stestr-pair.sh" --prepare true \
    -n "stestr run --serial --analyze-isolation (one polluter)" "$D/analyze-one.sh" \
    -n "tempest-env pollution -j 2 (one polluter)" \
    "$TE pollution ${VICTIM[one]} --run $(cat "$D/run-one.id") -j 2 -q" \
    -n "stestr run --serial --analyze-isolation (pair)" "$D/analyze-pair.sh" \
    -n "tempest-env pollution -j 2 (pair)" \
    "$TE pollution ${VICTIM[pair]} --run $(cat "$D/run-pair.id") -j 2 -q"
medians "$RESULTS/pollution.json" | tee "$RESULTS/pollution-medians.md"

"$PY" - "$D" <<'PYEOF' | tee "$RESULTS/pollution-summary.md"
import json, re, sys
d = sys.argv[1]
print("| case | tool | probes | names |")
print("|---|---|---|---|")
for case in ("one", "pair"):
    out = open("%s/analyze-%s.out" % (d, case)).read()
    named = sorted(set(re.findall(r"leaky_tempest_plugin\S*\.(test_a\d+\w*)", out)))
    if "unknown - no conflicts" in out:
        named.append("unknown - no conflicts")
    probes = open("%s/analyze-%s.probes" % (d, case)).read().strip()
    print("| %s | stestr --analyze-isolation | %s | %s |" % (case, probes, ", ".join(named) or "nothing"))
    r = json.load(open("%s/pollution-%s.json" % (d, case)))
    names = ", ".join(p.rsplit(".", 1)[1] for p in r["polluters"]) or r["finding"]
    print("| %s | tempest-env pollution | %s (bound %s + confirmations) | %s (%s) |" % (
        case, r["probes"], r["bound"], names, ", ".join(sorted(set(r["plugins"])))))
PYEOF
