#!/bin/sh
# The GPU check, in two halves.
#
#   .ci/gpu-check.sh build [BUNDLE]      (make gpu-check; any machine with Go)
#       builds BUNDLE (default out/gpu-check, ~25 MB): gpucheck.test, the
#       codegen tests built with -tags gpu (the zoo's models, their seeds and
#       test vectors embedded; CGO_ENABLED=0: the driver is loaded with
#       purego at run time), and this script.
#   BUNDLE/gpu-check.sh run [BUNDLE] [OUTDIR]   (a machine with an NVIDIA
#       GPU of compute capability 8.0 or later and a CUDA 11.8+ driver; no
#       Go, no network)
#       runs TestGPU (codegen/gpu_test.go): every zoo model on cuda.Device(0)
#       against the reference evaluator's outputs (rtol 1e-3, f32), its time
#       per run at batch 1 and 32, and a 4096³ GEMM's TFLOP/s beside the
#       device's FP32 peak. Writes OUTDIR/gpu-check.json, gpu-check.log and
#       nvidia-smi.txt; exits non-zero if a model does not match. About a
#       minute; 5 at most.
#
# Record the result and the exact commands in docs/benchmarks.md.
set -eu
mode=${1:-}
case "$mode" in
build)
	bundle=${2:-out/gpu-check}
	mkdir -p "$bundle"
	CGO_ENABLED=0 ${GO:-go} test -c -tags gpu -o "$bundle/gpucheck.test" ./codegen/
	cp .ci/gpu-check.sh "$bundle/gpu-check.sh"
	du -sh "$bundle"
	;;
run)
	bundle=${2:-$(dirname "$0")}
	out=${3:-.}
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	if command -v nvidia-smi >/dev/null 2>&1; then
		nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || true
	fi
	cd "$bundle"
	status=0
	MODELC_GPU_RESULT="$out/gpu-check.json" ./gpucheck.test -test.run '^TestGPU$' -test.v -test.timeout 5m \
		>"$out/gpu-check.log" 2>&1 || status=$?
	tail -30 "$out/gpu-check.log"
	exit $status
	;;
*)
	echo "usage: .ci/gpu-check.sh build [BUNDLE] | gpu-check.sh run [BUNDLE] [OUTDIR]" >&2
	exit 2
	;;
esac
