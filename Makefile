# The two front doors: `make test` and `make run` (DESIGN §9). Both install the
# missing Debian packages, configure and build first.
BUILD ?= build
JOBS ?= $(shell nproc)
ADVLAB := ./$(BUILD)/advlab

.PHONY: all deps configure build test sanitize run bench clean

all: build

deps:
	@sh cmake/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The unit tests under ASan+UBSan alone (`make test` runs them too, as the
# ctest test sanitizer_test).
sanitize: configure
	tests/sanitizer_test.sh $(CURDIR) $(BUILD)/xbuild-asan

# The flagship sweep; the fair comparison its [analysis] section asks for (each
# estimator at its own learning rate, tuned on held-out seeds, paired by seed);
# its report (docs/analysis.md).
run: build
	@mkdir -p results
	$(ADVLAB) sweep --config experiments/presets/flagship.ini --threads $(JOBS) \
	  --out results/flagship.h5 --force
	$(ADVLAB) analyze results/flagship.h5
	$(ADVLAB) report results/flagship.h5 --out results/flagship-report --force
	@echo "report: $(CURDIR)/results/flagship-report/report.md"

bench: build
	./$(BUILD)/bench/bench_step

clean:
	rm -rf $(BUILD)
