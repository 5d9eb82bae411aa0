# kvmgen: see README.md. Fixtures live in $(KVMGEN_CACHE) (default ~/.cache/kvmgen).
SHELL := /bin/bash
GO ?= go
export KVMGEN_CACHE ?= $(HOME)/.cache/kvmgen
VMLINUX := $(KVMGEN_CACHE)/linux-amd64/vmlinux
DUMPS := $(KVMGEN_CACHE)/linux-amd64/dumps

.PHONY: all build deps test unit vet lint fmt-check fixtures amd64-dumps kernel trixie-kernel cross freebsd cross-kernels demo bench generate clean-fixtures

all: build

build:
	$(GO) build ./...
	$(GO) build -o bin/kvmgen ./cmd/kvmgen

## deps: the Debian packages building, testing and the fixtures need (root; idempotent).
deps:
	bash scripts/install-deps.sh

## test: everything CI checks: formatting, vet, and every test over the real
## fixtures (built or downloaded once by `make fixtures`, then cached).
test: fixtures unit

## unit: the tests alone; those whose fixtures are missing skip (unless
## KVMGEN_REQUIRE_FIXTURES=1, as in CI).
unit: fmt-check vet lint
	$(GO) test -count=1 -timeout 40m ./...
	$(GO) test -count=1 -race -timeout 20m ./runtime/...

vet:
	$(GO) vet ./...

## lint: staticcheck, a pinned version through the Go module proxy.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	$(GO) run $(STATICCHECK) ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## fixtures: real kernel, QEMU dumps, cross-built programs and their cores (cached).
fixtures: deps kernel cross freebsd cross-kernels amd64-dumps trixie-kernel

# amd64-dumps: the Debian cloud amd64 kernels booted under QEMU and dumped (and the guests' own view).
amd64-dumps:
	bash scripts/fixtures.sh

# cross-kernels: Debian arm64 and i386 kernels and two QEMU dumps of each (runtime translation tests).
cross-kernels:
	bash runtime/testdata/kernel-fixture.sh arm64
	bash runtime/testdata/kernel-fixture.sh i386

kernel:
	bash scripts/fixtures.sh kernel

# trixie-kernel: Debian trixie's current 6.12 cloud amd64 kernel (DWARF + BTF), booted under QEMU
# and dumped like the 6.1 ones (linux-amd64-6.12/): the third kernel of the one-binary and maps tests;
# and bookworm's current 6.1 build, whatever it is today (linux-amd64-current/).
trixie-kernel:
	bash scripts/fixtures.sh trixie
	bash scripts/fixtures.sh current

cross:
	bash scripts/build-cross.sh

freebsd:
	bash scripts/freebsd-fixtures.sh

## demo: the main job on a real Debian kernel: fetch it, generate bindings,
## and use them on a dump of that kernel booted under QEMU.
demo: deps build amd64-dumps
	@echo "== kvmgen info and ps on the QEMU dump, with no vmlinux: the dump's kallsyms and BTF"
	KVMGEN_KERNEL= ./bin/kvmgen info -core $(DUMPS)/paging.vmcore
	KVMGEN_KERNEL= ./bin/kvmgen ps -core $(DUMPS)/paging.vmcore
	@echo "== kvmgen gen from the dump's BTF"
	KVMGEN_KERNEL= ./bin/kvmgen gen -core $(DUMPS)/paging.vmcore -pkg demo -type task_struct,mm_struct,list_head -var init_task -o /tmp/kvmgen-demo-btf.go
	@head -1 /tmp/kvmgen-demo-btf.go
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
