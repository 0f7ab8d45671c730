#!/usr/bin/env bash
# Issue-17 ablation study: stage 2 "full", "no_mask_and_predict" and
# "no_domain_adaptation" (training/configs/ablations/issue17/), same budget and
# seeds, from a synthetic source domain to a shifted synthetic target domain; writes
# docs/accuracy/ablation.json (tools/ablation_eval.py: COCO OKS AP on true crops of
# the source validation split at 20-70% hidden, and on the target domain's).
#
#   tools/ablation_study.sh                       # the study (hours on a CPU)
#   SEEDS="1 2" ITERATIONS=600 tools/ablation_study.sh
#
# Resumable: data that exists is kept, every run continues from its last.pt
# (--resume; a finished run does nothing), and the evaluation is redone at the end.
# CONFIGS is the folder of variant configs (default training/configs/ablations/issue17;
# issue17_long is the same study at 4x the budget, near-zero heatmap start; give each
# study its own RUNS and OUT_JSON, or it resumes and overwrites the default study's).
# EXTRA is YAML added to every run's config and RUN_EXTRA keys added to its run: mapping
# (the test uses them for a tiny model and batch).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
DATA="${DATA:-data/ablation}"
RUNS="${RUNS:-runs/ablation17}"
OUT_JSON="${OUT_JSON:-docs/accuracy/ablation.json}"
SEEDS="${SEEDS:-1 2 3}"
# ITERATIONS: every run's budget; unset, each variant config's own run.iterations (1200
# for issue17*, 4800 for the *_long folders)
ITERATIONS="${ITERATIONS:-}"
IMAGES="${IMAGES:-1500}"
TARGET_IMAGES="${TARGET_IMAGES:-$IMAGES}"
SIZE="${SIZE:-512x256}"
PEOPLE="${PEOPLE:-1-6}"
VAL_PEOPLE="${VAL_PEOPLE:-300}"
VARIANTS="${VARIANTS:-full no_mask_and_predict no_domain_adaptation}"
EXTRA="${EXTRA:-}"
CONFIGS="$(realpath -m "${CONFIGS:-training/configs/ablations/issue17}")"
DATA="$(realpath -m "$DATA")"
RUNS="$(realpath -m "$RUNS")"

# SOURCE_ARGS / TARGET_ARGS: the `cluenet synth` options of each domain (default: the
# capsule world and its shifted target; the realistic-world study passes its own).
SOURCE_ARGS="${SOURCE_ARGS:---seed 1}"
TARGET_ARGS="${TARGET_ARGS:---seed 101 --domain target}"
[ -f "$DATA/source/val/citypersons.json" ] ||
  cluenet synth --out "$DATA/source" --images "$IMAGES" --size "$SIZE" --people "$PEOPLE" --workers 2 $SOURCE_ARGS
[ -f "$DATA/target/val/citypersons.json" ] ||
  cluenet synth --out "$DATA/target" --images "$TARGET_IMAGES" --size "$SIZE" --people "$PEOPLE" --workers 2 $TARGET_ARGS

# Seed-major, so that a study cut short still compares every variant on the same seeds.
for seed in $SEEDS; do
  for variant in $VARIANTS; do
    dir="$RUNS/$variant/seed$seed"
    mkdir -p "$dir"
    cat > "$dir/config.yaml" <<YAML
base: $CONFIGS/$variant.yaml
source: {format: split, root: $DATA/source/train}
target: {format: split, root: $DATA/target/train}
val: {format: split, root: $DATA/source/val}
run: {out_dir: $dir, seed: $seed${ITERATIONS:+, iterations: $ITERATIONS}${RUN_EXTRA:+, $RUN_EXTRA}}
$EXTRA
YAML
    echo "[ablation] $variant seed $seed"
    cluenet train stage2 --config "$dir/config.yaml" --resume > "$dir/train.log" 2>&1
  done
done

python tools/ablation_eval.py --runs "$RUNS" --variants $VARIANTS --seeds $SEEDS \
  --source-val "$DATA/source/val" --target-val "$DATA/target/val" --people "$VAL_PEOPLE" --out "$OUT_JSON"
