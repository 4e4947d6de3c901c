# Two entry points: `make demo` (install, then run the whole pipeline on synthesised speech,
# then on real human voices (Debian's Asterisk prompts), then briefly the text path on the
# demo sentences) and `make test` (install, then run the test suite). Both work on a fresh
# Debian machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SEQAE := $(VENV)/bin/seqae
DEMO ?= demo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := espeak-ng flite wamerican libsndfile1 bible-kjv bible-kjv-text chromium \
	chromium-driver sox
# Real human voices for the demo: Debian's Asterisk prompts, two speakers per language.
# Installed without recommends: the core-sounds metapackages would point sounds/fr and
# sounds/es at the core voice, and the second voice's files would land in its folder.
VOICE_PACKAGES := asterisk-core-sounds-it-wav asterisk-prompt-it-menardi-wav \
	asterisk-core-sounds-fr-wav asterisk-prompt-fr-armelle asterisk-core-sounds-es-wav \
	asterisk-prompt-es-co
SOUNDS := /usr/share/asterisk/sounds

.PHONY: demo demo-text demo-voices test setup system-packages voice-packages bench clean

system-packages:
	@missing=""; \
	command -v espeak-ng >/dev/null || missing="yes"; \
	command -v flite >/dev/null || missing="yes"; \
	[ -f /usr/share/dict/words ] || missing="yes"; \
	command -v bible >/dev/null || missing="yes"; \
	command -v chromium >/dev/null || missing="yes"; \
	command -v chromedriver >/dev/null || missing="yes"; \
	command -v sox >/dev/null || missing="yes"; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="yes python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $(APT_PACKAGES)"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) \
			$$(echo $$missing | grep -o python3-venv) >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

voice-packages:
	@if [ ! -d $(SOUNDS)/it_IT_f_Menardi ] || [ ! -d $(SOUNDS)/fr ] || [ ! -d $(SOUNDS)/es ]; then \
		echo "installing Debian packages: $(VOICE_PACKAGES)"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $(VOICE_PACKAGES) >/dev/null; \
	fi

setup: system-packages $(VENV)/.installed

# The demo corpus: 60 words x 12 voices; 4 voices are held out and only ever used as queries.
DEMO_EPOCHS ?= 30
demo: setup
	$(SEQAE) synth $(DEMO)/corpus --words 60 --speakers 12 --query-speakers 4 --seed 0
	$(SEQAE) train $(DEMO)/corpus/archive.csv --out $(DEMO)/run --epochs $(DEMO_EPOCHS) --seed 0
	$(SEQAE) embed $(DEMO)/run $(DEMO)/corpus/archive.csv --out $(DEMO)/embeddings
	$(SEQAE) index build $(DEMO)/embeddings --out $(DEMO)/index --overwrite
	$(SEQAE) search $(DEMO)/index "$$(sed -n 2p $(DEMO)/corpus/queries.csv | cut -d, -f1 | sed 's|^|$(DEMO)/corpus/|')" -k 5
	$(SEQAE) search $(DEMO)/index "$$(sed -n 2p $(DEMO)/corpus/queries.csv | cut -d, -f1 | sed 's|^|$(DEMO)/corpus/|')" -k 5 --rerank dtw
	$(SEQAE) eval qbe $(DEMO)/run --queries $(DEMO)/corpus/queries.csv --archive $(DEMO)/corpus/archive.csv
	$(SEQAE) viz $(DEMO)/embeddings --out $(DEMO)/map.png
	$(SEQAE) ingest $(DEMO)/corpus/long --model $(DEMO)/run --out $(DEMO)/long-embeddings
	$(SEQAE) index build $(DEMO)/long-embeddings --out $(DEMO)/long-index --overwrite
	$(SEQAE) eval std $(DEMO)/long-index --queries $(DEMO)/corpus/queries.csv \
		--truth $(DEMO)/corpus/long.csv --depth 100000
	$(SEQAE) detect $(DEMO)/long-index --terms $(DEMO)/corpus/queries.csv --out $(DEMO)/detections \
		--limit 20 --threshold 0.7 --format csv --format eaf --format textgrid --format stdlist
	$(SEQAE) discover $(DEMO)/long-index --out $(DEMO)/discovered --truth $(DEMO)/corpus/long.csv \
		--tier eaf --tier textgrid
	$(MAKE) demo-voices
	$(MAKE) demo-text

# Real human voices: Debian's Asterisk prompts (digits, letters, the phonetic alphabet) in
# Italian, French and Spanish. The demo model (synthesised English) embeds one voice of each
# language: it finds more there than a model trained on those 442 clips, in which no word
# occurs twice (docs/benchmarks.md). Then a query in the other voice, and both voices' MAP.
VOICES := $(DEMO)/voices
VOICE_QUERY := $(VOICES)/all/$$(sed -n 2p $(VOICES)/all/queries.csv | cut -d, -f1)
demo-voices: setup voice-packages
	$(SEQAE) prompts $(VOICES)
	$(SEQAE) embed $(DEMO)/run $(VOICES)/all/archive.csv --out $(DEMO)/voices-embeddings
	$(SEQAE) index build $(DEMO)/voices-embeddings --out $(DEMO)/voices-index --overwrite
	$(SEQAE) search $(DEMO)/voices-index "$(VOICE_QUERY)" -k 5
	$(SEQAE) search $(DEMO)/voices-index "$(VOICE_QUERY)" -k 5 --rerank dtw
	$(SEQAE) eval qbe $(DEMO)/run --queries $(VOICES)/all/queries.csv \
		--archive $(VOICES)/all/archive.csv

# The text path, briefly: King James Bible sentences (Debian's bible-kjv), a sentence
# autoencoder trained for DEMO_TEXT_MINUTES, then embed, index, search, reconstruct, evaluate.
DEMO_TEXT_MINUTES ?= 3
DEMO_SENTENCE := And God said unto Moses, Go down to the people.
demo-text: setup
	$(SEQAE) synth-text $(DEMO)/text --seed 0
	$(SEQAE) train --modality text $(DEMO)/text/train.csv --out $(DEMO)/text-run --no-resume \
		--epochs 100 --max-minutes $(DEMO_TEXT_MINUTES) --seed 0
	$(SEQAE) embed $(DEMO)/text-run $(DEMO)/text/train.csv --out $(DEMO)/text-embeddings
	$(SEQAE) index build $(DEMO)/text-embeddings --out $(DEMO)/text-index --overwrite
	$(SEQAE) search $(DEMO)/text-index --text "$(DEMO_SENTENCE)" -k 5
	$(SEQAE) reconstruct $(DEMO)/text-run "$(DEMO_SENTENCE)"
	$(SEQAE) eval text $(DEMO)/text-run --corpus $(DEMO)/text/heldout.csv

test: setup
	$(VENV)/bin/pytest -q

bench: setup
	$(PY) bench/qbe.py
	$(PY) bench/search_speed.py

clean:
	rm -rf $(DEMO) .pytest_cache
