# Two commands for a fresh machine: `make demo` (the main job, end to end) and `make test` (the test suite).
# Both create .venv if it is missing. torch is pinned to the CPU build in the same pip command, so no CUDA
# wheels are ever downloaded.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
GHP := $(VENV)/bin/ghp
TORCH ?= torch==2.13.0
DEMO_RUN ?= runs/demo

.PHONY: install demo test test-fast lint toolchain bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "$(TORCH)" -e ".[dev,ray]"
	touch $@

# Cross toolchain and emulator for the microcontroller checks (Debian/Ubuntu, as root); skipped elsewhere.
toolchain:
	@if command -v arm-none-eabi-gcc >/dev/null && command -v qemu-system-arm >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm >/dev/null; \
	else echo "note: arm-none-eabi-gcc/qemu-system-arm missing; the Cortex-M4 checks will be skipped"; fi

# train -> evaluate (screen, then confirm the best on held-out starts) -> report -> search -> export, on Pendulum-v1
# (a few minutes on 2 cores).
demo: install toolchain
	$(GHP) train --env Pendulum-v1 --steps 6000 --out $(DEMO_RUN) --force
	$(GHP) evaluate $(DEMO_RUN)
	$(GHP) evaluate $(DEMO_RUN) --confirm 10 --confirm-episodes 100 --confirm-max-params 500
	$(GHP) report $(DEMO_RUN)
	$(GHP) search --run $(DEMO_RUN) --max-params 500 --top 5
	$(GHP) export $(DEMO_RUN) --best --max-params 500 --target c-header --name policy --out $(DEMO_RUN)/export --check

# The benchmark of record: every speed ratio, side by side, into docs/results/bench/record.json (and record.md).
bench: install toolchain
	$(PY) -m benchmarks

# Every core, at most 4 workers (a container may show more cores than it may use); the longest tests start first
# (tests/conftest.py) and each worker holds at most two tests.
test: install toolchain
	$(PY) -m pytest -q -n auto --maxprocesses 4 --maxschedchunk 1

test-fast: install
	$(PY) -m pytest -q -n auto --maxprocesses 4 --maxschedchunk 1 -m "not slow"

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
