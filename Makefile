# Nightjar — the two commands a newcomer needs are `make demo` and `make test`.
# Every target that builds first runs `setup`, which installs missing Debian packages.

SWIFT        ?= swift
SYSTEM_PKGS  := libssl-dev libcurl4-openssl-dev libxml2-dev libsqlite3-dev libargon2-dev \
                zlib1g-dev libmicrohttpd-dev libgmime-3.0-dev tzdata pkg-config openssl
# Dovecot (IMAP), OpenSSH (SFTP) and aiosmtpd (an SMTP sink) run on loopback for the source and morning-mail tests.
TEST_PKGS    := procps chromium chromium-driver python3-selenium poppler-utils hledger beancount python3 zsh fish groff-base \
                dovecot-imapd openssh-server openssh-client python3-aiosmtpd
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all setup setup-test build release test demo demo-mail bench examples man completions install clean

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

# Two runs: the tests that time real HTTP sessions against the sandbox (retries, Retry-After,
# token lifetimes) first, on a machine not also busy with the suites that spawn whole nights,
# browsers and servers; then everything else. Both in parallel within themselves.
TIMED_SUITES := NightjarHTTPTests|NightjarScriptTests

test: setup-test
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --parallel --num-workers 2 --filter '$(TIMED_SUITES)'
	$(SWIFT) test --skip-build --parallel --num-workers 2 --skip '$(TIMED_SUITES)'

demo: release
	./.build/release/nightjar demo

# A night that reads a mailbox: Dovecot on loopback with the sandbox retailer's e-mails.
demo-mail: setup-test
	$(SWIFT) build --product nightjar
	$(SWIFT) build --product nightjar-sandbox
	./scripts/demo-mail.sh

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
	$(BIN)/nightjar completions bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/nightjar
	$(BIN)/nightjar completions zsh > $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_nightjar
	$(BIN)/nightjar completions fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/nightjar.fish
	install -m 0644 docs/systemd/* $(DESTDIR)$(PREFIX)/lib/systemd/system/
	install -m 0644 scrapers/*.scraper scrapers/*.cassette docs/examples/*.profile docs/tour.sh $(DESTDIR)$(PREFIX)/share/doc/nightjar/examples/

# The example definitions, cassettes and profiles inside the binary (after changing scrapers/ or docs/examples/).
examples:
	./.ci/embed-examples

clean:
	rm -rf .build
