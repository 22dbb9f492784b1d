#!/bin/bash
# Snowflake-style freezing (--freeze encoder,message,decoder) on FetchReach-v4 (12k steps, the normalize-parity
# protocol) and Pendulum-v1 (10k steps, the pendulum-postfix protocol), seeds 0 and 1. Run from the repository root
# with the project's environment active.
set -e
mkdir -p runs/freeze && cd runs/freeze
F=encoder,message,decoder
for S in 0 1; do
  ghp train --env FetchReach-v4 --steps 12000 --seed $S --checkpoint-every 2000 --eval-every 0 --freeze $F --out fr-ghp-frz-s$S --force --quiet
  ghp evaluate fr-ghp-frz-s$S --checkpoints all --archs 20 --sample-seed 0 --episodes 5 --workers 1
  ghp report fr-ghp-frz-s$S --progress --json --metric success --out fr-s$S > fr-frz-s$S.json
  ghp train --env Pendulum-v1 --steps 10000 --seed $S --eval-every 0 --freeze $F --out pend-ghp-frz-s$S --force --quiet
  ghp evaluate pend-ghp-frz-s$S --archs 300 --sample-seed 0 --episodes 10 --workers 1
  ghp report pend-ghp-frz-s$S --json --out pend-s$S > pend-frz-s$S.json
done
# Seed 1 of the normalize-parity protocol again, with a checkpoint every 1000 steps.
ghp train --env FetchReach-v4 --steps 12000 --seed 1 --checkpoint-every 1000 --eval-every 0 --out fr-ghp-s1-dense --force --quiet
ghp evaluate fr-ghp-s1-dense --checkpoints all --archs 20 --sample-seed 0 --episodes 5 --workers 1
ghp report fr-ghp-s1-dense --progress --json --metric success --out s1-rerun > prog-s1-rerun.json
