#!/usr/bin/env bash
# bisect with real tempest 47 and real plugins from PyPI:
#  (a) --probe run: the state-mutator fixture (its import sets a process-wide
#      socket timeout) among 4 current PyPI plugins and 2 other fixtures,
#      target the state-victim fixture's test: 8 plugins, 7 candidates;
#  (b) --probe list: vmware-nsx-tempest-plugin 1.0.0 (an old release whose
#      options clash with tempest 47, so discovery fails for everybody)
#      among 5 current plugins, target barbican's tests: 7 plugins.
# Each search's wall time (hyperfine) and probes, and, for scale, one
# `tempest run --list-tests` of the (b) set in a plain venv.
# Usage: benches/bisect-real.sh   (writes benches/results/bisect-real-*.md)
source "$(dirname "$0")/common.sh"
D="$WORK/bisect-real"
mkdir -p "$D"
TEMPEST="tempest==47.0.0"
FX="$ROOT/fixtures/plugins"
RUN_SET=(--plugin "$FX/state-victim" --plugin "$FX/alpha" --plugin barbican-tempest-plugin
    --plugin cinder-tempest-plugin --plugin "$FX/state-mutator" --plugin glance-tempest-plugin
    --plugin designate-tempest-plugin)
LIST_SET=(--plugin barbican-tempest-plugin --plugin cinder-tempest-plugin
    --plugin glance-tempest-plugin --plugin vmware-nsx-tempest-plugin==1.0.0
    --plugin designate-tempest-plugin --plugin keystone-tempest-plugin
    --plugin octavia-tempest-plugin)
RUN_ARGS=(bisect state_victim --target-plugin state-victim -j 2 --python "$PY" --base "$TEMPEST" "${RUN_SET[@]}")
LIST_ARGS=(bisect barbican --target-plugin barbican-tempest-plugin --probe list -j 2 --python "$PY" --base "$TEMPEST" "${LIST_SET[@]}")

# Warm the base and plugin layers; record each search's report.
"$TE" "${RUN_ARGS[@]}" --format json >"$D/run.json" || true
"$TE" "${LIST_ARGS[@]}" --format json >"$D/list.json" || true

# The plain venv with the (b) set, for one tempest listing.
if [ ! -x "$D/venv/bin/tempest" ]; then
    "$UV" venv -q --python "$PY" "$D/venv"
    "$UV" pip install -q --python "$D/venv/bin/python" "$TEMPEST" barbican-tempest-plugin \
        cinder-tempest-plugin glance-tempest-plugin vmware-nsx-tempest-plugin==1.0.0 \
        designate-tempest-plugin keystone-tempest-plugin octavia-tempest-plugin
fi
rm -rf "$D/ws" && HOME="$D/home" "$D/venv/bin/tempest" init "$D/ws" >/dev/null

hyperfine --runs 3 -i -N --export-json "$RESULTS/bisect-real.json" \
    -n "tempest-env bisect --probe run (8 plugins)" "$TE ${RUN_ARGS[*]} -q" \
    -n "tempest-env bisect --probe list (7 plugins)" "$TE ${LIST_ARGS[*]} -q" \
    -n "tempest run --list-tests, plain venv, the 7-plugin set" \
    "bash -c 'cd $D/ws && HOME=$D/home $D/venv/bin/tempest run --list-tests >/dev/null 2>&1; true'"
medians "$RESULTS/bisect-real.json" | tee "$RESULTS/bisect-real-medians.md"

"$PY" - "$D" <<'PYEOF' | tee "$RESULTS/bisect-real-summary.md"
import json, sys
d = sys.argv[1]
print("| search | culprits | probes (search + target), bound | own time per probe |")
print("|---|---|---|---|")
for name in ("run", "list"):
    r = json.load(open("%s/%s.json" % (d, name)))
    print("| --probe %s | %s | %s + %s, %s | %.1f ms |" % (
        name, ", ".join(r.get("culprits", [])), r.get("probes"), r.get("target_probes"),
        r.get("bound"), r.get("probe_overhead_ms", float("nan"))))
PYEOF
