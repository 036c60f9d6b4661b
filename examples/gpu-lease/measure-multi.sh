#!/usr/bin/env bash
# A 2-GPU suite and a 1-GPU suite beside it on a 2-GPU machine: the 2-GPU session
# leases both GPUs at once; the 1-GPU session, started a moment later, waits for one.
# Usage: GPU_WORK_SECONDS=15 bash measure-multi.sh [OUTDIR]   (2 GPUs, torch and nox)
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-measure-out}
mkdir -p "$out"
export GPU_WORK_SECONDS=${GPU_WORK_SECONDS:-15}
rm -rf reports
t0=$(date +%s.%N)
python3 -m nox --no-venv -s cuda-tensor-parallel > "$out/multi-tensor-parallel.log" 2>&1 &
tp=$!
sleep 3  # the pair holds both GPUs now
python3 -m nox --no-venv -s cuda-matmul > "$out/multi-matmul.log" 2>&1
wait $tp
t1=$(date +%s.%N)
echo "both sessions done $(python3 -c "print(round($t1 - $t0, 2))") s after the start"
for s in tensor-parallel matmul; do
    cp "reports/cuda-$s/junit.xml" "$out/multi-$s.xml"
    # when pytest ran: JUnit's start and duration
    python3 -c "import sys, xml.etree.ElementTree as E, datetime as d
s = E.parse(sys.argv[1]).getroot().find('testsuite'); t = d.datetime.fromisoformat(s.get('timestamp'))
print(f'  {sys.argv[2]}: pytest ran {t:%H:%M:%S.%f}'[:-3], '->', f'{t + d.timedelta(seconds=float(s.get(\"time\"))):%H:%M:%S.%f}'[:-3])" \
        "$out/multi-$s.xml" "$s"
done
for s in tensor-parallel matmul; do
    grep -h -o 'name="\(CUDA_VISIBLE_DEVICES\|count\|device\|uuid\)" value="[^"]*"' \
        "$out/multi-$s.xml" | sed "s/^/  $s: /"
    grep -h "leased GPU\|waiting for one\|is free now" "$out/multi-$s.log" | sed "s/^/  $s: /"
done
