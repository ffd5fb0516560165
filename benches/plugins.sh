#!/usr/bin/env bash
# `tempest-env plugins` on an environment holding real tempest and 8 real
# plugins from PyPI, against `tempest list-plugins` in the same environment.
# Usage: benches/plugins.sh   (writes benches/results/plugins-*.md)
source "$(dirname "$0")/common.sh"
TEMPEST="tempest==47.0.0"
export UV_CACHE_DIR="$WORK/uv-cache"
PLUGINS=(barbican-tempest-plugin neutron-tempest-plugin designate-tempest-plugin octavia-tempest-plugin
         manila-tempest-plugin cinder-tempest-plugin keystone-tempest-plugin glance-tempest-plugin)
args=()
for p in "${PLUGINS[@]}"; do args+=(--plugin "$p"); done
"$TE" create bench-plugins --clear -q --python "$PY" --base "$TEMPEST" "${args[@]}"
ENV="$("$TE" path bench-plugins)"
echo "plugins visible: $("$TE" plugins bench-plugins --format json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["plugins"]))')"
echo "distributions visible: $("$ENV/bin/python" -c 'import importlib.metadata as m; print(len(list(m.distributions())))')"
WS="$WORK/plugins-ws" && rm -rf "$WS" && mkdir -p "$WS"
hyperfine --warmup 3 --min-runs 20 -N --export-json "$RESULTS/plugins.json" \
    -n "tempest-env plugins" "$TE plugins bench-plugins" \
    -n "tempest list-plugins" "bash -c 'cd $WS && $ENV/bin/tempest list-plugins'"
medians "$RESULTS/plugins.json" | tee "$RESULTS/plugins-medians.md"
