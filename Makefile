# modelc — see README.md. `make demo` runs the main job on a bundled model,
# `make test` runs every test (what CI runs).

GO       ?= go
PYTHON   ?= /usr/bin/python3
FUZZTIME ?= 60s
BIN      := bin/modelc

# Every fuzz target, as package:Target.
FUZZ_TARGETS := ./ir:FuzzParse ./frontend:FuzzLoad \
	./frontend/tensorio:FuzzSafetensors ./frontend/tensorio:FuzzNpy ./frontend/tensorio:FuzzNpz

.PHONY: all build demo examples test vet fmt-check fuzz test-long bench zoo-vectors zoo-crosscheck fixtures clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/modelc

## demo: compile a zoo model into a Go package, run the package's own test
## on its vectors, and run the reference engine on the same vectors.
DEMO ?= resnet20
demo: build
	$(BIN) zoo list
	$(BIN) zoo build $(DEMO) -o out/demo/$(DEMO)
	$(GO) test -count=1 -v -run 'TestVectors|TestPredict' ./out/demo/$(DEMO)
	$(BIN) run zoo:$(DEMO) --engine reference

## examples: an app module (out/examples/app, not committed) that imports a
## generated resnet20 package through a replace directive, built and run.
examples: build
	rm -rf out/examples/app && mkdir -p out/examples/app
	$(BIN) zoo build resnet20 -o out/examples/app/resnet20
	sed '/^\/\/go:build ignore/d' examples/app/main.go > out/examples/app/main.go
	printf 'module example.com/app\n\ngo 1.22\n\nrequire github.com/modelc/modelc v0.0.0\n\nreplace github.com/modelc/modelc => ../../..\n' > out/examples/app/go.mod
	cd out/examples/app && GOFLAGS=-mod=mod $(GO) run .

## test: vet, format check and every Go test (fuzz targets run their seed corpus).
test: vet fmt-check
	$(GO) test -count=1 ./...

vet:
	$(GO) vet ./...

fmt-check:
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$bad" ]; then echo "gofmt would change: $$bad"; exit 1; fi

## fuzz: run each fuzz target for FUZZTIME (default 60s).
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=200x $$pkg || exit 1; done

## test-long: the tests plus every fuzz target for 30s and the race detector.
test-long: test
	$(GO) test -count=1 -race ./ir/... ./frontend/... ./cmd/...
	$(MAKE) fuzz FUZZTIME=30s

## bench: the evaluator's benchmarks.
bench:
	$(GO) test -run='^$$' -bench=. -benchtime=2s ./ir/

## zoo-vectors: regenerate the zoo's test vectors with the reference evaluator.
zoo-vectors:
	$(GO) test -count=1 ./zoo -run TestVectors -update

## zoo-crosscheck: the zoo's seeded weights in PyTorch (../shared/peers/models.py)
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
