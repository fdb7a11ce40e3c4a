"""Ownership and permissions of the daemon's socket, unit and configuration files (CIS 3.x)."""

from __future__ import annotations

from dockbench.benchmark.document.model import Layer, Severity
from dockbench.checks.catalog import FileRule, register_file_rules
from dockbench.checks.locations import daemon_json, docker_socket, unit_file

_CONFIG_WHY = "The daemon reads this file as root; whoever can edit it controls every container."

register_file_rules(
    Layer.SOCKET_PERMISSIONS,
    [
        FileRule(
            "perm-docker-service", "The docker.service unit file", "/lib/systemd/system/docker.service",
            lambda f: unit_file(f, "docker.service"), "no docker.service unit file in any systemd unit directory",
            ("root", "root"), 0o644, "The unit file sets the daemon's command line and environment.",
        ),
        FileRule(
            "perm-docker-socket-unit", "The docker.socket unit file", "/lib/systemd/system/docker.socket",
            lambda f: unit_file(f, "docker.socket"), "no docker.socket unit file in any systemd unit directory",
            ("root", "root"), 0o644, "The socket unit decides who may open the daemon's socket.",
        ),
        FileRule(
            "perm-etc-docker", "The /etc/docker directory", "/etc/docker",
            lambda f: "/etc/docker", "", ("root", "root"), 0o755,
            "/etc/docker holds the daemon configuration and TLS material.",
        ),
        FileRule(
            "perm-docker-sock", "The Docker daemon socket", "/var/run/docker.sock",
            docker_socket, "the audited daemon listens on TCP, not on a unix socket",
            ("root", "docker"), 0o660,
            "Whoever can write to the daemon socket is root on the host.", Severity.HIGH,
        ),
        FileRule(
            "perm-daemon-json", "The daemon.json configuration file", "/etc/docker/daemon.json",
            daemon_json, "", ("root", "root"), 0o644, _CONFIG_WHY,
        ),
        FileRule(
            "perm-etc-default-docker", "The /etc/default/docker file", "/etc/default/docker",
            lambda f: "/etc/default/docker", "", ("root", "root"), 0o644, _CONFIG_WHY,
        ),
        FileRule(
            "perm-etc-sysconfig-docker", "The /etc/sysconfig/docker file", "/etc/sysconfig/docker",
            lambda f: "/etc/sysconfig/docker", "", ("root", "root"), 0o644, _CONFIG_WHY,
        ),
        FileRule(
            "perm-containerd-sock", "The containerd socket", "/run/containerd/containerd.sock",
            lambda f: "/run/containerd/containerd.sock", "", ("root", "root"), 0o660,
            "containerd's socket gives the same power over containers as Docker's.", Severity.HIGH,
        ),
    ],
)
