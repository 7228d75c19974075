# Nightjar — the two commands a newcomer needs are `make demo` and `make test`.
# Every target that builds first runs `setup`, which installs missing Debian packages.

SWIFT        ?= swift
SYSTEM_PKGS  := libssl-dev libcurl4-openssl-dev libxml2-dev libsqlite3-dev libargon2-dev \
                zlib1g-dev libmicrohttpd-dev libgmime-3.0-dev tzdata pkg-config openssl
# Dovecot (IMAP), OpenSSH (SFTP) and aiosmtpd (an SMTP sink) run on loopback for the source and morning-mail tests.
TEST_PKGS    := procps chromium chromium-driver python3-selenium poppler-utils hledger beancount python3 zsh fish groff-base \
                dovecot-imapd openssh-server openssh-client python3-aiosmtpd
# `make deb`: dpkg-shlibdeps (dpkg-dev), strip (binutils), and lintian for the package test.
DEB_PKGS     := dpkg-dev binutils lintian
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all setup setup-test setup-deb build release lint format test demo demo-mail bench examples man completions install deb clean

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
	$(call apt_install_missing,$(TEST_PKGS) $(DEB_PKGS))

setup-deb: setup
	$(call apt_install_missing,$(DEB_PKGS))

build: setup
	$(SWIFT) build

# The shipped programs, with the Swift standard library and Foundation linked in statically and no
# RUNPATH: they need only Debian's libraries at run time. Bound immediately (`-z now`, with the
# default RELRO), as Debian's hardening asks.
RELEASE_FLAGS := -c release --static-swift-stdlib --disable-local-rpath -Xlinker -z -Xlinker now
release: setup
	$(SWIFT) build $(RELEASE_FLAGS) --product nightjar
	$(SWIFT) build $(RELEASE_FLAGS) --product nightjar-sandbox

# Two runs: the tests that time real HTTP sessions against the sandbox (retries, Retry-After,
# token lifetimes) first, on a machine not also busy with the suites that spawn whole nights,
# browsers and servers; then everything else. Both in parallel within themselves.
TIMED_SUITES := NightjarHTTPTests|NightjarScriptTests

# The packages first: the package test (NightjarPackageTests in NightjarCLITests) installs them
# into a temporary root and runs them from there.
# Code style (.swift-format): `make lint` fails on any file the formatter would change; `make format` changes them.
lint:
	git ls-files -z '*.swift' | xargs -0 $(SWIFT) format lint --strict --parallel

format:
	git ls-files -z '*.swift' | xargs -0 $(SWIFT) format format -i --parallel

test: setup-test lint deb
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --parallel --num-workers 2 --filter '$(TIMED_SUITES)'
	$(SWIFT) test --skip-build --parallel --num-workers 2 --skip '$(TIMED_SUITES)'

demo: release
	./.build/release/nightjar demo

# A night that reads a mailbox: Dovecot on loopback with the sandbox retailer's e-mails.
demo-mail: setup-test
	$(SWIFT) build --product nightjar
	$(SWIFT) build --product nightjar-sandbox
	./.ci/demo-mail

bench: setup
	$(SWIFT) build -c release --product nightjar-bench
	$(SWIFT) build -c release --product nightjar-sandbox
	./.build/release/nightjar-bench

# Man pages and shell completions, written from the command table.
MANDIR ?= .build/man/man1
man: build
	./.build/debug/nightjar man --out $(MANDIR)

completions: build
	mkdir -p .build/completions
	./.build/debug/nightjar completions bash > .build/completions/nightjar.bash
	./.build/debug/nightjar completions zsh > .build/completions/_nightjar
	./.build/debug/nightjar completions fish > .build/completions/nightjar.fish

# After `make release`: the programs, man pages, completions, systemd units and examples under
# $(DESTDIR)$(PREFIX). BIN picks another build (BIN=.build/debug).
PREFIX  ?= /usr/local
DESTDIR ?=
BIN     ?= .build/release
install:
	@test -x $(BIN)/nightjar -a -x $(BIN)/nightjar-sandbox || { echo "install: run make release first (or give BIN=)"; exit 1; }
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d \
	  $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/share/doc/nightjar/examples
	install -m 0755 $(BIN)/nightjar $(BIN)/nightjar-sandbox $(DESTDIR)$(PREFIX)/bin/
	$(BIN)/nightjar man --out $(DESTDIR)$(PREFIX)/share/man/man1 >/dev/null
	sed "s/VERSION/$$($(BIN)/nightjar --version | sed 's/^nightjar //')/" .ci/debian/nightjar-sandbox.1 \
	  > $(DESTDIR)$(PREFIX)/share/man/man1/nightjar-sandbox.1
	$(BIN)/nightjar completions bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/nightjar
	$(BIN)/nightjar completions zsh > $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_nightjar
	$(BIN)/nightjar completions fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/nightjar.fish
	for unit in docs/systemd/*; do \
	  sed 's|/usr/local/bin/|$(PREFIX)/bin/|g' $$unit > $(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$unit); \
	  chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$unit); done
	install -m 0644 scrapers/*.scraper scrapers/*.cassette docs/examples/*.profile docs/tour.sh $(DESTDIR)$(PREFIX)/share/doc/nightjar/examples/

# nightjar_VERSION_ARCH.deb and nightjar-sandbox_VERSION_ARCH.deb in DEBDIR, from `make release`.
DEBDIR ?= .build/deb
deb: setup-deb release
	./.ci/build-deb $(DEBDIR) .build/release

# The example definitions, cassettes and profiles inside the binary (after changing scrapers/ or docs/examples/).
examples:
	./.ci/embed-examples

clean:
	rm -rf .build
