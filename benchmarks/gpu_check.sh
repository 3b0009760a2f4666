#!/usr/bin/env bash
# GPU check (issue 15), for a lent GPU machine: prepared here, run there in one call (device time is minutes,
# so the most wanted figures come first and every section has its own time limit and writes under $OUT as it goes).
#   1. one world-model update at MAMBA's sizes, fp32 and bf16 autocast (benchmarks/wm_update.py --device cuda);
#   2. one training iteration (`method.update`) of GAWM, GAWM*, MAMBA and MAG at their default (for MAMBA and MAG:
#      published) sizes on 3s_vs_3z, split into phases and projected to 50k real steps
#      (benchmarks/iteration_cost.py --device cuda): the workflow's GPU runtime estimates come from here;
#   3. the first N real steps of GAWM on 2s_vs_1sc and 3s_vs_3z with --device cuda, timed from progress.csv,
#      projected to the paper's budgets (15k and 50k real steps);
#   4. the CUDA tests: every method trains with --device cuda and its checkpoint plays on CPU and GPU;
#   5. the first N_MAPPO real steps of MAPPO (2s_vs_1sc) and N_QMIX of QMIX (3s_vs_3z) with --device cuda, for the
#      workflow's gpu_minutes_per_1k_steps of the model-free methods.
# Usage (repository root):  N=2000 OUT=/tmp/gpu_check bash benchmarks/gpu_check.sh
# SECTIONS="3 4 5" runs only the sections named (default: all five, in order); DEVICE=cpu runs sections 3 and 5 on
# the CPU (a dry run of the script before device time is spent on it).
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
want() { [[ " ${SECTIONS:-1 2 3 4 5} " == *" $1 "* ]]; }
RUNS=$(mktemp -d)   # run folders stay outside $OUT: only a few files may come back, so their small files are tarred

# time_run METHOD MAP STEPS [LIMIT_S]: train the first STEPS real steps on the GPU and print the seconds per 1000 real
# steps after the first logged row and over the second half of the rows (progress.csv's wall_s: evaluations and
# checkpoints included; QMIX and MAPPO learn little in their first rows), projected to the paper's budgets.
time_run() {
  local method=$1 map=$2 steps=$3 limit=${4:-${T_TRAIN:-100}} run="$RUNS/$1_$2"
  timeout "$limit" $PY -m gawm.cli train --method "$method" --map "$map" --seed 1 --steps "$steps" \
      --device "${DEVICE:-cuda}" --no-progress --out "$run" > "$run.log" 2>&1 || { echo "train $method on $map stopped (rc $?):"; tail -5 "$run.log"; }
  $PY - "$run" "$method" "$map" <<'PY' 2>&1 | tee -a "$OUT/per_1k_steps.txt"
import csv, sys
run, method, map_name = sys.argv[1:4]
rows = list(csv.DictReader(open(f"{run}/progress.csv")))
if len(rows) < 2:
    sys.exit(f"{method} {map_name}: {len(rows)} logged row(s) before it stopped: no rate (see {run}.log)")
def per_1k(a, b):  # seconds per 1000 real steps between two logged rows
    return (float(b["wall_s"]) - float(a["wall_s"])) / (int(b["step"]) - int(a["step"])) * 1000
first, mid, last = rows[0], rows[len(rows) // 2], rows[-1]
rate = per_1k(first, last)
late = per_1k(mid, last) if mid is not last else float("nan")
print(f"{method} {map_name}: {rate:.2f} s per 1000 real steps after the first logged row "
      f"(steps {first['step']}-{last['step']}), {late:.2f} s over the second half (steps {mid['step']}-{last['step']}); "
      f"at the first rate 15k steps ~ {rate * 15 / 60:.1f} min, 50k ~ {rate * 50 / 60:.1f} min, "
      f"1M ~ {rate * 1000 / 60:.0f} min (evaluations included, checkpoints too)")
PY
  rm -rf "$run"/*.pt "$run"/checkpoints "$run"/snapshots 2>/dev/null   # checkpoints stay there
  tar czf "$OUT/runs.tgz" -C "$RUNS" .
}
$PY -c "import torch, sys; ok = torch.cuda.is_available(); print('torch', torch.__version__, 'cuda', torch.version.cuda,
  torch.cuda.get_device_name(0) if ok else 'NO GPU VISIBLE'); sys.exit(0 if ok else 2)" | tee "$OUT/device.txt" || [ "${DEVICE:-cuda}" = cpu ] || exit 2
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee -a "$OUT/device.txt"
nproc | sed 's/^/cpu cores: /' | tee -a "$OUT/device.txt"

if want 1; then
  stamp "== 1. one world-model update at MAMBA's sizes (GAWM and GAWM*; batch 40 x 20; fp32 and bf16)"
  timeout "${T_WM:-90}" $PY benchmarks/wm_update.py --device cuda --repeats 5 --precision fp32 bf16 2>&1 | tee "$OUT/wm_update.log"
fi

if want 2; then
  stamp "== 2. one training iteration per method on 3s_vs_3z (default configs; MAMBA and MAG at published sizes)"
  timeout "${T_ITER:-200}" $PY benchmarks/iteration_cost.py --device cuda --methods gawm gawm_star mamba mag \
      --warmup 1 --repeats 2 --act-steps 200 --steps 50000 --out "$OUT/iteration_cost_cuda.json" 2>&1 \
      | tee "$OUT/iteration_cost.log"
fi

if want 3; then
  stamp "== 3. GAWM, first $N real steps on the GPU"
  for map in 2s_vs_1sc 3s_vs_3z; do time_run gawm "$map" "$N"; done
fi

if want 4; then
  stamp "== 4. CUDA tests"
  timeout "${T_TESTS:-150}" $PY -m pytest tests/test_cuda.py -q -p no:cacheprovider -x 2>&1 | tee "$OUT/tests.log"
fi

if want 5; then
  stamp "== 5. MAPPO and QMIX, their first real steps on the GPU"
  time_run mappo 2s_vs_1sc "${N_MAPPO:-64000}" "${T_MF:-150}"
  time_run qmix 3s_vs_3z "${N_QMIX:-10000}" "${T_MF:-150}"
fi
stamp "done"
