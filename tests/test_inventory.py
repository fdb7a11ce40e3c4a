"""Inventories into SSH targets: ssh:// URLs, our own YAML, Ansible INI and YAML, --limit, errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dockbench.benchmark.collect.inventory import InventoryError, Target, limit, load, parse_url
from dockbench.benchmark.collect.ssh import SSHTransport
from dockbench.benchmark.collect.transports import SCHEMES, Transport, transport_class


@pytest.fixture(autouse=True)
def home(monkeypatch):
    monkeypatch.setenv("HOME", "/home/auditor")  # `key: ~/...` expands the same everywhere


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def load_error(path: Path) -> str:
    with pytest.raises(InventoryError) as caught:
        load(path)
    return str(caught.value)


# -- ssh:// targets ------------------------------------------------------------------------------

@pytest.mark.parametrize("url, expected", [
    ("ssh://audit@10.0.0.1:2222", Target("10.0.0.1", "10.0.0.1", port=2222, user="audit")),
    ("ssh://docker-01.example.com", Target("docker-01.example.com", "docker-01.example.com")),
    ("SSH://root@docker-01/", Target("docker-01", "docker-01", user="root")),
    ("ssh://[::1]:2222", Target("::1", "::1", port=2222)),
    ("ssh://ops@[fe80::1%eth0]", Target("fe80::1%eth0", "fe80::1%eth0", user="ops")),
    ("audit@10.0.0.1:22", Target("10.0.0.1", "10.0.0.1", port=22, user="audit")),
    ("first.last@corp.example@db1", Target("db1", "db1", user="first.last@corp.example")),
    ("docker-01", Target("docker-01", "docker-01")),
    ("fe80::1", Target("fe80::1", "fe80::1")),
    ("  ssh://h:22  ", Target("h", "h", port=22)),
])
def test_parse_url(url, expected):
    assert parse_url(url) == expected


def test_every_scheme_of_the_transport_table_is_a_target_and_names_its_transport():
    assert SCHEMES  # the table the inventories and sweeps share
    for scheme in SCHEMES:
        assert parse_url(f"{scheme}://audit@h1:2222").scheme == scheme
        assert issubclass(transport_class(scheme), Transport)
    assert transport_class("ssh") is SSHTransport
    assert parse_url("h1").scheme == "ssh" and Target("h", "h").scheme == "ssh"   # a bare host, and inventory hosts


@pytest.mark.parametrize("url, problem", [
    ("ssh://h:abc", "port must be a number from 1 to 65535, got 'abc'"),
    ("ssh://h:0", "port must be a number"),
    ("ssh://h:65536", "port must be a number"),
    ("ssh://h:", "port must be a number"),
    ("ssh://h:²", "port must be a number"),
    ("ssh://", "host is empty"),
    ("ssh://audit@", "host is empty"),
    ("", "host is empty"),
    ("@h", "user is empty"),
    ("http://h", "only ssh:// targets are supported, not http://"),
    ("ssh://audit:hunter2@h", "passwords in targets are not supported"),
    ("ssh://[::1", "IPv6"),
    ("ssh://[::1]2222", "IPv6"),
    ("two words", "'two words' is not a host name or address"),
    ("ssh://h/some/path", "is not a host name or address"),
    ("ssh://-oProxyCommand=touch", "is not a host name or address"),
    ("ssh://bad user@h", "is not a user name"),
])
def test_parse_url_refuses_garbage(url, problem):
    with pytest.raises(InventoryError) as caught:
        parse_url(url)
    assert problem in str(caught.value)
    assert repr(url) in str(caught.value)


# -- our own YAML --------------------------------------------------------------------------------

OURS = """
    # fleet for the quarterly CIS audit
    defaults: {user: audit, sudo: true, key: ~/.ssh/id_ed25519, port: 22, docker_host: unix:///var/run/docker.sock, root: /}
    groups:
      web:
        vars: {sudo: false}
        hosts:
          web1: {host: 10.0.0.1}
          web2: {host: 10.0.0.2, port: 2222}
      db:
        hosts: {db1: {}}     # host defaults to the name
    hosts:                   # ungrouped hosts allowed too
      bastion-peer: {host: 192.0.2.9, proxy_jump: jump@bastion:22}
"""


def test_our_yaml(tmp_path):
    common = {"user": "audit", "key_file": "/home/auditor/.ssh/id_ed25519", "port": 22,
              "docker_host": "unix:///var/run/docker.sock", "root": "/"}
    assert load(write(tmp_path, "fleet.yml", OURS)) == [
        Target("web1", "10.0.0.1", sudo=False, groups=("web",), **common),
        Target("web2", "10.0.0.2", sudo=False, groups=("web",), **{**common, "port": 2222}),
        Target("db1", "db1", sudo=True, groups=("db",), **common),
        Target("bastion-peer", "192.0.2.9", sudo=True, proxy_jump="jump@bastion:22", **common),
    ]


def test_our_yaml_host_in_several_groups_merges_them_in_file_order(tmp_path):
    path = write(tmp_path, "fleet.yaml", """
        defaults: {user: audit, port: 22}
        hosts:
          shared: {port: 2200}
        groups:
          zeta:
            vars: {user: zeta-user, docker_host: "tcp://127.0.0.1:2376", root: /zeta}
            hosts: {shared: {host: 10.9.9.9}, solo: ~}
          alpha:
            vars: {user: alpha-user, root: /alpha}
            hosts: {shared: {sudo: yes}}
          empty:
    """)
    targets = load(path)
    assert [t.name for t in targets] == ["shared", "solo"]  # once each, where first seen
    assert targets[0] == Target("shared", "10.9.9.9", port=2200, user="alpha-user", sudo=True,
                                docker_host="tcp://127.0.0.1:2376", root="/alpha",
                                groups=("zeta", "alpha"))
    assert targets[1] == Target("solo", "solo", port=22, user="zeta-user",
                                docker_host="tcp://127.0.0.1:2376", root="/zeta", groups=("zeta",))


def test_our_yaml_null_unsets_a_default(tmp_path):
    path = write(tmp_path, "fleet.yml", """
        defaults: {sudo: true, port: 2222}
        hosts:
          rootless: {sudo: null, port: ~}
    """)
    assert load(path) == [Target("rootless", "rootless")]


@pytest.mark.parametrize("text, problem", [
    ("defaults: {usr: audit}\nhosts: {h: {}}",
     "defaults: unknown key 'usr'; known keys: host, port, user, key, sudo, docker_host, root, proxy_jump"),
    ("groups:\n  web:\n    vars: {sudu: true, prot: 22}\n    hosts: {h: {}}",
     "group 'web' vars: unknown keys 'sudu', 'prot'"),
    ("hosts:\n  web1: {hostname: 10.0.0.1}", "host 'web1': unknown key 'hostname'"),
    ("groups:\n  web:\n    host: {web1: {}}", "group 'web': unknown key 'host'; a group has vars and hosts"),
    ("defaults: {user: a}\ngroup:\n  web: {hosts: {h: {}}}", "not an inventory (top-level keys 'defaults', 'group')"),
    ("hosts:\n  web1: {port: twenty-two}", "host 'web1': port must be a number from 1 to 65535, got 'twenty-two'"),
    ("hosts:\n  web1: {port: 0}", "host 'web1': port must be a number"),
    ("hosts:\n  web1: {port: true}", "port must be a number"),
    ("hosts:\n  web1: {sudo: maybe}", "host 'web1': sudo must be true or false, got 'maybe'"),
    ("hosts:\n  web1: {root: host}", "root must be an absolute path, got 'host'"),
    ("hosts:\n  web1: {user: [a, b]}", "user must be a string"),
    ("hosts:\n  web1: {host: 10.0.0.1 10.0.0.2}", "'10.0.0.1 10.0.0.2' is not a host name or address"),
    ("hosts:\n  web1: {host: ''}", "host is empty"),
    ("hosts:\n  web1: {proxy_jump: 'jump@bastion:ssh'}",
     "host 'web1': proxy_jump has a bad hop: target 'jump@bastion:ssh': port must be a number"),
    ("hosts:\n  web1: {user: '{{ audit_user }}'}", "user is a Jinja2 template"),
    ("hosts: [web1, web2]", "hosts must be a mapping, got ['web1', 'web2']"),
    ("hosts:\n  web1: 10.0.0.1", "host 'web1' must be a mapping, got '10.0.0.1'"),
    ("hosts:\n  ~: {host: 10.0.0.1}", "hosts: a host without a name"),
    ("hosts:\n  '': {host: 10.0.0.1}", "hosts: a host without a name"),
    ("hosts:\n  'web 1': {}", "'web 1' is not a valid host name"),
    ("groups:\n  web: [web1]", "group 'web' must be a mapping"),
])
def test_our_yaml_errors_name_the_file_the_place_and_the_problem(tmp_path, text, problem):
    message = load_error(write(tmp_path, "fleet.yml", text))
    assert message.startswith(f"{tmp_path / 'fleet.yml'}: ")
    assert problem in message


def test_duplicate_yaml_keys_are_refused_with_their_line(tmp_path):
    path = write(tmp_path, "fleet.yml", """
        hosts:
          web1: {host: 10.0.0.1}
          web2: {host: 10.0.0.2}
          web1: {host: 10.0.0.3}
    """)
    assert load_error(path) == f"{path}:4: not valid YAML: duplicate key 'web1'"


def test_yaml_merge_keys_still_work(tmp_path):
    path = write(tmp_path, "fleet.yml", """
        hosts:
          web1: &base {user: audit, port: 2222}
          web2: {<<: *base, port: 2200}
    """)
    assert [(t.user, t.port) for t in load(path)] == [("audit", 2222), ("audit", 2200)]


# -- Ansible INI and YAML: the same fleet written both ways --------------------------------------

ANSIBLE_INI = """
    # Production Docker hosts -- kept by ops, also used by our playbooks
    ; old-style comment
    bastion.example.com ansible_host=203.0.113.10 ansible_user=jump

    [web]
    web[01:03].example.com
    web-canary.example.com ansible_host=10.0.1.50 ansible_port=2222 ansible_become=True  # canary
    legacy ansible_ssh_host=10.0.1.99 ansible_ssh_port=22022 ansible_ssh_user=root ansible_ssh_private_key_file=~/.ssh/legacy_rsa

    [db]
    db-a.example.com dockbench_docker_host="unix:///run/docker.sock" ansible_ssh_common_args="-o StrictHostKeyChecking=yes -o ProxyJump=jump@bastion.example.com:22"
    db-[a:b].example.com:2201 dockbench_sudo=no

    [web:vars]
    ansible_user=deploy
    ansible_become=yes
    ansible_python_interpreter=/usr/bin/python3

    [db:vars]
    ansible_user = dbadmin
    dockbench_root = "/host"

    [prod:children]
    web
    db

    [prod:vars]
    ansible_port=22
    ansible_user=ops
    dockbench_docker_host=unix:///var/run/docker.sock

    [all:vars]
    ansible_ssh_private_key_file=~/.ssh/audit_ed25519
    ansible_become=false
"""

ANSIBLE_YAML = """
    all:
      vars:
        ansible_ssh_private_key_file: ~/.ssh/audit_ed25519
        ansible_become: false
      hosts:
        bastion.example.com: {ansible_host: 203.0.113.10, ansible_user: jump}
      children:
        prod:
          vars:
            ansible_port: 22
            ansible_user: ops
            dockbench_docker_host: unix:///var/run/docker.sock
          children:
            web:
              hosts:
                web[01:03].example.com:
                web-canary.example.com:
                  ansible_host: 10.0.1.50
                  ansible_port: 2222
                  ansible_become: yes
                legacy:
                  ansible_ssh_host: 10.0.1.99
                  ansible_ssh_port: "22022"
                  ansible_ssh_user: root
                  ansible_ssh_private_key_file: ~/.ssh/legacy_rsa
              vars:
                ansible_user: deploy
                ansible_become: true
                ansible_python_interpreter: /usr/bin/python3
            db:
              hosts:
                db-a.example.com:
                  dockbench_docker_host: unix:///run/docker.sock
                  ansible_ssh_common_args: -o StrictHostKeyChecking=yes -o ProxyJump=jump@bastion.example.com:22
                db-[a:b].example.com:2201: {dockbench_sudo: no}
              vars: {ansible_user: dbadmin, dockbench_root: /host}
"""

KEY = "/home/auditor/.ssh/audit_ed25519"
WEB = {"port": 22, "user": "deploy", "key_file": KEY, "sudo": True,
       "docker_host": "unix:///var/run/docker.sock", "groups": ("prod", "web")}
DB = {"port": 2201, "user": "dbadmin", "key_file": KEY, "sudo": False, "root": "/host", "groups": ("prod", "db")}
FLEET = [
    Target("bastion.example.com", "203.0.113.10", user="jump", key_file=KEY, sudo=False),
    Target("web01.example.com", "web01.example.com", **WEB),
    Target("web02.example.com", "web02.example.com", **WEB),
    Target("web03.example.com", "web03.example.com", **WEB),
    Target("web-canary.example.com", "10.0.1.50", **{**WEB, "port": 2222}),
    Target("legacy", "10.0.1.99", **{**WEB, "port": 22022, "user": "root",
                                     "key_file": "/home/auditor/.ssh/legacy_rsa"}),
    Target("db-a.example.com", "db-a.example.com", docker_host="unix:///run/docker.sock",
           proxy_jump="jump@bastion.example.com:22", **DB),
    Target("db-b.example.com", "db-b.example.com", docker_host="unix:///var/run/docker.sock", **DB),
]


def test_ansible_ini(tmp_path):
    assert load(write(tmp_path, "hosts", ANSIBLE_INI)) == FLEET


def test_ansible_ini_with_an_ini_suffix(tmp_path):
    assert load(write(tmp_path, "production.ini", ANSIBLE_INI)) == FLEET


def test_ansible_yaml(tmp_path):
    assert load(write(tmp_path, "hosts.yml", ANSIBLE_YAML)) == FLEET


def test_ansible_yaml_without_all_and_without_a_suffix(tmp_path):
    path = write(tmp_path, "inventory", """
        webservers:
          hosts:
            web1: {ansible_host: 10.0.0.1}
        dbservers:
          hosts: {db1: ~}
          vars: {ansible_user: postgres}
    """)
    assert load(path) == [Target("web1", "10.0.0.1", groups=("webservers",)),
                          Target("db1", "db1", user="postgres", groups=("dbservers",))]


def test_ansible_precedence_child_over_parent_then_by_name_as_ansible_does(tmp_path):
    path = write(tmp_path, "hosts", """
        [zz_parent:children]
        aa_child

        [zz_parent:vars]
        ansible_user=parent
        ansible_port=2200

        [aa_child]
        h1

        [zeta]
        h1
        h2 ansible_user=own

        [alpha]
        h1
        h2

        [zeta:vars]
        ansible_user=zeta
        [alpha:vars]
        ansible_user=alpha
        [aa_child:vars]
        ansible_user=child
    """)
    h1, h2 = load(path)
    # depth 1: alpha, zeta, zz_parent (by name); depth 2: aa_child wins over all of them
    assert (h1.user, h1.port, h1.groups) == ("child", 2200, ("alpha", "zeta", "zz_parent", "aa_child"))
    # same depth: the later name wins (zeta over alpha), host vars over both
    assert (h2.user, h2.groups) == ("own", ("alpha", "zeta"))


def test_ansible_same_depth_groups_merge_by_name(tmp_path):
    path = write(tmp_path, "hosts", "[zeta]\nh1\n[alpha]\nh1\n[zeta:vars]\nansible_port=1\n[alpha:vars]\nansible_port=2\n")
    assert load(path)[0].port == 1


def test_ansible_ini_details(tmp_path):
    path = write(tmp_path, "hosts", """
        [all]
        a1 ansible_become=1 ansible_ssh_extra_args='-J hop@jump:2022'
        a2 ansible_become=False dockbench_sudo=true ansible_private_key_file=/keys/a2
        a3 ansible_port=2201 ansible_ssh_common_args="-oProxyJump=j1,j2:2200"
        [ungrouped]
        u1 ansible_connection=ssh ansible_ssh_common_args="-o ServerAliveInterval=30"
        [n]
        node[0:10:5] ansible_user=svc
        r[1:2]-[a:b]
        [web]
        a1
        a1 ansible_port=2300
        [web:vars] # trailing comment
        ansible_user=web
        [empty:children]
    """)
    targets = {t.name: t for t in load(path)}
    assert list(targets) == ["a1", "a2", "a3", "u1", "node0", "node5", "node10",
                             "r1-a", "r1-b", "r2-a", "r2-b"]
    assert targets["a1"] == Target("a1", "a1", port=2300, user="web", sudo=True, proxy_jump="hop@jump:2022",
                                   groups=("web",))
    assert targets["a2"] == Target("a2", "a2", sudo=True, key_file="/keys/a2")  # dockbench_sudo over ansible_become
    assert targets["a3"].proxy_jump == "j1,j2:2200"
    assert targets["u1"] == Target("u1", "u1")
    assert targets["node5"] == Target("node5", "node5", user="svc", groups=("n",))


def test_zero_padded_ranges_keep_their_width(tmp_path):
    path = write(tmp_path, "hosts", "[web]\nweb[08:11].example.com\n")
    assert [t.name for t in load(path)] == [f"web{n}.example.com" for n in ("08", "09", "10", "11")]


def test_ansible_yaml_host_in_two_branches_is_listed_once(tmp_path):
    path = write(tmp_path, "hosts.yaml", """
        all:
          children:
            dc1:
              children:
                docker:
                  hosts: {d1: {ansible_port: 2201}}
            monitored:
              hosts:
                d1: {ansible_user: mon}
                d2:
            docker:
              vars: {dockbench_docker_host: "unix:///run/user/1000/docker.sock"}
    """)
    d1, d2 = load(path)
    assert d1 == Target("d1", "d1", port=2201, user="mon", docker_host="unix:///run/user/1000/docker.sock",
                        groups=("dc1", "monitored", "docker"))
    assert d2 == Target("d2", "d2", groups=("monitored",))


@pytest.mark.parametrize("text, line, problem", [
    ("[web\nweb1", 1, "bad section header '[web'"),
    ("[web]\nweb1\n[web:hosts_and_more]\n", 3, "bad section header"),
    ("[web]\nansible_host=10.0.0.1 ansible_user=a", 2, "a host line must start with the host name"),
    ("[web]\nweb1 ansible_port=ssh", 2, "ansible_port must be a number from 1 to 65535, got 'ssh'"),
    ("[web]\nweb1 ansible_ssh_port=99999", 2, "ansible_ssh_port must be a number"),
    ("web1\nthis is garbage", 2, "expected key=value after the host name, got 'is'"),
    ("[web]\nweb1 ansible_host='10.0.0.1", 2, "No closing quotation"),
    ("[web:vars]\nansible_user=a\njust words", 3, "expected key=value in [web:vars], got 'just words'"),
    ("[web:vars]\n=value", 2, "expected key=value"),
    ("[prod:children]\nweb db", 2, "expected one group name in [prod:children]"),
    ("[web]\nweb[3:1]", 2, "empty host range '[3:1]'"),
    ("[web]\nweb[a:3]", 2, "bad host range"),
    ("[web]\nweb[1:3:0]", 2, "bad host range"),
    ("[web]\nweb1 ansible_become=maybe", 2, "ansible_become must be true or false, got 'maybe'"),
    ("[web]\nweb1 dockbench_root=host", 2, "dockbench_root must be an absolute path"),
    ("[web]\nweb1 ansible_host=\"{{ lookup('env', 'IP') }}\"", 2, "ansible_host is a Jinja2 template"),
    ("[web]\nweb1 ansible_host=", 2, "ansible_host is empty"),
    ("[web]\nweb1 ansible_ssh_common_args='-J bad@host:port'", 2, "port must be a number"),
    ("[web]\nweb1 ansible_ssh_common_args='-o \"ProxyJump'", 2, "ansible_ssh_common_args: No closing quotation"),
    ("[web]\nweb1:0", 2, "port of 'web1:0' must be a number"),
    ("[web]\nweb1,web2", 2, "'web1,web2' is not a valid host name"),
    ("[web group]\nweb1", 1, "bad section header"),
])
def test_ansible_ini_errors_name_the_line(tmp_path, text, line, problem):
    path = write(tmp_path, "hosts", text)
    message = load_error(path)
    assert message.startswith(f"{path}:{line}: ")
    assert problem in message


def test_group_cycles_are_refused(tmp_path):
    path = write(tmp_path, "hosts", "[a:children]\nb\n[b:children]\na\n[b]\nh1\n")
    assert "is its own ancestor" in load_error(path)


@pytest.mark.parametrize("text, problem", [
    ("all:\n  children:\n    web:\n      host:\n        web1:", "group 'web': unknown key 'host'; an Ansible group has hosts, children and vars"),
    ("all:\n  hosts: [web1, web2]", "group 'all' hosts must be a mapping"),
    ("all:\n  hosts:\n    web1: {ansible_port: [22]}", "group 'all', host 'web1': ansible_port must be a number"),
    ("all:\n  vars: {ansible_user: '{{ lookup(\"env\", \"USER\") }}'}\n  hosts: {h: ~}", "group 'all' vars: ansible_user is a Jinja2 template"),
    ("all:\n  children:\n    a:\n      children: {a: {hosts: {h: ~}}}", "group 'a' contains itself"),
    ("all:\n  children:\n    a: &a\n      children: {b: *a}", "not valid YAML: found unconstructable recursive node"),
    ("all:\n  hosts:\n    'web 1':", "'web 1' is not a valid host name"),
])
def test_ansible_yaml_errors(tmp_path, text, problem):
    path = write(tmp_path, "hosts.yml", text)
    message = load_error(path)
    assert message.startswith(str(path))
    assert problem in message


# -- detection and files that are not inventories ------------------------------------------------

def test_broken_yaml_in_a_yaml_file_is_a_yaml_error(tmp_path):
    path = write(tmp_path, "fleet.yml", "groups:\n  web:\n    hosts: {web1: {host: 10.0.0.1}\n  db: {}\n")
    message = load_error(path)
    assert message.startswith(f"{path}:4: not valid YAML: ")


def test_broken_yaml_without_a_suffix_reports_both_readings(tmp_path):
    path = write(tmp_path, "inventory", "defaults:\n  user: audit\n hosts:\n  web1: {host: x}\n")
    message = load_error(path)
    assert "read as an Ansible INI inventory" in message
    assert f"as YAML: {path}:3: not valid YAML" in message


@pytest.mark.parametrize("name, text, problem", [
    ("empty.yml", "", "the inventory lists no hosts"),
    ("hosts", "# nothing yet\n; really nothing\n\n", "the inventory lists no hosts"),
    ("hosts", "[web]\n[db]\n[web:vars]\nansible_user=a\n", "the inventory lists no hosts"),
    ("fleet.yml", "groups: {}\n", "the inventory lists no hosts"),
    ("fleet.yaml", "- web1\n- web2\n", "expected a mapping at the top level, got ['web1', 'web2']"),
    ("fleet.json", '{"servers": ["web1"]}', "not an inventory (top-level keys 'servers')"),
])
def test_files_that_are_not_usable_inventories(tmp_path, name, text, problem):
    path = write(tmp_path, name, text)
    assert load_error(path).startswith(f"{path}: {problem}")


def test_json_inventory_in_our_format(tmp_path):
    path = write(tmp_path, "fleet.json", '{"hosts": {"web1": {"host": "10.0.0.1", "port": 2222}}}')
    assert load(path) == [Target("web1", "10.0.0.1", port=2222)]


def test_unreadable_files(tmp_path):
    assert "cannot read the inventory: No such file or directory" in load_error(tmp_path / "missing.yml")
    assert "cannot read the inventory: Is a directory" in load_error(tmp_path)
    binary = tmp_path / "hosts"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    assert load_error(binary) == f"{binary}: not a text file (not UTF-8)"


def test_windows_line_endings_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "hosts"
    path.write_bytes(b"\xef\xbb\xbf[web]\r\nweb1 ansible_port=2222\r\n")
    assert load(path) == [Target("web1", "web1", port=2222, groups=("web",))]


@pytest.mark.parametrize("name, text", [("fleet.yml", OURS), ("hosts", ANSIBLE_INI), ("hosts.yml", ANSIBLE_YAML)])
def test_any_truncation_gives_targets_or_an_inventory_error_never_a_traceback(tmp_path, name, text):
    text = textwrap.dedent(text).lstrip("\n")
    path = tmp_path / name
    for cut in range(0, len(text), 3):
        path.write_text(text[:cut])
        try:
            targets = load(path)
        except InventoryError:
            continue
        assert all(isinstance(t, Target) for t in targets)


# -- --limit -------------------------------------------------------------------------------------

WEB1 = Target("web1", "10.0.0.1", groups=("prod", "web"))
WEB2 = Target("web2", "10.0.0.2", groups=("prod", "web"))
DB1 = Target("db1", "10.0.1.1", groups=("prod", "db"))
DB2 = Target("db2", "10.0.1.2", groups=("staging", "db"))
BASTION = Target("bastion", "192.0.2.9")
TARGETS = [WEB1, WEB2, DB1, DB2, BASTION]


@pytest.mark.parametrize("pattern, expected", [
    ("web1", [WEB1]),
    ("web*", [WEB1, WEB2]),
    ("prod", [WEB1, WEB2, DB1]),
    ("db", [DB1, DB2]),
    ("db2,web1", [WEB1, DB2]),               # inventory order, not pattern order
    (" web1 , bastion ", [WEB1, BASTION]),
    ("prod,!db*", [WEB1, WEB2]),
    ("!prod", [DB2, BASTION]),
    ("!prod,!bastion", [DB2]),
    ("prod,&db", [DB1]),
    ("&db", [DB1, DB2]),
    ("all", TARGETS),
    ("*", TARGETS),
    ("all,!web", [DB1, DB2, BASTION]),
    ("~db[0-9]", [DB1, DB2]),
    ("~(web|bast)", [WEB1, WEB2, BASTION]),
    ("web?,db1", [WEB1, WEB2, DB1]),
    ("WEB1", []),                             # case matters, as in Ansible
    ("nothing", []),
    ("10.0.0.1", []),                         # names, not addresses
    ("", TARGETS),
])
def test_limit(pattern, expected):
    assert limit(TARGETS, pattern) == expected


def test_limit_with_a_bad_regex():
    with pytest.raises(InventoryError, match=r"--limit: bad regular expression '\(web'"):
        limit(TARGETS, "~(web")


def test_limit_on_a_loaded_inventory(tmp_path):
    targets = load(write(tmp_path, "hosts", ANSIBLE_INI))
    assert [t.name for t in limit(targets, "prod,!web0[2-3]*,!db-b*")] == [
        "web01.example.com", "web-canary.example.com", "legacy", "db-a.example.com"]
