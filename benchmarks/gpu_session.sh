#!/usr/bin/env bash
# The prepared run for a lent GPU (the `device` tool): CUDA correctness tests, the speed tables, then one blocked
# MNIST row for what is left of a 9-minute window. Everything it reports lands in $OUT (at most 8 files come back).
#
# Here, once:   mkdir -p gpu-data && cp -r ../shared/data/mnist gpu-data/   (gpu-data/ is ignored by git)
# Then:         device run, carry ["gpu-data"], command "bash benchmarks/gpu_session.sh", timeout_s 600
# ROW=dbm (or drbm, hdrbm, rbm_ais_best, cdbn, ...) picks the reproduce row; ROW_SECONDS its time limit.
set -o pipefail
export PYTHONPATH=src PYTHONUNBUFFERED=1 MPLBACKEND=Agg
OUT=${OUT:-/tmp/gpu-session}
mkdir -p "$OUT"
ROW=${ROW:-rbm_ais_best}
ROW_SECONDS=${ROW_SECONDS:-300}
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch, sklearn; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'sklearn', sklearn.__version__)"
} 2>&1 | tee "$OUT/env.txt"
timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py 2>&1 | tee "$OUT/cuda_tests.txt"
timeout 120 python3 benchmarks/speed.py --device cuda --data gpu-data 2>&1 | tee "$OUT/speed.md"
# the row's table and a log; its checkpoints stay on the machine (it is bare next time)
timeout "$ROW_SECONDS" python3 -m deepbelief reproduce mnist --rows "$ROW" --device cuda --data-home gpu-data \
  --out /tmp/reproduce 2>&1 | tail -c 200000 > "$OUT/reproduce_$ROW.log"
cp /tmp/reproduce/table.md "$OUT/table_$ROW.md" 2>/dev/null || echo "no table: $ROW did not finish in ${ROW_SECONDS} s" >> "$OUT/reproduce_$ROW.log"
