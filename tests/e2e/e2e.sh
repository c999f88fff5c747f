#!/bin/sh
# `make check` entry of the end-to-end test bed (POSIX sh, as the test harness runs .sh tests):
# hands over to run.sh, which needs bash. XENVD_E2E=skip skips it (exit 77).
if [ "${XENVD_E2E:-}" = skip ]; then
	echo "SKIP: e2e test bed disabled by XENVD_E2E=skip"
	exit 77
fi
if ! command -v bash >/dev/null 2>&1; then
	echo "e2e: FAIL: bash is needed to run the e2e test bed" >&2
	exit 1
fi
exec bash "$(dirname "$0")/run.sh" "$@"
