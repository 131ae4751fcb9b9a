#!/usr/bin/env bash
# The built-in model end to end on the CPU, side by side: seconds per image of unclip4j
# (dev.unclip4j.bench.PipelineTime) and of diffusers' UnCLIPPipeline (training/generate_reference.py
# time), the same prompt, seeds and defaults (25 prior / 25 decoder / 7 super-resolution steps,
# guidance 4 / 8), at 1 and 2 threads, back to back in one run. torch runs on Debian's OpenBLAS
# (extracted into third_party/openblas as training/README.md says; not the reference BLAS the
# fixtures use), OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = threads on both sides.
#
#   benchmarks/compare/pipeline_cpu.sh [repeats=5]     (after ./test or ./test -DskipTests)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
source tools/jdk.sh
unclip_find_jdk
repeats="${1:-5}"
openblas="$root/third_party/openblas/root/usr/lib/x86_64-linux-gnu/openblas-pthread"
if [[ ! -e "$openblas/libblas.so.3" ]]; then
    tmp="$(mktemp -d)"
    (cd "$tmp" && apt-get download libopenblas0-pthread >/dev/null 2>&1)
    mkdir -p third_party/openblas/root
    dpkg -x "$tmp"/libopenblas0-pthread_*.deb third_party/openblas/root
    rm -rf "$tmp"
fi
echo "# $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD), $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for threads in 1 2; do
    OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
        -cp benchmarks/target/benchmarks.jar dev.unclip4j.bench.PipelineTime models/unclip-shapes-tiny "$repeats" 1
    (cd training && OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads LD_LIBRARY_PATH="$openblas" \
        /usr/bin/python3 generate_reference.py time --threads "$threads" --repeats "$repeats" 2>/dev/null | tail -1 \
        | sed 's/^/diffusers: /')
done
