#!/usr/bin/env bash
# Nothing left behind: after a test suite, no process started by it may still run. Every process a test
# starts inherits the test runner's NODE_TEST_CONTEXT; once the runner has exited, any process that
# still carries it was left behind. Waits up to 5 s for processes already dying, then names each one
# left (pid, command line), kills it, and exits 1.
set -uo pipefail
left() {
  for env in /proc/[0-9]*/environ; do
    pid=${env#/proc/}
    pid=${pid%/environ}
    [ "$pid" = "$$" ] && continue
    if { tr "\0" "\n" <"$env"; } 2>/dev/null | grep -q "^NODE_TEST_CONTEXT="; then echo "$pid"; fi
  done
}
for _ in $(seq 50); do
  pids=$(left)
  [ -z "$pids" ] && exit 0
  sleep 0.1
done
echo "left behind by the tests:"
for pid in $pids; do
  echo "  $pid: $(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null)"
done
# shellcheck disable=SC2086
kill -KILL $pids 2>/dev/null
exit 1
