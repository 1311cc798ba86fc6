# ffwd -- convenience front end over CMake/CTest.
#
#   make            install missing Debian packages, build ffwd (build/)
#   make demo       ... and run the end-to-end demo on the built-in guest
#   make test       ... and run every test twice: plain build and ASan+UBSan build
#   make bench      boot/guest-speed figures (ratios against same-run baselines)
#   make gem5-check GEM5=/path/to/gem5.opt   restore-in-gem5 check (skips loudly without GEM5)
#
# Variables: BUILD (build dir), ASAN_BUILD, JOBS.

BUILD      ?= build
BENCH_SIZES    ?= 256M,1G,4G
BENCH_PERCENTS ?= 10,90
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)

.PHONY: all deps build build-asan demo test test-plain test-asan gem5-check bench clean

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
	@cd $(BUILD) && ctest --output-on-failure

test-asan: build-asan
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure

test: test-plain test-asan

bench: build
	@./$(BUILD)/bench_boot ./$(BUILD)/ffwd ./$(BUILD)/plugins/libffwd-icount.so 3
	@./$(BUILD)/bench_capture ./$(BUILD)/ffwd $(BENCH_SIZES) $(BENCH_PERCENTS)
	@./$(BUILD)/bench_convert ./$(BUILD)/ffwd 1G,4G 50
	@./$(BUILD)/bench_sample ./$(BUILD)/ffwd ./$(BUILD)/plugins 3 1000,10000,100000
	@./$(BUILD)/bench_trace ./$(BUILD)/ffwd ./$(BUILD)/plugins 3

gem5-check: build
	@if [ -z "$(GEM5)" ]; then \
		echo "gem5-check: SKIPPED -- GEM5 is not set (make gem5-check GEM5=/path/to/gem5.opt)."; \
		echo "gem5-check: SKIPPED -- nothing was restored in gem5; this is not a pass."; \
	else \
		cd $(BUILD) && GEM5="$(abspath $(GEM5))" ctest -L '^gem5' --output-on-failure; \
	fi

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
