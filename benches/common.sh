# Shared set-up for the benchmarks: hyperfine and GNU time from Debian, uv,
# virtualenv and tox from PyPI into a scratch venv, tempest-env built in
# release mode. Sourced by each benchmark script.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$ROOT/benches/.work"
TOOLS="$WORK/tools"
RESULTS="$ROOT/benches/results"
mkdir -p "$WORK" "$RESULTS"

need_apt() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq
        apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}
need_apt hyperfine time

PY="$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')"
if [ ! -x "$TOOLS/bin/uv" ] || [ ! -x "$TOOLS/bin/virtualenv" ] || [ ! -x "$TOOLS/bin/tox" ]; then
    "$PY" -m venv "$TOOLS"
    "$TOOLS/bin/pip" install -q --disable-pip-version-check uv virtualenv tox
fi
UV="$TOOLS/bin/uv"
VIRTUALENV="$TOOLS/bin/virtualenv"
TOX="$TOOLS/bin/tox"

(cd "$ROOT" && cargo build --release --locked -q)
TE="$ROOT/target/release/tempest-env"
export TEMPEST_ENV_HOME="$WORK/home"

# Peak resident memory of one command, in KiB (GNU time).
peak_kib() {
    /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1
}

echo "python: $PY ($("$PY" --version))"
echo "uv: $("$UV" --version)  virtualenv: $("$VIRTUALENV" --version | cut -d' ' -f2)  hyperfine: $(hyperfine --version)"
echo "machine: $(nproc) cores, $(uname -srm)"

# Print a hyperfine JSON export as a Markdown table of medians, each also as
# a ratio to the first command.
medians() {
    "$PY" - "$1" <<'PYEOF'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
# A single run has no median; its mean is the one time.
for r in results:
    if r.get("median") is None:
        r["median"] = r["mean"]
first = results[0]["median"]
print("| command | median | mean ± σ | ratio to first |")
print("|---|---|---|---|")
for r in results:
    print("| %s | %.1f ms | %.1f ± %.1f ms | %.2fx |" % (
        r["command"], r["median"] * 1e3, r["mean"] * 1e3, (r.get("stddev") or 0.0) * 1e3, r["median"] / first))
PYEOF
}

# hyperfine RUNS times over all the commands, one run of each in turn, so
# that a machine that slows down or speeds up meanwhile weighs on every
# command alike; the runs are merged into one export (OUT) in hyperfine's
# format. Usage: interleaved RUNS OUT hyperfine-arguments...
interleaved() {
    local runs="$1" out="$2"; shift 2
    local parts=()
    for i in $(seq 1 "$runs"); do
        hyperfine --runs 1 "$@" --export-json "$out.$i"
        parts+=("$out.$i")
    done
    "$PY" - "$out" "${parts[@]}" <<'PYEOF'
import json, statistics, sys
out, parts = sys.argv[1], sys.argv[2:]
exports = [json.load(open(p)) for p in parts]
merged = exports[0]
for n, r in enumerate(merged["results"]):
    times = [t for e in exports for t in e["results"][n]["times"]]
    r.update(times=times, mean=statistics.mean(times), median=statistics.median(times),
             stddev=statistics.stdev(times) if len(times) > 1 else None,
             min=min(times), max=max(times))
    for key in ("user", "system"):
        r[key] = statistics.mean(e["results"][n][key] for e in exports)
    r["exit_codes"] = [c for e in exports for c in e["results"][n]["exit_codes"]]
json.dump(merged, open(out, "w"), indent=2)
PYEOF
    rm -f "${parts[@]}"
}
