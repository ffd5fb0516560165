#!/usr/bin/env bash
# The overhead of `tempest-env run`: a per-run environment composed from a
# warm tempest base, a trivial custom runner (`true`), the environment
# removed afterwards; against running `true` directly, and against
# `tox -e all-plugin` running the same trivial command in an existing env:
#  - in tempest's own source tree with its own tox.ini (usedevelop, deps
#    under constraints, sitepackages = True), the commands overridden with
#    `-x` to `true`: what `tox -eall-plugin valet` did, minus the tests;
#  - with a minimal tox.ini (sitepackages = True, skip_install, no deps):
#    the least tox can do, a stricter baseline.
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
# tempest's source tree, with its upper constraints resolved locally (its
# tox.ini reads them from releases.openstack.org unless told otherwise).
SRC="$D/tempest-47.0.0"
if [ ! -f "$SRC/tox.ini" ]; then
    "$PY" -m pip download -q --disable-pip-version-check --no-binary :all: --no-deps "$TEMPEST" -d "$D"
    tar -xzf "$D/tempest-47.0.0.tar.gz" -C "$D"
fi
export UPPER_CONSTRAINTS_FILE="$D/upper-constraints.txt"
[ -s "$UPPER_CONSTRAINTS_FILE" ] || "$UV" pip compile -q -p "$PY" "$SRC/requirements.txt" -o "$UPPER_CONSTRAINTS_FILE"
TOX_TRUE=(-e all-plugin -x "testenv:all-plugin.commands=true" -x "testenv:all-plugin.allowlist_externals=true")

# Warm: the base, and both tox environments.
"$TE" run --python "$PY" --base "$TEMPEST" --runner true >/dev/null 2>&1
(cd "$D/tox" && "$TOX" -q -e all-plugin >/dev/null 2>&1)
(cd "$SRC" && "$TOX" -q "${TOX_TRUE[@]}" >/dev/null 2>&1)

hyperfine --warmup 5 --min-runs 30 -N --export-json "$RESULTS/run.json" \
    -n "true (the runner alone)" "true" \
    -n "tempest-env run --base $TEMPEST --runner true" "$TE run -q --python $PY --base $TEMPEST --runner true" \
    -n "tox -e all-plugin (tempest's tox.ini, existing env, commands = true)" "bash -c 'cd $SRC && $TOX -q ${TOX_TRUE[*]}'" \
    -n "tox -e all-plugin (minimal tox.ini, existing env, commands = true)" "bash -c 'cd $D/tox && $TOX -q -e all-plugin'"
medians "$RESULTS/run.json" | tee "$RESULTS/run-medians.md"
