# The two commands the README promises: `make test` and `make run` (and `make bench`). The scripts do the work.
# Pass arguments with ARGS, e.g.  make test ARGS="--filter TestSupportTests"
.PHONY: test run bench build clean

test:
	Scripts/test $(ARGS)

run:
	Scripts/run $(ARGS)

bench:
	Benchmarks/run $(ARGS)

build:
	swift build $(ARGS)

clean:
	swift package clean
