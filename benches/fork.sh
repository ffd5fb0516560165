#!/usr/bin/env bash
# Probes served by the fork server, against tempest itself in plain venvs,
# side by side in one run, with real tempest 47 and real PyPI plugins:
#  (a) `bisect --probe list` of the 7-plugin set of bisect-real.sh (b)
#      against one `tempest run --list-tests` of that set;
#  (b) `sanity` of the 15 plugins of sanity.sh against one listing of them;
#  (c) `plugins --check` of 40 plugins (the 33 current ones of the end-to-end
#      suite and 7 older ones) against one `tempest list-plugins` plus one
#      listing of the 33 current ones (the older ones make tempest stop
#      early, which would flatter nobody), and the check's peak memory.
# Each ratio is printed; --no-fork-server figures are given for scale. The
# bisect runs of (a) are interleaved with the listings (common.sh).
# Bytecode caches are written on both sides, as users have them.
# Usage: benches/fork.sh [a] [b] [c]   (all three by default; writes
# benches/results/fork-*.md, and the summary of the parts run)
source "$(dirname "$0")/common.sh"
unset PYTHONDONTWRITEBYTECODE
D="$WORK/fork"
mkdir -p "$D"
TEMPEST="tempest==47.0.0"
SEVEN=(barbican-tempest-plugin cinder-tempest-plugin glance-tempest-plugin
    vmware-nsx-tempest-plugin==1.0.0 designate-tempest-plugin keystone-tempest-plugin
    octavia-tempest-plugin)
FIFTEEN=(barbican-tempest-plugin cinder-tempest-plugin designate-tempest-plugin
    glance-tempest-plugin heat-tempest-plugin ironic-tempest-plugin
    keystone-tempest-plugin magnum-tempest-plugin manila-tempest-plugin
    neutron-tempest-plugin octavia-tempest-plugin telemetry-tempest-plugin
    watcher-tempest-plugin zaqar-tempest-plugin blazar-tempest-plugin)
CURRENT=(barbican-tempest-plugin blazar-tempest-plugin cinder-tempest-plugin
    cloudkitty-tempest-plugin cyborg-tempest-plugin designate-tempest-plugin
    ec2api-tempest-plugin freezer-tempest-plugin glance-tempest-plugin
    heat-tempest-plugin ironic-tempest-plugin keystone-tempest-plugin
    kuryr-tempest-plugin magnum-tempest-plugin manila-tempest-plugin
    mistral-tempest-tests monasca-tempest-plugin murano-tempest-plugin
    neutron-tempest-plugin octavia-tempest-plugin oswin-tempest-plugin patrole
    sahara-tests senlin-tempest-plugin solum-tempest-plugin
    telemetry-tempest-plugin trove-tempest-plugin venus-tempest-plugin
    vitrage-tempest-plugin watcher-tempest-plugin whitebox-tempest-plugin
    zaqar-tempest-plugin zun-tempest-plugin)
OLDER=(gabbi-tempest novajoin-tempest-plugin tempest-nfv-plugin
    stacktask-tempest-plugin tempest-horizon networking-l2gw-tempest-plugin
    networking-generic-switch-tempest-plugin)
# patrole imports pkg_resources and monasca pytz without declaring them.
EXTRA=("setuptools<81" pytz)

plugin_args() { for p in "$@"; do printf -- '--plugin\n%s\n' "$p"; done; }
mapfile -t SEVEN_ARGS < <(plugin_args "${SEVEN[@]}")
mapfile -t FIFTEEN_ARGS < <(plugin_args "${FIFTEEN[@]}")
BISECT=(bisect barbican --target-plugin barbican-tempest-plugin --probe list -j 2
    --python "$PY" --base "$TEMPEST" "${SEVEN_ARGS[@]}")
SANITY=(sanity -j 2 --python "$PY" --base "$TEMPEST" "${FIFTEEN_ARGS[@]}")

# A plain venv holding tempest and PACKAGES, with a workspace.
venv() {
    local name="$1"; shift
    if [ ! -x "$D/$name/bin/tempest" ]; then
        "$UV" venv -q --python "$PY" "$D/$name"
        "$UV" pip install -q --python "$D/$name/bin/python" "$TEMPEST" "$@"
    fi
    # The forty's broken plugins make `tempest init` fail: it needs none.
    rm -rf "$D/$name-ws"
    HOME="$D/home" "$D/$name/bin/tempest" init "$D/$name-ws" >/dev/null 2>&1 || true
}
PARTS=" ${*:-a b c} "
part() { [[ "$PARTS" == *" $1 "* ]]; }
listing() { echo "bash -c 'cd $D/$1-ws && HOME=$D/home $D/$1/bin/tempest run --list-tests >/dev/null 2>&1; true'"; }

