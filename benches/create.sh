#!/usr/bin/env bash
# `tempest-env create` against `uv venv`, `python -m venv --without-pip` and
# `virtualenv --no-seed`: the same interpreter, an empty environment each
# time, interpreter information cached for all (each tool runs once first).
# Usage: benches/create.sh   (writes benches/results/create.md)
source "$(dirname "$0")/common.sh"
D="$WORK/create"
rm -rf "$D" && mkdir -p "$D"

# Warm every tool's interpreter cache.
"$TE" create warm --python "$PY" --clear >/dev/null 2>&1
"$UV" venv -q -p "$PY" "$D/uv-warm"
"$VIRTUALENV" -q --no-seed -p "$PY" "$D/virtualenv-warm" >/dev/null

hyperfine --warmup 5 --min-runs 50 -N \
    --export-markdown "$RESULTS/create.md" --export-json "$RESULTS/create.json" \
    --prepare "rm -rf $TEMPEST_ENV_HOME/data/envs/b" -n "tempest-env create" "$TE create b --python $PY" \
    --prepare "rm -rf $D/uv" -n "uv venv" "$UV venv -q -p $PY $D/uv" \
    --prepare "rm -rf $D/venv" -n "python -m venv --without-pip" "$PY -m venv --without-pip $D/venv" \
    --prepare "rm -rf $D/virtualenv" -n "virtualenv --no-seed" "$VIRTUALENV -q --no-seed -p $PY $D/virtualenv"

rm -rf "$TEMPEST_ENV_HOME/data/envs/b"
echo "peak memory of tempest-env create: $(peak_kib "$TE" create b --python "$PY") KiB" | tee -a "$RESULTS/create.md"
medians "$RESULTS/create.json" | tee "$RESULTS/create-medians.md"
