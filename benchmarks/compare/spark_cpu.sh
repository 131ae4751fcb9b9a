#!/usr/bin/env bash
# Issue 20, item 4: images per minute of the built-in model through the Spark job on local[2],
# against the plain command line making the same images one after another. 20 requests, one image
# each (seeds 0..19, the defaults: 25 prior / 25 decoder / 7 super-resolution steps):
#   cli        ./unclip generate PROMPT --seed S, once per image (a JVM and a model load per image);
#              "cli gen" is the sum of the stage times the command line prints (generation alone)
#   spark-bN   ./unclip-spark generate --master 'local[2]' --batch N over the 20-row table;
#              "job" is the write action (model load on the executor included), "wall" the process
# The configurations take turns within each round, so a neighbour's load falls on all of them.
# After the first round, each batch size's images are compared with the command line's (PngDiff.java).
#
# Both sides use the same CPU threads (--threads), 1 by default: on a machine shared with other work,
# OpenMP's barriers wait on a descheduled thread and two threads can be several times slower than one
# (docs/cli-and-api.md, "Threads"); give 0 for OpenMP's default (one per core) on an idle machine.
#
#   benchmarks/compare/spark_cpu.sh [rounds=3] [batches="1 2 4 8"] [threads=1]   (after ./test or a package build)
# Prints a line per run and, at the end, the median and range of each configuration.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
source tools/jdk.sh
unclip_find_jdk
rounds="${1:-3}"
batches="${2:-1 2 4 8}"
threads="${3:-1}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
shapes=(circle square triangle diamond)
colours=(red blue green yellow white)
places=("at the top left" "in the middle" "at the bottom right" "on the right")
echo "id,prompt,seed" > "$work/requests.csv"
prompts=()
for i in $(seq 0 19); do
    p="a ${colours[i % 5]} ${shapes[i % 4]} ${places[(i / 5) % 4]} on a black background"
    prompts+=("$p")
    echo "i$i,\"$p\",$i" >> "$work/requests.csv"
done
results="$work/results.tsv"
echo "# $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $threads thread(s), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'config\tround\timages\tseconds\twall\n'
for round in $(seq 1 "$rounds"); do
    for config in cli $(for b in $batches; do echo "spark-b$b"; done); do
        start=$(date +%s.%N)
        if [[ $config == cli ]]; then
            gen=0
            for i in $(seq 0 19); do
                t=$(./unclip generate "${prompts[i]}" --seed "$i" --threads "$threads" -o "$work/cli-$i.png" 2>&1 >/dev/null \
                    | sed -n 's/.*total \([0-9.]*\) s.*/\1/p')
                gen=$(awk -v a="$gen" -v b="$t" 'BEGIN { print a + b }')
            done
            seconds=$gen
            images=20
        else
            rm -rf "$work/out" "$work/$config"
            line=$(./unclip-spark generate --master 'local[2]' --threads "$threads" --batch "${config#spark-b}" --input "$work/requests.csv" \
                --output "$work/out" --images "$work/$config" 2>/dev/null)
            images=$(echo "$line" | sed -n 's/.*: \([0-9]*\) images.*/\1/p')
            seconds=$(echo "$line" | sed -n 's/.* in \([0-9.]*\) s.*/\1/p')
        fi
        wall=$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { print a - b }')
        printf '%s\t%s\t%s\t%.2f\t%.2f\n' "$config" "$round" "$images" "$seconds" "$wall" | tee -a "$results"
    done
    if [[ $round == 1 ]]; then
        for b in $batches; do
            echo "# batch $b: $("$JAVA_HOME/bin/java" benchmarks/compare/PngDiff.java "$work" "$work/spark-b$b" 20)"
        done
    fi
done
echo "# $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# images/min, median [min, max] over $rounds rounds: generation (cli: stage times summed; spark: the job), then wall"
/usr/bin/python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split('\t') for l in open(sys.argv[1]) if l.strip()]
by = {}
for config, _, images, seconds, wall in rows:
    by.setdefault(config, []).append((int(images) * 60 / float(seconds), int(images) * 60 / float(wall)))
for config, runs in by.items():
    gen, wall = [r[0] for r in runs], [r[1] for r in runs]
    print(f"{config:10s} {statistics.median(gen):6.1f} [{min(gen):5.1f}, {max(gen):5.1f}]   "
          f"wall {statistics.median(wall):6.1f} [{min(wall):5.1f}, {max(wall):5.1f}]")
PY
