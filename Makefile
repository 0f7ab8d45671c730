# Entry points for people and CI. See README.md.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test demo clean

setup:
	@tools/setup_venv.sh

test: setup
	ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST $(PY) -m pytest $(PYTEST_ARGS)

demo: setup
	ROS_AUTOMATIC_DISCOVERY_RANGE=$${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST} $(VENV)/bin/cluenet demo --out out/demo

clean:
	rm -rf build install log .pytest_cache
