#!/usr/bin/env bash
# Builds bundle/unclip4j-gpu/: a folder that runs the gpu-tagged tests, the benchmarks and the
# command line on a Linux x86-64 machine with an NVIDIA driver but no JDK, no Maven and no
# network. Copy the folder there (it stays under 60 MB) and run ./run (see its --help).
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
source "$root/tools/jdk.sh"
unclip_find_jdk
cd "$root"

junit_platform=1.14.1   # the JUnit Platform of junit-bom ${junit.version} (pom.xml)
out="$root/bundle/unclip4j-gpu"

./mvnw -B -q -DskipTests package
rm -rf "$out"
mkdir -p "$out/jars/lib"
cp java/target/unclip4j.jar java/target/unclip4j-tests.jar "$out/jars/"
cp java/target/lib/*.jar "$out/jars/lib/"
cp benchmarks/target/benchmarks.jar "$out/jars/"
mkdir -p "$out/compare" && cp benchmarks/compare/*.py "$out/compare/"
./mvnw -B -q dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$junit_platform" \
  -DoutputDirectory="$out/jars"
if ! unzip -l bindings/target/unclip4j-bindings-*.jar | grep -q 'native/linux-x86_64/libunclip_cuda.so'; then
  echo "warning: this build has no libunclip_cuda.so (no nvcc found): the bundle will run on the CPU only" >&2
fi

# A runtime of just the modules the tests and benchmarks use (java.base, java.logging for JUnit,
# java.management and jdk.unsupported for JMH, jdk.zipfs for scanning the test jar); libjvm's
# symbols stripped to stay small. java.desktop (javax.imageio, for commands that read or write image
# files) is left out: it alone would take the folder past 60 MB.
jlink --add-modules java.base,java.logging,java.management,jdk.unsupported,jdk.zipfs \
  --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output "$out/runtime"
strip --strip-unneeded "$out/runtime/lib/server/libjvm.so" 2>/dev/null || true

cat > "$out/run" <<'RUN'
#!/usr/bin/env bash
# unclip4j GPU bundle. Usage:
#   ./run tests [JUnit console options]   the gpu-tagged tests (CUDA against CPU); add e.g. --include-tag=gpu,cpu
#   ./run bench [JMH options]              the JMH benchmarks, e.g. ./run bench LinearBench -p backend=cuda
#   ./run unclip [args]                    the unclip command line, e.g. ./run unclip info
#                                          (not the commands that read or write images: no javax.imageio here)
#   ./run session PART OUT                 one part of a GPU session, each under 10 minutes, results in OUT:
#                                          tests | transformer | conv | anchors | torch (see the case below)
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
java=("$here/runtime/bin/java" --enable-native-access=ALL-UNNAMED)
cp="$here/jars/unclip4j.jar$(printf ':%s' "$here"/jars/lib/*.jar)"  # explicit: JUnit does not expand lib/*
what="${1:-}"; shift || true
case "$what" in
  tests)
    exec "${java[@]}" -jar "$here"/jars/junit-platform-console-standalone-*.jar execute \
      --class-path "$here/jars/unclip4j-tests.jar:$cp" --scan-class-path "$here/jars/unclip4j-tests.jar" \
      --include-tag=gpu --fail-if-no-tests --details=tree --disable-banner "$@" ;;
  bench)
    # The cuDNN/cuBLASLt anchors (CudnnConvBench, CublasLtLinearBench) load NVIDIA's libraries
    # through JavaCPP; where they come from pip wheels (nvidia-cudnn-cu13, nvidia-cublas,
    # nvidia-cuda-runtime, as torch installs them), put every nvidia/*/lib folder on the path.
    # No python3 or no nvidia package: nothing is added (the anchors then say what is missing).
    nvidia_libs="$(python3 -c 'import nvidia, os; print(":".join(sorted({os.path.join(p, d, "lib") for p in nvidia.__path__ for d in os.listdir(p) if os.path.isdir(os.path.join(p, d, "lib"))})))' 2>/dev/null || true)"
    if [ -n "$nvidia_libs" ]; then export LD_LIBRARY_PATH="$nvidia_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
    exec "${java[@]}" -jar "$here/jars/benchmarks.jar" -jvm "$here/runtime/bin/java" "$@" ;;
  unclip)
    exec "${java[@]}" -cp "$cp" dev.unclip4j.cli.Main "$@" ;;
  session)
    # A GPU session in five calls (the device tool allows 10 minutes a call): the CUDA-vs-CPU tests,
    # then our kernels (two families), NVIDIA's through JavaCPP, and PyTorch's at the same shapes, in the same
    # session so that the ratios compare like with like. Short JMH runs (1 warmup + 3 measured
    # half-second iterations): enough for ratios of 10 % and more, not for finer claims.
    part="${1:?session part: tests, transformer, conv, anchors or torch}"; dir="${2:?output folder}"
    mkdir -p "$dir"
    jmh=(-f 1 -wi 1 -i 3 -w 500ms -r 500ms -p dtype=F32,F16,BF16 -rf json)
    case "$part" in
      tests) "$0" tests 2>&1 | tee "$dir/tests.txt" ;;  # (no XML reports: the runtime has no java.xml)
      transformer) "$0" bench 'AttentionBench|\.LinearBench|TransformerOpsBench' -p backend=cuda "${jmh[@]}" \
                     -rff "$dir/transformer.json" 2>&1 | tail -n 80 | tee "$dir/transformer.txt" ;;
      conv) "$0" bench '\.ConvBench|GroupNormBench|ResBlockBench' -p backend=cuda "${jmh[@]}" \
              -rff "$dir/conv.json" 2>&1 | tail -n 80 | tee "$dir/conv.txt" ;;
      anchors) "$0" bench 'CudnnConvBench|CublasLtLinearBench' "${jmh[@]}" -rff "$dir/anchors.json" 2>&1 |
                 tail -n 80 | tee "$dir/anchors.txt" ;;
      torch)
        for dt in bf16 fp16; do
          python3 "$here/compare/attention_sdpa.py" --dtype "$dt" 2>&1 | tee "$dir/attention_sdpa_$dt.txt"
        done
        for dt in bf16 f16; do
          python3 "$here/compare/conv_stack_torch.py" --dtype "$dt" 2>&1 | tee "$dir/conv_stack_torch_$dt.txt"
        done ;;
      *) echo "unknown session part: $part" >&2; exit 2 ;;
    esac ;;
  *)
    sed -n '2,8p' "$0"; exit 2 ;;
esac
RUN
chmod +x "$out/run"
size=$(du -sm "$out" | cut -f1)
echo "bundle: $out (${size} MB)"
if [ "$size" -ge 60 ]; then echo "error: the bundle is ${size} MB, over its 60 MB budget" >&2; exit 1; fi
