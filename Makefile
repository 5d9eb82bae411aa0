# kvmgen: see README.md. Fixtures live in $(KVMGEN_CACHE) (default ~/.cache/kvmgen).
SHELL := /bin/bash
GO ?= go
export KVMGEN_CACHE ?= $(HOME)/.cache/kvmgen
VMLINUX := $(KVMGEN_CACHE)/linux-amd64/vmlinux
DUMPS := $(KVMGEN_CACHE)/linux-amd64/dumps

.PHONY: all build test vet fmt-check fixtures kernel cross freebsd cross-kernels demo bench generate clean-fixtures

all: build

build:
	$(GO) build ./...
	$(GO) build -o bin/kvmgen ./cmd/kvmgen

## test: everything CI checks (formatting, vet, unit, truth, kernel and dump tests).
test: fmt-check vet
	$(GO) test -count=1 -timeout 40m ./...
	$(GO) test -count=1 -race -timeout 20m ./runtime/...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## fixtures: real kernel, QEMU dumps, cross-built programs and their cores (cached).
fixtures: kernel cross freebsd cross-kernels
	bash scripts/fixtures.sh

# cross-kernels: Debian arm64 and i386 kernels and two QEMU dumps of each (runtime translation tests).
cross-kernels:
	bash runtime/testdata/kernel-fixture.sh arm64
	bash runtime/testdata/kernel-fixture.sh i386

kernel:
	bash scripts/fixtures.sh kernel

cross:
	bash scripts/build-cross.sh

freebsd:
	@if [ -x scripts/freebsd-fixtures.sh ] || [ -f scripts/freebsd-fixtures.sh ]; then bash scripts/freebsd-fixtures.sh; fi

## demo: the main job on a real Debian kernel: fetch it, generate bindings,
## and use them on a dump of that kernel booted under QEMU.
demo: build fixtures
	@echo "== kvmgen layout: struct uts_namespace, from the DWARF of $(VMLINUX)"
	./bin/kvmgen layout -kernel $(VMLINUX) uts_namespace
	@echo "== kvmgen gen: bindings for task_struct and friends"
	./bin/kvmgen gen -kernel $(VMLINUX) -pkg demo -type task_struct,mm_struct,list_head -var init_task -o /tmp/kvmgen-demo.go
	@head -5 /tmp/kvmgen-demo.go; wc -l /tmp/kvmgen-demo.go
	@echo "== kvmgen info on the QEMU dump"
	./bin/kvmgen info -kernel $(VMLINUX) -core $(DUMPS)/elf.vmcore
	@echo "== lsproc: the guest's tasks, read through the generated bindings"
	$(GO) run ./examples/lsproc -kernel $(VMLINUX) -core $(DUMPS)/elf.vmcore

## bench: the benchmarks behind docs/BENCHMARKS.md.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./dwarfmodel ./gen ./runtime/... | tee /tmp/kvmgen-bench.txt

generate:
	KVMGEN_KERNEL=$(VMLINUX) $(GO) generate ./examples/...

clean-fixtures:
	rm -rf $(KVMGEN_CACHE)
