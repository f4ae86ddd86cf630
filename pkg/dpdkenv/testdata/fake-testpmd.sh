#!/bin/sh
# A stand-in for dpdk-testpmd 22.11, for the probe's tests only: it plays
# real testpmd's output from $TESTPMD_OUT (testpmd-22.11-igbvf/README) in
# its order, writes its arguments to $TESTPMD_ARGS, takes
# $TESTPMD_EAL_TENTHS tenths of a second for EAL's start (slow under
# emulation), and does on SIGINT what 22.11 does: notes it and quits at the
# next check, after starting the ports if EAL's start was under way.
printf '%s\n' "$@" >"$TESTPMD_ARGS"
quit=
trap 'quit=1' INT
cat "$TESTPMD_OUT/eal.txt"
i=0
while [ "$i" -lt "${TESTPMD_EAL_TENTHS:-0}" ]; do
	sleep 0.1
	i=$((i + 1))
done
for a in "$@"; do
	if [ "$a" = --flow-isolate-all ]; then
		cat "$TESTPMD_OUT/isolate.txt" >&2
		exit 1
	fi
done
cat "$TESTPMD_OUT/ports.txt"
while [ -z "$quit" ]; do
	printf '\033[2J\033[1;1H'
	cat "$TESTPMD_OUT/stats.txt"
	sleep 0.2
done
cat "$TESTPMD_OUT/exit.txt"
