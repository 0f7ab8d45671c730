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
# issue17_long is the same study at 4x the budget, near-zero heatmap start). Its
# study.yaml, if any, gives the study's data, runs, results and domains, e.g.
#   CONFIGS=training/configs/ablations/issue17_unoccluded_long SEEDS=1 VARIANTS=full_uniform tools/ablation_study.sh
# EXTRA is YAML added to every run's config and RUN_EXTRA keys added to its run: mapping
# (the test uses them for a tiny model and batch).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
CONFIGS="$(realpath -m "${CONFIGS:-training/configs/ablations/issue17}")"
# The study's own settings: $CONFIGS/study.yaml (where its data, runs and results live and
# how its two domains are rendered), so that a resume on a fresh checkout renders the data
# the study ran on; a variable set in the environment wins over the file.
if [ -f "$CONFIGS/study.yaml" ]; then
  settings="$(python - "$CONFIGS/study.yaml" <<'PY'
import shlex, sys, yaml
KEYS = {"data": "DATA", "runs": "RUNS", "out_json": "OUT_JSON", "images": "IMAGES",
        "target_images": "TARGET_IMAGES", "size": "SIZE", "people": "PEOPLE", "source": "SOURCE_ARGS",
        "target": "TARGET_ARGS", "variants": "VARIANTS", "checkpoints": "CHECKPOINTS"}
study = yaml.safe_load(open(sys.argv[1])) or {}
bad = sorted(set(study) - set(KEYS))
if bad:
    sys.exit(f"{sys.argv[1]}: unknown keys {bad}; known: {sorted(KEYS)}")
for key, value in study.items():
    value = " ".join(map(str, value)) if isinstance(value, list) else str(value)
    print(f'[ -n "${{{KEYS[key]}+x}}" ] || {KEYS[key]}={shlex.quote(value)}')
PY
)"  # (assigned first: set -e stops on a failed assignment, not on a failed eval "$(...)")
  eval "$settings"
fi
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
DATA="$(realpath -m "$DATA")"
RUNS="$(realpath -m "$RUNS")"
# CHECKPOINTS: a folder of saved run states (<variant>/seed<N>/: last.pt, losses.jsonl,
# validation.jsonl, tensorboard/), on storage that outlives the machine, that a run with no
# last.pt of its own starts from (never replacing a newer one), so that a study longer than
# one machine's life goes on elsewhere. Save a run with
#   d=$CHECKPOINTS/<variant>/seed<N>; mkdir -p $d && cp -r $RUNS/<variant>/seed<N>/{last.pt,*.jsonl,tensorboard} $d/
CHECKPOINTS="${CHECKPOINTS:+$(realpath -m "$CHECKPOINTS")}"

# SOURCE_ARGS / TARGET_ARGS: the `cluenet synth` options of each domain (default: the
# capsule world and its shifted target). --reuse keeps data rendered with the same
# recipe and refuses data rendered with another, rather than training on it.
SOURCE_ARGS="${SOURCE_ARGS:---seed 1}"
TARGET_ARGS="${TARGET_ARGS:---seed 101 --domain target}"
# flock: studies started side by side render the data once, and the others then keep it.
mkdir -p "$DATA"
flock "$DATA/.render.lock" cluenet synth --reuse --out "$DATA/source" --images "$IMAGES" --size "$SIZE" \
  --people "$PEOPLE" --workers 2 $SOURCE_ARGS
flock "$DATA/.render.lock" cluenet synth --reuse --out "$DATA/target" --images "$TARGET_IMAGES" --size "$SIZE" \
  --people "$PEOPLE" --workers 2 $TARGET_ARGS

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
    kept="${CHECKPOINTS:+$CHECKPOINTS/$variant/seed$seed}"
    if [ -n "$kept" ] && [ -f "$kept/last.pt" ] && [ ! -f "$dir/last.pt" ]; then
      echo "[ablation] $variant seed $seed: goes on from the saved state in $kept"
      cp -r "$kept/." "$dir/"
    fi
    cluenet train stage2 --config "$dir/config.yaml" --resume > "$dir/train.log" 2>&1
  done
done

python tools/ablation_eval.py --runs "$RUNS" --variants $VARIANTS --seeds $SEEDS \
  --source-val "$DATA/source/val" --target-val "$DATA/target/val" --people "$VAL_PEOPLE" --out "$OUT_JSON"
