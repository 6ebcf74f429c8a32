# tandem — build, test and run the lab. Everything a target needs comes
# from Debian's packages or the Go module proxy; `make deps` installs the
# Debian packages that are missing (as root).

GO          ?= go
BIN         := bin/tandem
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# What the tests use: stock keepalived (the interop peer, and genhash),
# tcpdump for captures, qemu + busybox + xz for the real-kernel IPVS tests.
DEBIAN_PKGS := keepalived tcpdump busybox-static qemu-system-x86 xz-utils iproute2 iputils-ping ipvsadm

.PHONY: all build test lint bench fuzz demo deps clean test-kernel

all: build

build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/tandem

deps:
	@missing=""; for p in $(DEBIAN_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: missing Debian packages:$$missing (run as root)"; exit 1; fi; \
		echo "make deps: installing$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

# The whole suite: unit tests, namespace-lab tests against stock keepalived,
# and the IPVS tests inside a qemu VM running Debian's kernel.
test: deps
	$(GO) test -count=1 -timeout 30m ./...

# Only the IPVS tests that run inside a qemu VM booting Debian's kernel
# (downloaded once into ~/.cache/tandem).
test-kernel: deps
	$(GO) test -count=1 -timeout 15m -v -run TestInVM ./lvs

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Benchmarks print their figures with go test's -bench output.
bench: deps
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 5x -timeout 60m ./...
	TANDEM_VM_RUN='^$$' TANDEM_VM_BENCH=Kernel $(GO) test -count=1 -v -run TestInVM ./lvs

fuzz:
	$(GO) test ./config -run '^$$' -fuzz FuzzParse -fuzztime 60s
	$(GO) test ./vrrp -run '^$$' -fuzz FuzzDecode -fuzztime 60s
	$(GO) test ./fsm -run '^$$' -fuzz FuzzApply -fuzztime 60s
	$(GO) test ./fsm -run '^$$' -fuzz FuzzRestore -fuzztime 30s

# Two tandem nodes and one stock keepalived node share a VIP in a
# namespace lab; the demo moves the VIP around and cleans up.
demo: deps build
	$(GO) run ./testing/demo -tandem $(BIN)

clean:
	rm -rf bin
