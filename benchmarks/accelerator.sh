#!/usr/bin/env bash
# The accelerator figures of BENCHMARKS.md ("On an accelerator"), in one go, each
# command under its own time limit so that one slow item does not cost the rest.
#
#   JAX_PLATFORMS=cuda bash benchmarks/accelerator.sh [LOG]
#
# Prints (and appends to LOG, default accelerator.log) the device, the library
# versions, the bf16 matrix peak that MFU is taken against, the paper-scale train
# step (fp32 and bf16, batch 32 and 256; baseline and early fusion side by side),
# one paper-scale member's time per epoch in the real training loop, and
# `photoz predict` throughput at paper scale.
set -u
log=${1:-accelerator.log}
limit=${LIMIT:-240}
export PHOTOZ_NO_PROGRESS=1 PYTHONUNBUFFERED=1
run() {
  echo "\$ ${XLA_PYTHON_CLIENT_MEM_FRACTION:+XLA_PYTHON_CLIENT_MEM_FRACTION=$XLA_PYTHON_CLIENT_MEM_FRACTION }$*" \
    | tee -a "$log"
  timeout "$limit" "$@" 2>&1 | grep -v "^WARNING\|^I0000\|^W0000\|cuda_timer" | tee -a "$log"
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$log"
python3 -c "import jax, flax, optax, orbax.checkpoint as o; print('jax', jax.__version__, \
'flax', flax.__version__, 'optax', optax.__version__, 'orbax', o.__version__, jax.devices())" \
  2>&1 | tee -a "$log"
peak=$(run python3 benchmarks/matmul_peak.py --dtype bfloat16 --size 8192)
echo "$peak"
P=$(echo "$peak" | grep -o '[0-9.]* TFLOP/s' | tail -1 | cut -d' ' -f1)
for batch in 32 256; do
  for dtype in float32 bfloat16; do
    run python3 benchmarks/train_step.py --stamp 64 --width 1 --batch "$batch" --dtype "$dtype" \
      --steps "${STEPS:-20}" --rounds 3 --peak-tflops "${P:-0}"
  done
done
run python3 benchmarks/member_epoch.py --fusions early --n 6000 --steps "${EPOCH_STEPS:-1275}"
# predict.py's parent process trains a tiny run and its child predicts: both hold GPU memory.
XLA_PYTHON_CLIENT_MEM_FRACTION=0.4 run python3 benchmarks/predict.py --stamp 64 --width 1 --bands ugrizyjhk --n-bins 1000 \
  --eval-batch-size 256 --n 2000 20000
run python3 benchmarks/member_epoch.py --fusions none --n 6000 --steps "${EPOCH_STEPS:-1275}"
