#!/usr/bin/env bash
# unclip4j against PyTorch on this machine's CPU, side by side, in one run (issue 19): the machine's
# limits, the built-in model end to end, Karlo's networks one step each, and their kernels, at 1 and
# 2 threads; writes benchmarks/results/cpu-<date>.md and .json (cpu-<date>-<HHMM> for a second run
# that day). What is measured and how: benchmarks/compare/cpu_compare.py (its docstring) and the
# README's Benchmarks section.
#
#   benchmarks/compare/cpu.sh [--smoke] [--repeats N] [--big-repeats N] [--threads 1,2]
#                             [--parts peak,e2e,networks,kernels] [--dir CACHE] [--out FILE.md]
#
# --smoke checks the harness in a minute or two (tiny shapes, 1 round, 1 thread, a temporary
# folder) and exits non-zero on any failure; the full run takes about 35 minutes on 2 cores.
# Needs: gcc with OpenMP, a JDK (tools/jdk.sh finds it), /usr/bin/python3; for the PyTorch side
# Debian's python3-torch and diffusers v0.20.0's source under third_party/src (training/README.md).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
source tools/jdk.sh
unclip_find_jdk >/dev/null
export JAVA_HOME
# Built every time (incremental: seconds when nothing changed), so that the jar and its native
# library are the checkout's and the results file's commit says what was measured.
echo "cpu.sh: building benchmarks/target/benchmarks.jar (CPU only)" >&2
./mvnw -B -q -Dunclip.cuda=OFF -DskipTests package >&2
# The driver is plain Python (stdlib); the torch side is started by it as /usr/bin/python3 too,
# Debian's interpreter, which is the one that sees python3-torch.
exec /usr/bin/python3 benchmarks/compare/cpu_compare.py --command "benchmarks/compare/cpu.sh $*" "$@"
