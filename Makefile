# modelc — see README.md. `make demo` runs the main job on a bundled model,
# `make test` runs every test (what CI runs).

GO       ?= go
PYTHON   ?= /usr/bin/python3
FUZZTIME ?= 60s
BIN      := bin/modelc
# The runtime is a module of its own (runtime/go.mod), outside ./...
RUNTIME  := github.com/modelc/modelc/runtime

# Every fuzz target, as package:Target.
FUZZ_TARGETS := ./ir:FuzzParse ./frontend:FuzzLoad ./frontend:FuzzParseConfiguration \
	./frontend/tensorio:FuzzSafetensors ./frontend/tensorio:FuzzNpy ./frontend/tensorio:FuzzNpz \
	./frontend/onnx:FuzzReadONNX $(RUNTIME):FuzzWeightsFile ./codegen:FuzzHostileNames

.PHONY: all build tools mutants demo dispatch coldstart examples bench-go test vet fmt-check fuzz test-long bench onnxpb zoo-vectors zoo-onnx zoo-crosscheck peer-exports fixtures zoo-train zoo-drop-scores zoo-table clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/modelc

## demo: compile a trained accuracy twin (zoo/twins: digits) into a Go
## package and run the package's own test; score it on the 360 held-out
## digits through the generated package and the reference evaluator (top-1
## and time of one call), beside PyTorch's top-1; then time it beside ONNX
## Runtime when node and npm are there.
DEMO ?= resmlp-bn
TWIN := zoo/twins/$(DEMO)
demo: build
	@$(BIN) version
	$(BIN) build $(TWIN)/model.yaml -o out/demo/$(DEMO)
	$(GO) test -count=1 -run 'TestVectors|TestPredict' ./out/demo/$(DEMO)
	@echo "== $(DEMO) on the held-out digits (PyTorch's top-1: $$(grep -o '"test_top1": [0-9.]*' $(TWIN)/accuracy.json | cut -d' ' -f2))"
	$(BIN) run $(TWIN)/model.yaml --engine generated --input $(TWIN)/heldout_x.npy --labels $(TWIN)/heldout_labels.npy
	$(BIN) run $(TWIN)/model.yaml --engine reference --input $(TWIN)/heldout_x.npy --labels $(TWIN)/heldout_labels.npy
	@if command -v node >/dev/null && command -v npm >/dev/null; then \
	  echo "== $(DEMO) beside ONNX Runtime (its ONNX export)"; \
	  $(BIN) bench $(TWIN)/model.onnx --batch 1,32 --seconds 1 --rounds 1 --peers ort; \
	else echo "(node and npm not found: no ONNX Runtime comparison)"; fi

## examples: an app module (out/examples/app, not committed) that imports a
## generated resnet20 package, built and run; its go.mod requires only the
## runtime's module (replaced by this checkout's runtime/).
examples: build
	rm -rf out/examples/app && mkdir -p out/examples/app
	$(BIN) zoo build resnet20 -o out/examples/app/resnet20
	sed '/^\/\/go:build ignore/d' examples/app/main.go > out/examples/app/main.go
	printf 'module example.com/app\n\ngo 1.22\n\nrequire $(RUNTIME) v0.0.0\n\nreplace $(RUNTIME) => ../../../runtime\n' > out/examples/app/go.mod
	cd out/examples/app && GOFLAGS=-mod=mod $(GO) run .

## test: vet, format check and every Go test (fuzz targets run their seed corpus);
## the worker pool and the pipeline again under the race detector; the
## dispatch matrix (each GODEBUG tier and -tags purego, .ci/dispatch.sh).
test: tools vet fmt-check build
	$(GO) test -count=1 -timeout 30m ./... $(RUNTIME)/...
	$(GO) test -count=1 -race -timeout 30m $(RUNTIME) ./passes/
	GO=$(GO) .ci/dispatch.sh $(BIN)

## mutants: mutation testing of the arm64 kernels (.ci/mutants-arm64.sh):
## each mutant of a kernel generator must fail the arm64 suites (~30 min).
mutants: tools
	GO=$(GO) .ci/mutants-arm64.sh

