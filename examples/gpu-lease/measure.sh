#!/usr/bin/env bash
# Both GPU suites at once (nox -j 2, one leased GPU each) versus one after the other.
# Usage: GPU_WORK_SECONDS=20 bash measure.sh [OUTDIR]   (on a machine with 2 GPUs, torch and nox)
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-measure-out}
mkdir -p "$out"
export GPU_WORK_SECONDS=${GPU_WORK_SECONDS:-20}
run() {  # label, nox args...
    local label=$1; shift
    rm -rf reports
    local t0 t1
    t0=$(date +%s.%N)
    python3 -m nox --no-venv -s cuda-matmul cuda-attention "$@" > "$out/$label.log" 2>&1
    t1=$(date +%s.%N)
    for s in matmul attention; do cp "reports/cuda-$s/junit.xml" "$out/$label-$s.xml"; done
    echo "$label wall_s=$(python3 -c "print(round($t1 - $t0, 2))")"
    grep -h -o 'name="\(CUDA_VISIBLE_DEVICES\|device\|uuid\)" value="[^"]*"' "$out/$label-"*.xml | sed "s/^/  $label: /"
    grep -h "leased GPU\|waiting for one" "$out/$label.log" | sed "s/^/  $label: /"
}
run parallel -j 2
run serial
