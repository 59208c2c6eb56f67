# The two set-up commands of README, and helpers for development.
.PHONY: demo test test-quick bench bench-smoke load-faults po lint clean-demo

# Install what is needed and serve the demo on http://127.0.0.1:8000
demo:
	bash scripts/demo.sh

# Install what is needed and run every test on a private PostgreSQL 15
test:
	bash scripts/test.sh

# A quick run on SQLite (no browser), for development: make test-quick [ONLY=hb_budget]
test-quick:
	bash scripts/test.sh --sqlite $(ONLY)

# The benchmarks of docs/performance.md (about 6-9 minutes): make bench
bench:
	bash bench/run.sh

# The same at a tiny size (2-5 minutes), as the test command runs it
bench-smoke:
	bash bench/run.sh --size smoke

# Charges with faults from concurrent terminals at full size (about ten
# minutes; the test command runs it small): make load-faults [CHARGES=3000] [CLIENTS=16]
load-faults:
	HB_LOAD_CHARGES=$(or $(CHARGES),3000) HB_LOAD_CLIENTS=$(or $(CLIENTS),16) \
		bash scripts/test.sh test_load_faults

# Merge new strings of MODULE into its locale/fi.po: make po MODULE=hb_budget
po:
	.venv/bin/python scripts/update_po.py $(MODULE)

lint:
	.venv/bin/ruff check .

# Remove the demo database (the next make demo creates it again)
clean-demo:
	rm -rf var/db var/admin-password
