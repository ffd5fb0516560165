#!/usr/bin/env bash
# The overhead of `tempest-env run`: a per-run environment composed from a
# warm tempest base, a trivial custom runner (`true`), the environment
# removed afterwards; against running `true` directly, and against
# `tox -e all-plugin` running the same trivial command in an existing env
# (tempest's tox environment: sitepackages = True).
# Usage: benches/run.sh   (writes benches/results/run-*.md)
source "$(dirname "$0")/common.sh"
D="$WORK/run"
TEMPEST="tempest==47.0.0"
export UV_CACHE_DIR="$WORK/uv-cache"
mkdir -p "$D/tox"
cat > "$D/tox/tox.ini" <<'TOX'
[tox]
envlist = all-plugin
skipsdist = True

[testenv:all-plugin]
sitepackages = True
skip_install = True
allowlist_externals = true
commands = true
TOX
# Warm: the base, and tox's environment.
"$TE" run --python "$PY" --base "$TEMPEST" --runner true >/dev/null 2>&1
(cd "$D/tox" && "$TOX" -q -e all-plugin >/dev/null 2>&1)

hyperfine --warmup 5 --min-runs 30 -N --export-json "$RESULTS/run.json" \
    -n "true (the runner alone)" "true" \
    -n "tempest-env run --base $TEMPEST --runner true" "$TE run -q --python $PY --base $TEMPEST --runner true" \
    -n "tox -e all-plugin (existing env, commands = true)" "bash -c 'cd $D/tox && $TOX -q -e all-plugin'"
medians "$RESULTS/run.json" | tee "$RESULTS/run-medians.md"
