#!/usr/bin/env bash
# The test command: bash tests/run.sh [pytest args]   (default: tests -q -ra)
#
# As root on Debian 12: installs docker.io, openssh-server and busybox-static if
# missing (and postgresql, and poppler-utils, whose pdftotext reads the printed
# report), makes .venv with the project and its [test] and [postgres] extras,
# starts a private dockerd (own socket, data root, exec root, pid file under
# /tmp/dockbench-ci-*; the system daemon is never touched) and a private PostgreSQL
# cluster (own data directory and unix socket under /tmp/dockbench-pg-*, run as the
# postgres user), runs pytest against them, stops them.
# Env: DOCKERD (dockerd binary to use), DOCKER (docker CLI to use).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "tests/run.sh: $*" >&2; }

missing=()
for pkg in docker.io openssh-server busybox-static rootlesskit uidmap chromium chromium-driver poppler-utils sudo postgresql; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,postgres]'

dockerd_dir=$(mktemp -d /tmp/dockbench-ci-XXXXXX)
postgres_dir=$(mktemp -d /tmp/dockbench-pg-XXXXXX)
stop_services() {
    .venv/bin/python -m tests.support.dockerd stop --remove "$dockerd_dir" || true
    .venv/bin/python -m tests.support.postgres stop --remove "$postgres_dir" || true
}
trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start waits (60 s at most) for `docker info` to answer and imports the test image.
if ! .venv/bin/python -m tests.support.dockerd start "$dockerd_dir" >/dev/null; then
    say "FATAL: the private dockerd did not start; the tests need it (see the log above)"
    exit 1
fi
export DOCKBENCH_TEST_DOCKER_HOST="unix://$dockerd_dir/docker.sock"
say "private dockerd ready at $DOCKBENCH_TEST_DOCKER_HOST"

# The PostgreSQL archive and distributed sweep tests need a real server: no cluster, no run.
if ! DOCKBENCH_TEST_POSTGRES=$(.venv/bin/python -m tests.support.postgres start "$postgres_dir"); then
    say "FATAL: the private PostgreSQL cluster did not start; the tests need it (see the log above)"
    exit 1
fi
export DOCKBENCH_TEST_POSTGRES DOCKBENCH_TEST_POSTGRES_DIR="$postgres_dir"
say "private PostgreSQL ready at $DOCKBENCH_TEST_POSTGRES"

(($#)) || set -- tests -q -ra
status=0
.venv/bin/python -m pytest "$@" || status=$?
if ((status == 5)); then
    say "FAILED: pytest collected no tests"
    status=1
fi
exit "$status"
