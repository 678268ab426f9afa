# QuantScope — the two commands: `make run` and `make test`. Both install what is missing (Debian 12, as
# root), configure CMake (Release) and build first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_GEN  := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

# Debian packages needed to build, test and run. Keep in sync with README.md.
DEB_PACKAGES := build-essential cmake ninja-build pkg-config \
  libeigen3-dev libprotobuf-dev protobuf-compiler libonnx-dev libonnx-testdata \
  zlib1g-dev nlohmann-json3-dev libcli11-dev libstb-dev coinor-libcbc-dev \
  libgtest-dev libgmock-dev libbenchmark-dev \
  qt6-base-dev qt6-charts-dev qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools libqt6opengl6-dev libgl-dev

.PHONY: all deps configure build run test test-asan bench clean format

all: build

# Installs only what is missing; apt-get update runs only when something is.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing:" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

configure: deps
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Starts the desktop application on the embedded demo model (it opens with its calibration and test
# images). Without a display it says so and evaluates the demo headless with the CLI instead.
run: build
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	  ./$(BUILD)/app/quantscope resources/demo/mnist_demo.onnx; \
	else \
	  echo "make run: no display (\$$DISPLAY and \$$WAYLAND_DISPLAY are empty): the desktop application needs one."; \
	  echo "Evaluating the demo with quantscope-cli instead. On a desktop, 'make run' opens ./$(BUILD)/app/quantscope."; \
	  ./$(BUILD)/app/quantscope-cli eval resources/demo/mnist_demo.onnx \
	    --data resources/demo/test-images-idx3-ubyte.gz --labels resources/demo/test-labels-idx1-ubyte.gz \
	    --mean 0.5 --std 0.5; \
	fi

test: build
	cd $(BUILD) && ctest --output-on-failure -j 2

# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (Debug, -O1).
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQS_SANITIZE=ON -DQS_BUILD_BENCH=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j 2

bench: build
	bash bench/run_peer_bench.sh

format:
	find core app widgets tests bench -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