# Each part's venvs, then its layers, bytecode and venv caches warmed, untimed.
if part a; then
    venv seven "${SEVEN[@]}"
    "$TE" "${BISECT[@]}" -q >/dev/null 2>&1 || true
    eval "$(listing seven)"
fi
if part b; then
    venv fifteen "${FIFTEEN[@]}"
    "$TE" "${SANITY[@]}" -q >/dev/null 2>&1 || true
    eval "$(listing fifteen)"
fi
if part c; then
    venv current "${EXTRA[@]}" "${CURRENT[@]}"
    venv forty "${EXTRA[@]}" "${CURRENT[@]}" "${OLDER[@]}"
    eval "$(listing current)"
    "$TE" plugins --python "$D/forty/bin/python" --check >/dev/null 2>&1 || true
fi

part a && interleaved 5 "$RESULTS/fork-bisect.json" -i -N \
    -n "tempest run --list-tests, plain venv, the 7-plugin set" "$(listing seven)" \
    -n "tempest-env bisect --probe list (7 plugins)" "$TE ${BISECT[*]} -q" \
    -n "tempest-env bisect --probe list --no-fork-server" "$TE ${BISECT[*]} -q --no-fork-server"
part a && { medians "$RESULTS/fork-bisect.json" | tee "$RESULTS/fork-bisect-medians.md" || true; }

part b && hyperfine --runs 1 -i -N --export-json "$RESULTS/fork-sanity.json" \
    -n "tempest run --list-tests, plain venv, the 15 plugins" "$(listing fifteen)" \
    -n "tempest-env sanity (15 plugins)" "$TE ${SANITY[*]} -q" \
    -n "tempest-env sanity --no-fork-server" "$TE ${SANITY[*]} -q --no-fork-server"
part b && { medians "$RESULTS/fork-sanity.json" | tee "$RESULTS/fork-sanity-medians.md" || true; }

part c && hyperfine --runs 1 -i -N --export-json "$RESULTS/fork-check.json" \
    -n "tempest list-plugins + tempest run --list-tests, plain venv, the 33 current plugins" \
    "bash -c 'cd $D/current-ws && HOME=$D/home $D/current/bin/tempest list-plugins >/dev/null 2>&1; HOME=$D/home $D/current/bin/tempest run --list-tests >/dev/null 2>&1; true'" \
    -n "tempest-env plugins --check (40 plugins)" "$TE plugins --python $D/forty/bin/python --check -q" \
    -n "tempest-env plugins --check (40 plugins) --no-fork-server" "$TE plugins --python $D/forty/bin/python --check -q --no-fork-server"
part c && { medians "$RESULTS/fork-check.json" | tee "$RESULTS/fork-check-medians.md" || true; }

# The ratios, and the 40-plugin check's peak memory (said with -v).
: >"$D/check.err"
if part c; then
    "$TE" plugins --python "$D/forty/bin/python" --check -v 2>"$D/check.err" >/dev/null || true
fi
"$PY" - "$RESULTS" "$D/check.err" "$PARTS" <<'PYEOF' | tee "$RESULTS/fork-summary.md"
import json, re, sys
results, err, parts = sys.argv[1], sys.argv[2], sys.argv[3].split()
def times(name):
    return [r.get("median") or r["mean"] for r in json.load(open("%s/%s.json" % (results, name)))["results"]]
rows = [("a", "fork-bisect", "bisect --probe list, 7 plugins / one listing", "1.5"),
        ("b", "fork-sanity", "sanity, 15 plugins / one listing", "3"),
        ("c", "fork-check", "plugins --check, 40 plugins / (list-plugins + one listing)", "3")]
print("| measure | tempest-env | reference | ratio | goal |")
print("|---|---|---|---|---|")
for part, name, what, goal in rows:
    if part not in parts:
        continue
    t = times(name)
    print("| %s | %.1f s | %.1f s | %.2f | %s |" % (what, t[1], t[0], t[1] / t[0], goal))
    print("| (--no-fork-server) | %.1f s | | %.2f | |" % (t[2], t[2] / t[0]))
line = next((l for l in open(err) if l.startswith("fork server: ")), "")
if line:
    print()
    print("40-plugin check: " + line.strip())
PYEOF
