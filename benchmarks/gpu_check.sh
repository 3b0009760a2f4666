#!/usr/bin/env bash
# GPU check (issue 15), for a lent GPU machine: prepared here, run there in one call (device time is minutes,
# so the most wanted figures come first and every section has its own time limit and writes under $OUT as it goes).
#   1. one world-model update at MAMBA's sizes, fp32 and bf16 autocast (benchmarks/wm_update.py --device cuda);
#   2. one training iteration (`method.update`) of GAWM, GAWM*, MAMBA and MAG at their default (for MAMBA and MAG:
#      published) sizes on 3s_vs_3z, split into phases and projected to 50k real steps
#      (benchmarks/iteration_cost.py --device cuda): the workflow's GPU runtime estimates come from here;
#   3. the first N real steps of GAWM on 2s_vs_1sc and 3s_vs_3z with --device cuda, timed from progress.csv,
#      projected to the paper's budgets (15k and 50k real steps);
#   4. the CUDA tests: every method trains with --device cuda and its checkpoint plays on CPU and GPU.
# Usage (repository root):  N=2000 OUT=/tmp/gpu_check bash benchmarks/gpu_check.sh
# Needs python3 with torch (CUDA build), numpy, pandas, scipy, pyyaml, tqdm and pytest importable; the repository is
# put on PYTHONPATH, so no install is needed. Everything it prints is also written under $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
N=${N:-2000}
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*"; }
$PY -c "import torch, sys; ok = torch.cuda.is_available(); print('torch', torch.__version__, 'cuda', torch.version.cuda,
  torch.cuda.get_device_name(0) if ok else 'NO GPU VISIBLE'); sys.exit(0 if ok else 2)" | tee "$OUT/device.txt" || exit 2
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee -a "$OUT/device.txt"
nproc | sed 's/^/cpu cores: /' | tee -a "$OUT/device.txt"

stamp "== 1. one world-model update at MAMBA's sizes (GAWM and GAWM*; batch 40 x 20; fp32 and bf16)"
timeout "${T_WM:-90}" $PY benchmarks/wm_update.py --device cuda --repeats 5 --precision fp32 bf16 2>&1 | tee "$OUT/wm_update.log"

stamp "== 2. one training iteration per method on 3s_vs_3z (default configs; MAMBA and MAG at published sizes)"
timeout "${T_ITER:-200}" $PY benchmarks/iteration_cost.py --device cuda --methods gawm gawm_star mamba mag \
    --warmup 1 --repeats 2 --act-steps 200 --steps 50000 --out "$OUT/iteration_cost_cuda.json" 2>&1 \
    | tee "$OUT/iteration_cost.log"

stamp "== 3. GAWM, first $N real steps on the GPU"
RUNS=$(mktemp -d)   # run folders stay outside $OUT: only a few files may come back, so their small files are tarred
for map in 2s_vs_1sc 3s_vs_3z; do
  run="$RUNS/gawm_$map"
  timeout "${T_TRAIN:-100}" $PY -m gawm.cli train --method gawm --map "$map" --seed 1 --steps "$N" --device cuda \
      --no-progress --out "$run" > "$run.log" 2>&1 || { echo "train on $map stopped (rc $?):"; tail -5 "$run.log"; }
  $PY - "$run" "$map" <<'PY' 2>&1 | tee -a "$OUT/per_1k_steps.txt"
import csv, sys
run, map_name = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(f"{run}/progress.csv")))
first, last = rows[0], rows[-1]
per_1k = (float(last["wall_s"]) - float(first["wall_s"])) / (int(last["step"]) - int(first["step"])) * 1000
print(f"gawm {map_name}: {per_1k:.1f} s per 1000 real steps after the first update "
      f"(steps {first['step']}-{last['step']}); 15k steps ~ {per_1k * 15 / 60:.0f} min, "
      f"50k steps ~ {per_1k * 50 / 60:.0f} min (evaluations and checkpoints not included)")
PY
  rm -rf "$run"/*.pt "$run"/snapshots 2>/dev/null   # checkpoints stay there
  tar czf "$OUT/gawm_runs.tgz" -C "$RUNS" .
done

stamp "== 4. CUDA tests"
timeout "${T_TESTS:-150}" $PY -m pytest tests/test_cuda.py -q -p no:cacheprovider -x 2>&1 | tee "$OUT/tests.log"
stamp "done"
