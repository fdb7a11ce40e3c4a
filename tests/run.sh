#!/usr/bin/env bash
# The test command: bash tests/run.sh [pytest args]   (default: tests -q -ra)
#
# As root on Debian 12: installs docker.io, openssh-server and busybox-static if
# missing, makes .venv with the project and its [test] extra, starts a private
# dockerd (own socket, data root, exec root, pid file under /tmp/dockbench-ci-*;
# the system daemon is never touched), runs pytest against it, stops it.
# Env: DOCKERD (dockerd binary to use), DOCKER (docker CLI to use).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "tests/run.sh: $*" >&2; }

missing=()
for pkg in docker.io openssh-server busybox-static rootlesskit uidmap chromium chromium-driver sudo; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

dockerd_dir=$(mktemp -d /tmp/dockbench-ci-XXXXXX)
stop_dockerd() { .venv/bin/python -m tests.support.dockerd stop --remove "$dockerd_dir" || true; }
trap stop_dockerd EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start waits (60 s at most) for `docker info` to answer and imports the test image.
if ! .venv/bin/python -m tests.support.dockerd start "$dockerd_dir" >/dev/null; then
    say "FATAL: the private dockerd did not start; the tests need it (see the log above)"
    exit 1
fi
export DOCKBENCH_TEST_DOCKER_HOST="unix://$dockerd_dir/docker.sock"
say "private dockerd ready at $DOCKBENCH_TEST_DOCKER_HOST"

(($#)) || set -- tests -q -ra
status=0
.venv/bin/python -m pytest "$@" || status=$?
if ((status == 5)); then
    say "FAILED: pytest collected no tests"
    status=1
fi
exit "$status"