## tools: install what the tests need beyond Go where this machine allows
## (qemu-user-static, binutils-aarch64-linux-gnu; .ci/tools.sh).
tools:
	@.ci/tools.sh

## dispatch: only the dispatch matrix.
dispatch: build
	GO=$(GO) .ci/dispatch.sh $(BIN)

vet:
	$(GO) vet ./... $(RUNTIME)/...

fmt-check:
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$bad" ]; then echo "gofmt would change: $$bad"; exit 1; fi

## fuzz: run each fuzz target for FUZZTIME (default 60s).
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; dir=.; \
		case $$pkg in $(RUNTIME)*) dir=runtime; pkg=.$${pkg#$(RUNTIME)};; esac; \
		echo "== $$name ($$pkg in $$dir, $(FUZZTIME))"; \
		(cd $$dir && $(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=200x $$pkg) || exit 1; done

## test-long: the tests plus the ONNX whole-model tests, the numerics'
## approximations (erf, GELU, exp) on every float32, every fuzz target for
## 30s and the race detector (two generated models on 8 goroutines each
## for 10 s).
test-long: test
	MODELC_ONNX_LONG=1 $(GO) test -count=1 -run 'TestNodeTests' ./frontend/onnx/
	MODELC_EXHAUSTIVE=1 $(GO) test -count=1 -timeout 60m -run 'Samples' $(RUNTIME)/numerics
	MODELC_LONG=1 $(GO) test -count=1 -timeout 60m -run 'TestARM64Packages' ./codegen/
	$(MAKE) mutants
	$(GO) test -count=1 -race ./ir/... ./frontend/... ./cmd/...
	MODELC_RACE_SECONDS=10 $(GO) test -count=1 -run TestTwoModelsConcurrently ./codegen/
	$(MAKE) fuzz FUZZTIME=30s

## bench: every zoo model at batch 1 and 32, 1 and 2 threads, beside PyTorch
## and ONNX Runtime in the same run; batch 1 again with the last-level cache
## flushed; sgemm beside OpenBLAS and gonum; into docs/benchmarks.md
## (about 25 min; needs python3-torch, python3-onnx, nodejs and npm).
BENCH_MODELS ?= mlp resnet20 vit-tiny gpt-mini
BENCH_ONNX   ?= resmlp resnet-bn transformer
# model:passes run again with default passes excluded, beside ONNX Runtime
# (which folds BatchNorm into convolutions by default, as modelc does).
BENCH_EXCLUDE ?= resnet20:bn-fold
bench: build
	@mkdir -p docs out
	@{ echo "# Benchmarks"; echo; \
	  echo "Generated by \`make bench\` on $$(date -u +%Y-%m-%d): $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'),"; \
	  echo "$$(nproc) cores, $$($(GO) version | cut -d' ' -f3). Each table is one invocation of \`modelc bench\`,"; \
	  echo "whose command line precedes it: the engines run interleaved, round by round, so the ratios"; \
	  echo "are from one run. A run during which other processes used more than 15% of a core is"; \
	  echo "repeated (up to twice; the table says so). Absolute times drift between runs and machines;"; \
	  echo "compare ratios."; echo; \
	  echo "## Zoo models, warm caches"; echo; \
	  for m in $(BENCH_MODELS); do \
	    echo "\`modelc bench zoo:$$m --batch 1,32 --threads 1,2 --peers torch,ort\`"; echo; \
	    $(BIN) bench zoo:$$m --batch 1,32 --threads 1,2 --peers torch,ort || exit 1; echo; done; \
	  echo "## Zoo models without default passes"; echo; \
	  echo "modelc and ONNX Runtime both fold BatchNorm by default; these runs turn modelc's folding off."; echo; \
	  for mp in $(BENCH_EXCLUDE); do m=$${mp%%:*}; p=$${mp#*:}; \
	    echo "\`modelc bench zoo:$$m --exclude-passes $$p --batch 1,32 --threads 1,2 --peers ort\`"; echo; \
	    $(BIN) bench zoo:$$m --exclude-passes $$p --batch 1,32 --threads 1,2 --peers ort || exit 1; echo; done; \
	  echo "## Zoo models at batch 1, last-level cache flushed"; echo; \
	  echo "64 MiB are streamed through the cache before every timed call, so weights come from memory."; echo; \
	  for m in $(BENCH_MODELS); do \
	    echo "\`modelc bench zoo:$$m --batch 1 --threads 1 --flush --peers torch,ort\`"; echo; \
	    $(BIN) bench zoo:$$m --batch 1 --threads 1 --flush --peers torch,ort || exit 1; echo; done; \
	  echo "## sgemm"; echo; \
	  for args in "--m 256,512,1024 --n 256,512,1024 --k 256,512,1024 --layout nn" \
	              "--m 1,32,128 --n 3072 --k 768 --layout nn,nt"; do \
	    echo "\`modelc bench --op gemm $$args --threads 1,2 --peers openblas,gonum\`"; echo; \
	    $(BIN) bench --op gemm $$args --threads 1,2 --peers openblas,gonum || exit 1; echo; done; \
	  echo "## Per-layer roofline (modelc)"; echo; \
	  echo "Each step of the generated package timed on its own (\`--layers\`), with its GFLOP/s and its fraction of the"; \
	  echo "roofline min(peak, bandwidth × FLOP/byte) from the peak and read bandwidth measured in the same run."; \
	  echo "docs/performance.md explains the steps under 60%."; echo; \
	  for m in $(BENCH_MODELS); do \
	    echo "\`modelc bench zoo:$$m --batch 1,32 --threads 1 --rounds 1 --seconds 1 --layers\`"; echo; \
	    $(BIN) bench zoo:$$m --batch 1,32 --threads 1 --rounds 1 --seconds 1 --layers || exit 1; echo; done; \
	  echo "## Cold start and build time"; echo; \
	  echo "\`make coldstart\`: a program that loads the generated resnet20 and classifies one image, process start"; \
	  echo "to exit, timed by hyperfine; then \`modelc zoo build\` of each zoo model (no \`go build\`)."; echo; \
	  $(MAKE) --no-print-directory coldstart > out/coldstart.log 2>&1 || { cat out/coldstart.log; exit 1; }; \
	  cat out/coldstart/hyperfine.md; echo; grep '^modelc zoo build' out/coldstart.log | sed 's/^/- /'; echo; \
	  : "--- ONNX exports (zoo/onnx, issue 5): ONNX Runtime runs the same .onnx file modelc compiles ---"; \
	  echo "## ONNX exports"; echo; \
	  echo "The PyTorch exports of zoo/onnx (make zoo-onnx), compiled by modelc from the .onnx file;"; \
	  echo "ONNX Runtime runs the same file."; echo; \
	  for m in $(BENCH_ONNX); do \
	    echo "\`modelc bench zoo/onnx/$$m/model.onnx --batch 1,32 --threads 1,2 --peers ort\`"; echo; \
	    $(BIN) bench zoo/onnx/$$m/model.onnx --batch 1,32 --threads 1,2 --peers ort || exit 1; echo; done; \
	  : "--- end of the ONNX exports ---"; \
	} > out/benchmarks.md && mv out/benchmarks.md docs/benchmarks.md
	@echo "wrote docs/benchmarks.md"

## coldstart: a program that loads a generated resnet20 and classifies one
## image, timed from process start to exit with hyperfine (Debian's
## hyperfine), and the time modelc build takes for each zoo model.
coldstart: build
	rm -rf out/coldstart && mkdir -p out/coldstart
	$(BIN) zoo build resnet20 -o out/coldstart/resnet20 >/dev/null
	sed '/^\/\/go:build ignore/d' examples/coldstart/main.go > out/coldstart/main.go
	printf 'module example.com/coldstart\n\ngo 1.22\n\nrequire $(RUNTIME) v0.0.0\n\nreplace $(RUNTIME) => ../../runtime\n' > out/coldstart/go.mod
	cd out/coldstart && GOFLAGS=-mod=mod $(GO) build -o coldstart . && ./coldstart
	@command -v hyperfine >/dev/null || { echo "coldstart needs hyperfine: apt-get install hyperfine"; exit 1; }
	hyperfine -N --warmup 5 --runs 100 --export-markdown out/coldstart/hyperfine.md out/coldstart/coldstart
	@for m in mlp resnet20 vit-tiny gpt-mini; do \
	  s=$$(date +%s%N); $(BIN) zoo build $$m -o out/coldstart/build-$$m >/dev/null || exit 1; e=$$(date +%s%N); \
	  echo "modelc zoo build $$m: $$(( (e - s) / 1000000 )) ms"; done

## bench-go: the Go benchmarks of the evaluator and the GEMM kernels.
bench-go:
	$(GO) test -run='^$$' -bench=. -benchtime=2s ./ir/ ./codegen/gemm/

## onnxpb: regenerate the ONNX protobuf types (needs protoc and
## protoc-gen-go v1.36.12: apt-get install protobuf-compiler;
## go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12).
onnxpb:
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" $(GO) generate ./frontend/onnx/onnxpb

## zoo-vectors: regenerate the zoo's test vectors with the reference evaluator.
zoo-vectors:
	$(GO) test -count=1 ./zoo -run TestVectors -update

## zoo-onnx: re-export the zoo's ONNX models (zoo/onnx/NAME/model.onnx, x.npy,
## logits.npy) with PyTorch; zoo/onnx_test.go checks modelc against them
## (needs Debian's python3-torch and python3-onnx).
zoo-onnx:
	$(PYTHON) zoo/onnx/export.py --out zoo/onnx

## peer-exports: the peers' four architectures exported by PyTorch with
## fixed shapes at batch 1 and 32 (bench/peers/export_onnx_fixed.py, about
## 190 MB in out/peer-exports), each compiled by modelc and checked, through
## the evaluator and the generated package, against PyTorch's outputs
## (zoo/peers_onnx_test.go; needs Debian's python3-torch and python3-onnx).
peer-exports:
	rm -rf out/peer-exports && mkdir -p out/peer-exports
	cd bench/peers && $(PYTHON) export_onnx_fixed.py --dir ../../out/peer-exports
	MODELC_PEER_EXPORTS=$(CURDIR)/out/peer-exports $(GO) test -count=1 -timeout 30m -run TestPeerExports -v ./zoo/

## zoo-crosscheck: the zoo's seeded weights in PyTorch (bench/peers/models.py)
## give the evaluator's outputs (needs Debian's python3-torch).
zoo-crosscheck: build
	rm -rf out/crosscheck
	@for m in mlp resnet20 vit-tiny gpt-mini; do $(BIN) zoo export $$m -o out/crosscheck/$$m || exit 1; done
	$(PYTHON) zoo/crosscheck.py --dir out/crosscheck

## fixtures: regenerate the evaluator's PyTorch op fixtures (ir/testdata/torch).
fixtures:
	$(PYTHON) ir/testdata/torch/gen.py

clean:
	rm -rf bin out

## zoo-train: retrain the accuracy twins (zoo/twins/NAME: weights, ONNX export,
## held-out data with PyTorch's logits, calibration data, accuracy.json) on
## scikit-learn's digits, 1 thread, fixed seeds (needs Debian's python3-torch,
## python3-sklearn and python3-onnx; about 4 minutes). model.yaml is not touched.
zoo-train:
	$(PYTHON) zoo/train/train.py --out zoo/twins

## zoo-drop-scores: zoo/twins/vit/drop_scores.json, LLM-Drop's layer-dropping
## scores of the vit twin computed with PyTorch hooks (zoo/train/llmdrop_scores.py),
## which attention-drop's tests compare with (needs Debian's python3-torch).
zoo-drop-scores:
	$(PYTHON) zoo/train/llmdrop_scores.py --twin zoo/twins/vit

## zoo-table: docs/zoo-table.md, twin × pass configuration → top-1, parameters,
## and the zoo architecture's latency at batch 1 and 32 (modelc bench).
zoo-table: build
	@mkdir -p docs out
	$(GO) run ./cmd/zootable --modelc $(BIN) --out docs/zoo-table.md --seconds 3
