# Convenience entry points; meson does the real work.
#   make demo    install dependencies, build, run everything on a simulated tenancy
#   make check   install dependencies, build twice (plain, ASan+UBSan), run every test suite
#   make soak    the long forms of the abuse tests (fuzzers)
#   make bench   discovery, the daemon's answers and the schedules against the fake OCI server:
#                a table, BUILD/bench/results.json and PNG plots (not part of check)
BUILD ?= build
BUILD_SAN ?= build-sanitize
SUITES ?=

.PHONY: all deps build check demo bench soak clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	meson setup --werror $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

check: deps
	scripts/check $(SUITES)

demo: build
	scripts/demo $(BUILD)

bench: build
	@scripts/install-deps --bench
	scripts/bench $(BUILD)

soak: build
	scripts/soak $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_SAN)
