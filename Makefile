# The two commands the README promises: `make test` and `make run`. The scripts do the work.
# Pass arguments with ARGS, e.g.  make test ARGS="--filter TestSupportTests"
.PHONY: test run build clean

test:
	Scripts/test $(ARGS)

run:
	Scripts/run $(ARGS)

build:
	swift build $(ARGS)

clean:
	swift package clean
