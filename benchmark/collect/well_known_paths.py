"""Where Docker and systemd keep things by default: the paths the snapshot builder reads and the
checks judge, defined once so the two never disagree."""

DEFAULT_SOCKET = "/var/run/docker.sock"
DEFAULT_DAEMON_JSON = "/etc/docker/daemon.json"
# Under a user's home: the Docker client config (registry logins), parsed, never kept verbatim.
CLIENT_CONFIG = "/.docker/config.json"
# Under DockerRootDir: a swarm node's listen, advertise and data-path addresses (no keys).
SWARM_STATE = "/swarm/docker-state.json"
# systemd's unit search path for system units, highest precedence first.
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")
