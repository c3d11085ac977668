# Mitan — make run | make test | make bench | make lint | make format
# SANITIZER=address,undefined builds (and tests) with the sanitizers, in build/san.

CC ?= cc
SANITIZER ?=
PKGS := libpq jansson libcurl openssl libqrencode pangocairo

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -g -O2 $(WARN) -fstack-protector-strong -MMD -MP \
	-I. -Icore -Idispatch $(patsubst -I%,-isystem %,$(shell pkg-config --cflags $(PKGS) 2>/dev/null))
LDLIBS := -lcivetweb $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lmagic -lpthread -lm
ifneq ($(SANITIZER),)
CFLAGS += -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZER)
OUT := build/san
else
OUT := build/rel
endif

CORE_SRC := $(wildcard core/*.c)
DOMAIN_SRC := $(wildcard dispatch/*/*.c agent-api/*.c scheduler/*.c)
CMD_SRC := $(wildcard cmd/*.c)
LIB_OBJ := $(patsubst %.c,$(OUT)/%.o,$(CORE_SRC) $(DOMAIN_SRC))
CMD_OBJ := $(patsubst %.c,$(OUT)/%.o,$(CMD_SRC))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(wildcard tests/unit/test_*.c))
# Every C and header file of the tree: what `make lint` checks and `make format` rewrites.
STYLE_SRC := $(wildcard core/*.[ch] dispatch/*/*.[ch] agent-api/*.[ch] scheduler/*.[ch] cmd/*.[ch] \
	tests/unit/*.[ch] tests/bench/*.[ch] tests/fuzz/*.[ch])

.PHONY: all build deps test-deps run test unit bench bench-booking bench-vrptw bench-uploads bench-city bench-knn bench-sms lint format clean
all: build

build: bin/mitan $(UNIT_TESTS)

# bin/mitan is always the binary of the last build flavour (plain or sanitizer).
bin/mitan: $(OUT)/mitan FORCE
	@mkdir -p bin
	@cmp -s $< $@ || { cp $< $@.tmp && mv $@.tmp $@; }

FORCE:

$(OUT)/mitan: $(CMD_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(OUT)/tests/test_%: tests/unit/test_%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(LDLIBS) -lcmocka

deps:
	@ops/install-deps.sh

test-deps:
	@ops/install-deps.sh --test

# deps -> build -> embedded cluster -> migrate -> seed --demo -> serve (Ctrl-C stops)
run: deps
	@$(MAKE) --no-print-directory build
	@ops/run.sh

# deps -> build with -Werror -> lint -> throwaway cluster -> unit, integration, browser tests
# (tests/run.sh runs the lint first and counts it as one test)
test: test-deps
	@$(MAKE) --no-print-directory build
	@SANITIZER=$(SANITIZER) OUT=$(OUT) tests/run.sh

bench: bench-booking bench-vrptw

# All 56 Solomon instances at VRPTW_TIME seconds each (default 1), checked by an
# independent route checker; prints the gap to the best known distances.
bench-vrptw: build $(OUT)/vrptw_check
	@VRPTW_CHECK=$(OUT)/vrptw_check tests/bench/vrptw.sh $(or $(VRPTW_TIME),1)

$(OUT)/vrptw_check: tests/bench/vrptw_check.c dispatch/planner/solomon.c dispatch/planner/vrptw.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lm

bench-booking: deps
	@$(MAKE) --no-print-directory build
	@tests/bench/booking.sh

bench-uploads: deps
	@$(MAKE) --no-print-directory build
	@tests/bench/uploads.sh

# A city-scale day (5,000 visits, 200 agents, 6 zones) planned from the database against the
# greedy booking-time assignment; and the nearest-capable-agent lookup with 100,000 agents.
bench-city: build
	@tests/bench/city.sh

bench-knn: build
	@tests/bench/knn.sh

# SMS outbox throughput with 1 and 4 workers to the fake gateway, commit-to-send lag (issue 5)
bench-sms: build
	@tests/bench/sms.sh

# clang-format with .clang-format, and ops/checksrc.pl (banned functions, assignments in
# conditions, history tags, // comments); non-zero exit on any finding.
lint:
	@ops/lint.sh $(STYLE_SRC)

format:
	clang-format -i $(STYLE_SRC)

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
