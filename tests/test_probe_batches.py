"""The probe stats many paths in one process and reads small files with the shell itself: its
records must be exactly those one stat and one cat per path give, whatever the files hold.

Every stat: and read: record of a probe run on an awkward tree (no trailing newline, NUL and
other binary bytes, text that looks like the probe's framing, empty, large, unreadable and
missing files, dangling links, directories, a name holding a newline) is compared with the
same command run alone on that path, under dash, bash and busybox's own sh and applets, as
an unprivileged user so that permission errors happen.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from dockbench.benchmark.collect import probe

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
STAT_FORMAT = "%f %u %g %s %Y"
FRAMING = b"@@dockbench o 0 10 3\nread:/etc/xabc\n"
SHELLS = {"dash": (["dash"], []), "bash": (["bash", "--posix"], []), "busybox": (["busybox", "sh"], ["busybox"])}


def put(root: Path, rel: str, data: bytes, mode: int = 0o644) -> None:
    path = root / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)


@pytest.fixture
def awkward_tree():
    base = Path(tempfile.mkdtemp(prefix="dbt-batch-"))  # not tmp_path (0700): nobody walks in
    base.chmod(0o755)
    root = base / "host"
    put(root, "/etc/hostname", b"no-newline-host")
    put(root, "/etc/os-release", b'ID=debian\nVERSION_ID="12"\n' + b"# padding past the shell's read limit\n" * 80)
    put(root, "/usr/lib/os-release", b"ID=x\x00y\r\n\xff\xfe\x01 \\n \\\\\n\tlead and trail  \n\n\n")
    put(root, "/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    put(root, "/etc/group", b"root:x:0:\ndocker:x:999:\n")
    put(root, "/etc/default/docker", FRAMING + b"@@dockbench e - 3 1\nend\n" + b"\n" * 3)
    put(root, "/etc/containerd/config.toml", b"")  # empty
    put(root, "/etc/docker/daemon.json", b'{"icc": false}', 0o600)  # nobody cannot read it
    put(root, "/root/.docker/config.json", b"{}", 0o600)
    (root / "root").chmod(0o700)  # nobody cannot search /root: stat says Permission denied
    (root / "lib/systemd/system/docker.service").mkdir(parents=True)  # read_path of a directory
    os.symlink("/nowhere/at/all", root / "lib/systemd/system/docker.socket")  # dangling
    put(root, "/etc/systemd/system/docker.service.d/ok.conf", b"[Service]\nExecStart=\n")
    put(root, "/etc/systemd/system/docker.service.d/new\nline.conf", b"[Service]\n")  # looked at alone
    put(root, "/etc/audit/rules.d/at-limit.rules", b"-w /etc/docker -k docker\n".ljust(2047, b"#") + b"\n")  # 2048 bytes
    put(root, "/etc/audit/rules.d/over-limit.rules", b"-w /etc/docker -k docker\n".ljust(2048, b"#") + b"\n")
    put(root, "/usr/bin/runc", b"\x7fELF", 0o755)
    yield root
    shutil.rmtree(base)


def alone(tools: list[str], command: list[str], path: Path) -> tuple[int, bytes, bytes]:
    """What the command prints about one path, run on its own as the probe used to run it."""
    done = subprocess.run(NOBODY + tools + command + ["--", str(path)], capture_output=True, cwd="/")
    return done.returncode, done.stdout.replace(b"\x00", b""), done.stderr.rstrip(b"\n")


def expected(tools: list[str], root: Path, path: str, kind: str) -> tuple[int, bytes, bytes]:
    target = root / path.lstrip("/")
    if kind == "read":
        return alone(tools, ["cat"], target)
    if not target.exists() and not target.is_symlink() and os.access(target.parent, os.X_OK):
        return 1, b"", b"No such file or directory"  # the probe's own word: no process started
    return alone(tools, ["stat", "-L", "-c", STAT_FORMAT], target)


@pytest.mark.parametrize("shell", SHELLS)
def test_batched_records_are_those_of_one_command_per_path(awkward_tree, shell):
    argv, tools = SHELLS[shell]
    script = probe.build(root=str(awkward_tree), docker_host="unix:///nonexistent.sock")
    done = subprocess.run(NOBODY + argv + ["-s"], input=script, capture_output=True, check=True, cwd="/")
    records = probe.parse(done.stdout)
    looked_at = [name for name in records if name.startswith(("stat:", "read:")) and not name.startswith(("stat:/proc/", "read:/proc/"))]
    for name in looked_at:
        kind, path = name.split(":", 1)
        record = records[name]
        assert (record.rc, record.out, record.err) == expected(tools, awkward_tree, path, kind), name
    for name in looked_at:  # each read right after its stat, as one path at a time gave them
        if name.startswith("read:"):
            assert looked_at[looked_at.index(name) - 1] == "stat:" + name[5:]
    assert records["read:/etc/default/docker"].out == FRAMING + b"@@dockbench e - 3 1\nend\n\n\n\n"
    assert records["read:/etc/hostname"].out == b"no-newline-host"
    assert records["read:/usr/lib/os-release"].out == b"ID=xy\r\n\xff\xfe\x01 \\n \\\\\n\tlead and trail  \n\n\n"
    assert "Permission denied" in records["stat:/root/.docker/config.json"].error_text
    assert "Permission denied" in records["read:/etc/docker/daemon.json"].error_text
    assert "stat:/etc/systemd/system/docker.service.d/new\nline.conf" in records
    assert "read:/lib/systemd/system/docker.service" not in records  # a directory is not read
    assert not records["stat:/lib/systemd/system/docker.socket"].ok


def test_a_few_processes_look_at_many_paths(awkward_tree):
    """stat and cat on PATH log each start: the tree's paths cost a few stat processes, and
    cat runs only for what the shell does not read (large, empty, unreadable, /proc files)."""
    bin_dir = awkward_tree.parent / "bin"  # beside the tree: nobody can reach it
    bin_dir.mkdir()
    log = bin_dir / "starts.log"
    for tool in ("stat", "cat"):
        wrapper = bin_dir / tool
        wrapper.write_text(f'#!/bin/sh\necho {tool} >> {log}\nexec {shutil.which(tool)} "$@"\n')
        wrapper.chmod(0o755)
    log.write_text("")
    log.chmod(0o666)
    script = probe.build(root=str(awkward_tree), docker_host="unix:///nonexistent.sock")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = subprocess.run(NOBODY + ["dash", "-s"], input=script, capture_output=True, check=True, cwd="/", env=env)
    records = probe.parse(done.stdout)
    starts = log.read_text().split()
    stats = sum(name.startswith("stat:") for name in records)
    assert stats >= 30
    assert 1 <= starts.count("stat") <= 8, starts
    cat_read = {"/etc/os-release", "/etc/containerd/config.toml", "/etc/docker/daemon.json", "/etc/audit/rules.d/over-limit.rules"}
    assert cat_read <= {name[5:] for name in records if name.startswith("read:")}
    assert starts.count("cat") <= len(cat_read) + 2, starts  # and mountinfo, if /proc is in the tree


FAKE_DOCKER = """#!/bin/sh
echo "$*" >> {log}
case "$*" in
"info --format {{{{json .}}}}") printf '%s\\n' '{{"ID":"x","Labels":["a=\\"DockerRootDir\\":\\"/decoy"],"DockerRootDir":"{json_root}"}}' ;;
"info --format {{{{.DockerRootDir}}}}") printf '%s\\n' '{root}' ;;
"version --format {{{{json .}}}}") echo '{{"Client":{{}},"Server":{{}}}}' ;;
"image ls -aq --no-trunc") echo sha256:{hex} ;;
"inspect "*) echo '[{{"Id":"sha256:{hex}","RepoTags":[]}}]' ;;
esac
"""


@pytest.mark.parametrize("data_root, asked_again", [("data", False), ("data&root", True)])
def test_the_image_store_is_found_from_docker_info(tmp_path, data_root, asked_again):
    """docker info's JSON names the data root; only a root the JSON escapes (& as \\u0026) is
    asked of the daemon again. A label that quotes the key cannot pass for it."""
    root = tmp_path / data_root
    hex_id = "ab" * 32
    put(root, f"/image/overlay2/imagedb/content/sha256/{hex_id}", b'{"history":[{"created_by":"RUN true"}]}')
    log = tmp_path / "docker.log"
    (tmp_path / "docker").write_text(FAKE_DOCKER.format(log=log, root=root, json_root=str(root).replace("&", "\\u0026"), hex=hex_id))
    (tmp_path / "docker").chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    done = subprocess.run(["dash", "-s"], input=probe.build(docker_host="unix:///fake.sock"), capture_output=True, check=True, env=env)
    records = probe.parse(done.stdout)
    assert records["image-store"].text == f"{root}/image"
    assert f"image-configs:{root}/image/overlay2/imagedb/content/sha256" in records
    infos = [line for line in log.read_text().splitlines() if line.startswith("info")]
    assert infos == ["info --format {{json .}}"] + (["info --format {{.DockerRootDir}}"] if asked_again else [])
