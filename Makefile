# Nightjar — the two commands a newcomer needs are `make demo` and `make test`.
# Every target that builds first runs `setup`, which installs missing Debian packages.

SWIFT        ?= swift
SYSTEM_PKGS  := libssl-dev libcurl4-openssl-dev libxml2-dev libsqlite3-dev libargon2-dev \
                zlib1g-dev libmicrohttpd-dev tzdata pkg-config openssl
TEST_PKGS    := procps chromium chromium-driver python3-selenium poppler-utils hledger beancount python3
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all setup setup-test build release test demo bench clean

all: build

# Installs only what is missing; runs `apt-get update` only when something is.
define apt_install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "setup: system packages present"; fi
endef

setup:
	$(call apt_install_missing,$(SYSTEM_PKGS))

setup-test: setup
	$(call apt_install_missing,$(TEST_PKGS))

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

test: setup-test
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --parallel --num-workers 2

demo: release
	./.build/release/nightjar demo

bench: setup
	$(SWIFT) build -c release --product nightjar-bench
	$(SWIFT) build -c release --product nightjar-sandbox
	./.build/release/nightjar-bench

clean:
	rm -rf .build
