#!/usr/bin/env bash
# Composing environments from layers:
#  (a) a second environment with a warm tempest base, against `uv venv` +
#      `uv pip install --offline tempest` with uv's cache warm;
#  (b) an --all-plugin environment, against `python -m venv
#      --system-site-packages`;
#  (c) a view of the system set with 7 of its 8 plugins (one excluded).
# The system set for (b) and (c) is an interpreter made for the benchmark:
# a copy of the real executable beside links to the real standard library,
# with real tempest and 8 fixture plugins in its own site-packages.
# Usage: benches/layers.sh   (writes benches/results/layers-*.md)
source "$(dirname "$0")/common.sh"
D="$WORK/layers"
TEMPEST="tempest==47.0.0"
export UV_CACHE_DIR="$WORK/uv-cache"
mkdir -p "$D"

# The system interpreter.
SYS="$D/syspy"
VER="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ ! -x "$SYS/bin/python$VER" ]; then
    rm -rf "$SYS"
    STDLIB="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"
    PREFIX="$("$PY" -c 'import sys; print(sys.base_prefix)')"
    mkdir -p "$SYS/bin" "$SYS/lib/python$VER/site-packages"
    for e in "$STDLIB"/*; do
        [ "$(basename "$e")" = site-packages ] || ln -s "$e" "$SYS/lib/python$VER/$(basename "$e")"
    done
    for e in "$PREFIX"/lib/libpython*; do [ -e "$e" ] && ln -s "$e" "$SYS/lib/"; done
    cp "$PY" "$SYS/bin/python$VER"
    WH="$D/wheels" && rm -rf "$WH" && mkdir -p "$WH"
    for p in valet alpha bravo dup-opt-a dup-client-a dup-entrypoint-a state-mutator state-victim; do
        "$PY" "$ROOT/fixtures/build_wheel.py" "$ROOT/fixtures/plugins/$p" "$WH" >/dev/null
    done
    "$UV" pip install -q --python "$SYS/bin/python$VER" --target "$SYS/lib/python$VER/site-packages" "$TEMPEST" "$WH"/*.whl
fi
SYSPY="$SYS/bin/python$VER"
echo "system set: $(ls "$SYS/lib/python$VER/site-packages" | wc -l) entries"

# Warm: the base, uv's cache, every interpreter query.
"$TE" create warm --clear --python "$PY" --base "$TEMPEST" >/dev/null 2>&1
"$TE" create warm2 --clear --python "$SYSPY" --all-plugin >/dev/null 2>&1
rm -rf "$D/uvv" && "$UV" venv -q -p "$PY" "$D/uvv" && "$UV" pip install -q -p "$D/uvv/bin/python" "$TEMPEST"

hyperfine --warmup 3 --min-runs 20 -N --export-json "$RESULTS/layers-base.json" \
    --prepare "rm -rf $TEMPEST_ENV_HOME/data/envs/b" \
    -n "tempest-env create --base $TEMPEST (base warm)" "$TE create b --python $PY --base $TEMPEST" \
    --prepare "rm -rf $D/uvv" \
    -n "uv venv + uv pip install --offline $TEMPEST (cache warm)" "bash -c '$UV venv -q -p $PY $D/uvv && $UV pip install -q --offline -p $D/uvv/bin/python $TEMPEST'"

hyperfine --warmup 3 --min-runs 30 -N --export-json "$RESULTS/layers-system.json" \
    --prepare "rm -rf $TEMPEST_ENV_HOME/data/envs/b" \
    -n "tempest-env create --all-plugin" "$TE create b --python $SYSPY --all-plugin" \
    --prepare "rm -rf $TEMPEST_ENV_HOME/data/envs/b" \
    -n "tempest-env create --exclude-plugin valet (7 of 8 plugins)" "$TE create b --python $SYSPY --exclude-plugin valet_tests" \
    --prepare "rm -rf $D/venv" \
    -n "python -m venv --system-site-packages --without-pip" "$SYSPY -m venv --system-site-packages --without-pip $D/venv"

medians "$RESULTS/layers-base.json" | tee "$RESULTS/layers-base-medians.md"
medians "$RESULTS/layers-system.json" | tee "$RESULTS/layers-system-medians.md"
