#!/usr/bin/env bash
# Reproduces models/fashion-mnist.safetensors, the shipped Fashion-MNIST
# model, from Debian's dataset-fashion-mnist package, and measures it on the
# 10,000 test images the training never sees.
#   models/train_fashion_mnist.sh [OUT] [EPOCHS]
# Same seed, data and thread count give the same model bit for bit.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-models/fashion-mnist.safetensors}
epochs=${2:-30}
data=/usr/share/datasets/fashion-mnist
scripts/setup.sh >/dev/null
start=$(date +%s)
build/cortex-vision train --data "$data" --out "$out" --arch fmnist \
  --epochs "$epochs" --batch 64 --optimizer adamw --lr 0.002 --schedule onecycle \
  --weight-decay 0.05 --label-smoothing 0.1 --crop 2 --flip --erase 0.25 \
  --seed 1 --threads 2
end=$(date +%s)
echo "training time: $((end - start)) s on $(nproc) cores"
build/cortex-vision eval --model "$out" --data "$data" --split test
ls -l "$out"
