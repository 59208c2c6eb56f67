#!/usr/bin/env bash
# The cost of one request of the measured paths, in one process (see
# bench/profile.py): bash bench/profile.sh [--charges N] [--queries]
# [--history N] [--profile DIR]. Starts a private PostgreSQL and the
# environment as bench/run.sh does.
HB_BENCH_MODULE=bench.profile exec bash "$(dirname "$0")/run.sh" "$@"
