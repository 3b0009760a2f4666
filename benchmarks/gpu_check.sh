#!/usr/bin/env bash
# GPU check (issue 15), for a lent GPU machine: prepared here, run there in one call.
#   1. the CUDA tests: every method trains with --device cuda and its checkpoint plays on CPU and GPU;
#   2. one world-model update at MAMBA's sizes on the GPU (benchmarks/wm_update.py --device cuda);
#   3. the first N real steps of GAWM on 2s_vs_1sc and 3s_vs_3z with --device cuda, timed from progress.csv,
#      projected to the paper's budgets (15k and 50k real steps).
# Usage (repository root):  N=3000 OUT=/tmp/gpu_check bash benchmarks/gpu_check.sh
# Needs python3 with torch (CUDA build), numpy, pyyaml, tqdm and pytest importable; the repository is put on
# PYTHONPATH, so no install is needed. Everything it prints is also written under $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
N=${N:-3000}
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
$PY -c "import torch, sys; ok = torch.cuda.is_available(); print('torch', torch.__version__, 'cuda', torch.version.cuda,
  torch.cuda.get_device_name(0) if ok else 'NO GPU VISIBLE'); sys.exit(0 if ok else 2)" | tee "$OUT/device.txt" || exit 2
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee -a "$OUT/device.txt"

echo "== 1. CUDA tests"
$PY -m pytest tests/test_cuda.py tests/test_speed_neutral.py -q -p no:cacheprovider 2>&1 | tee "$OUT/tests.log"

echo "== 2. one world-model update at MAMBA's sizes (GAWM and GAWM*; batch 40 x 20)"
$PY benchmarks/wm_update.py --device cuda --repeats 5 2>&1 | tee "$OUT/wm_update.log"

echo "== 3. GAWM, first $N real steps on the GPU"
TIME=""; [ -x /usr/bin/time ] && TIME="/usr/bin/time -v"   # wall time and peak RSS where GNU time exists
for map in 2s_vs_1sc 3s_vs_3z; do
  run="$OUT/gawm_$map"
  $TIME $PY -m gawm.cli train --method gawm --map "$map" --seed 1 --steps "$N" --device cuda \
      --no-progress --out "$run" > "$run.log" 2>&1 || { echo "train on $map failed:"; tail -20 "$run.log"; continue; }
  $PY - "$run" "$map" <<'PY' | tee -a "$OUT/per_1k_steps.txt"
import csv, sys
run, map_name = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(f"{run}/progress.csv")))
first, last = rows[0], rows[-1]
per_1k = (float(last["wall_s"]) - float(first["wall_s"])) / (int(last["step"]) - int(first["step"])) * 1000
print(f"gawm {map_name}: {per_1k:.1f} s per 1000 real steps after the first update "
      f"(steps {first['step']}-{last['step']}); 15k steps ~ {per_1k * 15 / 60:.0f} min, "
      f"50k steps ~ {per_1k * 50 / 60:.0f} min (evaluations and checkpoints not included)")
PY
done
