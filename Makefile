# ffwd -- convenience front end over CMake/CTest.
#
#   make            install missing Debian packages, build ffwd (build/)
#   make demo       ... and run the end-to-end demo on the built-in guest
#   make test       ... and run every test twice: plain build and ASan+UBSan build
#   make install PREFIX=/opt/ffwd   install (bin/ffwd, lib/ffwd, share/ffwd, man pages, completion)
#   make bench      boot/guest-speed figures (ratios against same-run baselines)
#   make gem5-check GEM5=/path/to/gem5.opt   restore-in-gem5 check (skips loudly without GEM5)
#
# Variables: BUILD (build dir), ASAN_BUILD, JOBS.

BUILD      ?= build
BENCH_SIZES    ?= 256M,1G,4G,8G
BENCH_PERCENTS ?= 10,90
BENCH_SMPS     ?= 1,2,4,8
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 10
FUZZ_RUNS ?= -1
FUZZ_MAX_LEN ?= 0
JOBS       ?= $(shell nproc)

PREFIX     ?= /usr/local

.PHONY: install all deps build build-asan build-fuzz demo test test-plain test-asan test-fuzz fuzz-long gem5-check bench clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DFFWD_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

demo: build
	@./$(BUILD)/ffwd demo $(DEMO_ARGS)

test-plain: build
	@cd $(BUILD) && ctest -LE '^slow$$' --output-on-failure

test-asan: build-asan
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest -LE '^(slow|plain-only)$$' --output-on-failure

# the cases too long for every run (8 busy CPUs on O3 in gem5): GEM5=path make test-slow
test-slow: build
	@cd $(BUILD) && ctest -L '^slow$$' --output-on-failure

# libFuzzer targets (clang + ASan + UBSan), each for FUZZ_SECONDS; make fuzz-long for the long run
build-fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DFFWD_SANITIZE=ON -DFFWD_FUZZ=ON \
		-DFFWD_INTEGRATION=OFF -DFFWD_FUZZ_SECONDS=$(FUZZ_SECONDS) -DFFWD_FUZZ_RUNS=$(FUZZ_RUNS) -DFFWD_FUZZ_MAX_LEN=$(FUZZ_MAX_LEN) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,migstream ini delta bbv simpoints positions trace estimate qmp landing manifest)

test-fuzz: build-fuzz
	@cd $(FUZZ_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest -L fuzz --output-on-failure

# the long run: 10 M executions per target (at most 2 h each), inputs capped at 16 KiB
fuzz-long:
	@$(MAKE) test-fuzz FUZZ_SECONDS=$${FUZZ_LONG_SECONDS:-7200} FUZZ_RUNS=$${FUZZ_LONG_RUNS:-10000000} FUZZ_MAX_LEN=16384

test: test-plain test-asan test-fuzz

bench: build
	@./$(BUILD)/bench_boot ./$(BUILD)/ffwd ./$(BUILD)/plugins/libffwd-icount.so 3
	@./$(BUILD)/bench_capture ./$(BUILD)/ffwd $(BENCH_SIZES) $(BENCH_PERCENTS) $(BENCH_SMPS)
	@./$(BUILD)/bench_convert ./$(BUILD)/ffwd 1G,4G 50
	@if [ -z "$$QEMU_CONTRIB_PLUGINS" ]; then \
		bash scripts/qemu-contrib-plugins.sh $(BUILD)/qemu-contrib >/dev/null || \
		echo "bench: QEMU's contrib plugins could not be built from Debian's source package: their rows are SKIPPED"; \
	fi
	@c=$${QEMU_CONTRIB_PLUGINS:-$$( [ -f $(BUILD)/qemu-contrib/libbbv.so ] && cd $(BUILD)/qemu-contrib && pwd )}; \
	QEMU_CONTRIB_PLUGINS=$$c ./$(BUILD)/bench_sample ./$(BUILD)/ffwd ./$(BUILD)/plugins 5 1000,10000,100000 && \
	QEMU_CONTRIB_PLUGINS=$$c ./$(BUILD)/bench_trace ./$(BUILD)/ffwd ./$(BUILD)/plugins 3
	@./$(BUILD)/bench_flow ./$(BUILD)/ffwd ./$(BUILD)/plugins 3
	@./$(BUILD)/bench_runner ./$(BUILD)/ffwd . 1000
	@./$(BUILD)/bench_study ./$(BUILD)/ffwd debian

gem5-check: build
	@if [ -z "$(GEM5)" ]; then \
		echo "gem5-check: SKIPPED -- GEM5 is not set (make gem5-check GEM5=/path/to/gem5.opt)."; \
		echo "gem5-check: SKIPPED -- nothing was restored in gem5; this is not a pass."; \
	else \
		cd $(BUILD) && GEM5="$(abspath $(GEM5))" ctest -L '^gem5' --output-on-failure; \
	fi

# ffwd, its plugins, guest programs, gem5 configs, man pages and bash completion under PREFIX
install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
