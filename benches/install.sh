#!/usr/bin/env bash
# Installing the real neutron-tempest-plugin wheel (from PyPI, downloaded
# once) into a fresh environment:
#   warm: tempest-env with the store warm, against `uv pip install --no-deps
#         --offline` with uv's cache warm, and `pip install --no-deps`;
#   cold: tempest-env with an empty store, against uv with an empty cache
#         (with and without --compile-bytecode: tempest-env always compiles).
# Usage: benches/install.sh   (writes benches/results/install-{warm,cold}.md)
source "$(dirname "$0")/common.sh"
D="$WORK/install"
mkdir -p "$D/wheels"
if ! ls "$D/wheels"/neutron_tempest_plugin-*.whl >/dev/null 2>&1; then
    "$TOOLS/bin/pip" download -q --no-deps --only-binary :all: -d "$D/wheels" neutron-tempest-plugin
fi
W="$(ls "$D/wheels"/neutron_tempest_plugin-*.whl | head -n 1)"
echo "wheel: $(basename "$W") ($(du -k "$W" | cut -f1) KiB, $(python3 -c "import zipfile,sys; print(len(zipfile.ZipFile(sys.argv[1]).namelist()))" "$W") files)"

export UV_CACHE_DIR="$D/uv-cache"
# Warm both caches once.
"$TE" create warm --python "$PY" --clear --plugin "$W" >/dev/null 2>&1
rm -rf "$D/uvv" && "$UV" venv -q -p "$PY" "$D/uvv" && "$UV" pip install -q --no-deps -p "$D/uvv/bin/python" "$W"

hyperfine --warmup 2 --min-runs 20 -N \
    --export-markdown "$RESULTS/install-warm.md" --export-json "$RESULTS/install-warm.json" \
    --prepare "rm -rf $TEMPEST_ENV_HOME/data/envs/b" \
    -n "tempest-env create --plugin (store warm)" "$TE create b --python $PY --plugin $W" \
    --prepare "bash -c 'rm -rf $D/uvv && $UV venv -q -p $PY $D/uvv; sync'" \
    -n "uv pip install --no-deps --offline (cache warm)" "$UV pip install -q --no-deps --offline -p $D/uvv/bin/python $W" \
    --prepare "bash -c 'rm -rf $D/pipv && $PY -m venv $D/pipv'" \
    -n "pip install --no-deps" "$D/pipv/bin/pip install -q --no-deps --disable-pip-version-check $W"

hyperfine --warmup 1 --min-runs 10 -N \
    --export-markdown "$RESULTS/install-cold.md" --export-json "$RESULTS/install-cold.json" \
    --prepare "bash -c 'rm -rf $TEMPEST_ENV_HOME/data/envs/b && chmod -R u+w $TEMPEST_ENV_HOME/cache/store 2>/dev/null; rm -rf $TEMPEST_ENV_HOME/cache/store; sync'" \
    -n "tempest-env create --plugin (store cold)" "$TE create b --python $PY --plugin $W" \
    --prepare "bash -c 'rm -rf $TEMPEST_ENV_HOME/data/envs/b && chmod -R u+w $TEMPEST_ENV_HOME/cache/store 2>/dev/null; rm -rf $TEMPEST_ENV_HOME/cache/store; sync'" \
    -n "tempest-env create --plugin --compile-bytecode (store cold)" "$TE create b --python $PY --compile-bytecode --plugin $W" \
    --prepare "bash -c 'rm -rf $D/uvv $UV_CACHE_DIR && $UV venv -q -p $PY $D/uvv; sync'" \
    -n "uv pip install --no-deps (cache cold)" "$UV pip install -q --no-deps -p $D/uvv/bin/python $W" \
    --prepare "bash -c 'rm -rf $D/uvv $UV_CACHE_DIR && $UV venv -q -p $PY $D/uvv; sync'" \
    -n "uv pip install --no-deps --compile-bytecode (cache cold)" "$UV pip install -q --no-deps --compile-bytecode -p $D/uvv/bin/python $W"
medians "$RESULTS/install-warm.json" | tee "$RESULTS/install-warm-medians.md"
medians "$RESULTS/install-cold.json" | tee "$RESULTS/install-cold-medians.md"
