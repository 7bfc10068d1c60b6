#!/usr/bin/env bash
# Trains a CIFAR-10 model from the shared folder (train/ and test/ of class
# folders) with the resnet32 preset (a small ResNet, five residual blocks),
# and measures it on the 10,000 test photos the training never sees.
#   models/train_cifar10.sh CIFAR10_DIR [OUT] [EPOCHS]
# Same seed, data and thread count give the same model bit for bit.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: models/train_cifar10.sh CIFAR10_DIR [OUT] [EPOCHS]}
out=${2:-models/cifar10.safetensors}
epochs=${3:-15}
scripts/setup.sh >/dev/null
start=$(date +%s)
build/cortex-vision train --data "$data" --out "$out" --arch resnet32 \
  --epochs "$epochs" --batch 64 --optimizer adamw --lr 0.002 --schedule onecycle \
  --weight-decay 0.05 --label-smoothing 0.1 --crop 4 --flip \
  --seed 1 --threads 2
end=$(date +%s)
echo "training time: $((end - start)) s on $(nproc) cores"
build/cortex-vision eval --model "$out" --data "$data" --split test
ls -l "$out"
