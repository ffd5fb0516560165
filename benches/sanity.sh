#!/usr/bin/env bash
# `sanity` over 15 real plugins from PyPI on tempest 47.0.0, against
# tempest's own plugin-sanity approach (tools/tempest-plugin-sanity.sh: one
# venv with tempest; per plugin: pip install it, `tempest init`, `tempest
# list-plugins`, `tempest run -l`, remove the workspace, pip uninstall it).
# Both with warm caches (pip's, uv's and tempest-env's store and base), one
# timed run each: the reference takes minutes.
# Usage: benches/sanity.sh   (writes benches/results/sanity-*.md)
source "$(dirname "$0")/common.sh"
D="$WORK/sanity"
mkdir -p "$D"
TEMPEST="tempest==47.0.0"
PLUGINS=(barbican-tempest-plugin cinder-tempest-plugin designate-tempest-plugin
    glance-tempest-plugin heat-tempest-plugin ironic-tempest-plugin
    keystone-tempest-plugin magnum-tempest-plugin manila-tempest-plugin
    neutron-tempest-plugin octavia-tempest-plugin telemetry-tempest-plugin
    watcher-tempest-plugin zaqar-tempest-plugin blazar-tempest-plugin)
echo "plugins: ${#PLUGINS[@]}"

ARGS=(--python "$PY" --base "$TEMPEST")
for p in "${PLUGINS[@]}"; do ARGS+=(--plugin "$p"); done

# tempest-env: warm the base, the plugin layers and the interpreter query.
"$TE" sanity "${ARGS[@]}" --format json >"$D/sanity.json" || true

# The reference: one venv, plugins installed and removed one at a time.
REF="$D/reference.sh"
cat >"$REF" <<REFEOF
set -e
cd "$D"
rm -rf venv
"$PY" -m venv venv
venv/bin/pip install -q --disable-pip-version-check "$TEMPEST"
for p in ${PLUGINS[*]}; do
    venv/bin/pip install -q --disable-pip-version-check "\$p"
    rm -rf ws && venv/bin/tempest init ws >/dev/null
    (cd ws && ../venv/bin/tempest list-plugins >/dev/null && ../venv/bin/tempest run -l >"../ref-\$p.txt")
    venv/bin/tempest workspace remove --name ws --rmdir >/dev/null
    venv/bin/pip uninstall -q -y "\$p"
done
REFEOF
# pip's cache is the benchmark's own; warm it once, untimed. HOME is a
# scratch one: `tempest init` registers workspaces under ~/.tempest.
export PIP_CACHE_DIR="$WORK/pip-cache"
HOME="$D/home" bash "$REF" >/dev/null 2>&1 || true

hyperfine --runs 1 -N --export-json "$RESULTS/sanity.json" \
    -n "tempest-env sanity (15 plugins)" "$TE sanity -q ${ARGS[*]}" \
    -n "tempest-plugin-sanity approach (one venv, pip per plugin)" "env HOME=$D/home bash $REF"
medians "$RESULTS/sanity.json" | tee "$RESULTS/sanity-medians.md"

# The answers agree: each plugin's listing count against tempest's own.
"$PY" - "$D" "${PLUGINS[@]}" <<'PYEOF' | tee "$RESULTS/sanity-counts.md"
import json, re, sys
d, plugins = sys.argv[1], sys.argv[2:]
report = json.load(open(d + "/sanity.json"))
rows = {r["plugin"].replace("-", "_").lower(): r for r in report["rows"]}
# pip uninstall leaves what a plugin pulled in: after manila, the reference
# venv keeps barbican-tempest-plugin, so its later listings hold barbican's
# tests too; the last column takes them out.
barbican = set()
print("| plugin | verdict | tests alone (tempest-env) | tests (tempest run -l, one venv) |")
print("|---|---|---|---|")
for p in plugins:
    ids = [l.strip() for l in open("%s/ref-%s.txt" % (d, p))
           if re.match(r"^[a-z_]\w*\.\S+$", l.strip()) and not l.startswith("tempest.")]
    if p == "barbican-tempest-plugin":
        barbican = set(ids)
    elif p not in ("manila-tempest-plugin",):
        ids = [i for i in ids if i not in barbican]
    row = rows.get(p.replace("-", "_").lower(), {})
    print("| %s | %s | %s | %d |" % (p, row.get("verdict", "?"),
                                     row.get("alone", {}).get("tests", "?"), len(ids)))
print()
print("probes: %s, elapsed: %.1f s" % (report["probes"], report["elapsed_ms"] / 1000))
PYEOF
