# dockbench probe: gathers every fact the checks need, in one pass, and changes nothing.
# POSIX sh only (dash, bash, busybox ash); no python, jq or temporary files on the target.
# The runner prepends assignments of DB_ROOT, DB_DOCKER_HOST, DB_ROUND, DB_STAT, DB_READ and
# DB_SWARM_MANAGER; round 2 only looks at what round 1 revealed.
#
# Output is a sequence of records, each self-delimiting so that any bytes in file contents
# survive (NUL bytes excepted: the shell cannot hold them):
#   @@dockbench <stream> <rc> <name length> <data length>\n<name><data>\n
# stream is "o" (stdout, rc = exit status) or "e" (stderr, rc = "-"); lengths are in bytes.

LC_ALL=C
export LC_ALL
PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
R=${DB_ROOT%/}
T=
command -v timeout >/dev/null 2>&1 && T="timeout 120"

frame() {
	printf '@@dockbench %s %s %s %s\n%s%s\n' "$1" "$2" "${#3}" "${#4}" "$3" "$4"
}

# run NAME COMMAND...: one record of the command's stdout and exit status, one of its stderr.
# The exit status is also left in _rc.
run() {
	_name=$1
	shift
	{
		_err=$( {
			_out=$("$@" 2>&3; printf 'x%s' "$?")
			frame o "${_out##*x}" "$_name" "${_out%x*}" >&4
			exit "${_out##*x}"
		} 3>&1)
		_rc=$?
	} 4>&1
	[ -z "$_err" ] || frame e - "$_name" "$_err"
}

# stat_path PATH: its type, owner and mode. A path missing from a directory we can search is
# recorded as absent without a stat process: most candidate paths do not exist on any host.
stat_path() {
	if [ ! -e "$R$1" ] && [ ! -L "$R$1" ] && [ -x "$R${1%/*}/" ]; then
		frame o 1 "stat:$1" ""
		frame e - "stat:$1" "No such file or directory"
		_rc=1
		return
	fi
	run "stat:$1" stat -L -c '%f %u %g %s %Y' -- "$R$1"
}

read_path() {
	stat_path "$1"
	[ "$_rc" = 0 ] && [ ! -d "$R$1" ] && run "read:$1" cat -- "$R$1"
}

# each_line VAR FUNCTION: call FUNCTION for each non-empty line of VAR.
each_line() {
	while IFS= read -r _line; do
		[ -n "$_line" ] && "$2" "$_line"
	done <<EOF
$1
EOF
}

# inspect_all IDS...: one `docker inspect` of every object named, whatever its type, so
# containers, images and networks cost one CLI start (xargs splits a list too long for one
# command line and skips the empty ones).
inspect_all() {
	printf '%s\n' "$@" | xargs $T docker inspect
}

# image_configs: every image's config (its build history) from the daemon's image store, one
# record per store, whatever the number of images; the store is readable by root only.
image_configs() {
	_dr=$($T docker info --format '{{.DockerRootDir}}' 2>/dev/null) || return
	stat_path "$_dr/image"
	[ "$_rc" = 0 ] || return
	frame o 0 image-store "$_dr/image"
	for _d in "$R$_dr"/image/*/imagedb/content/sha256; do
		[ -d "$_d" ] && run "image-configs:${_d#"$R"}" grep -r '' "$_d"
	done
}

frame o 0 probe "1 $DB_ROUND"

if [ -n "$DB_DOCKER_HOST" ]; then
	DOCKER_HOST=$DB_DOCKER_HOST
	export DOCKER_HOST
fi

if [ "$DB_ROUND" = 2 ]; then
	each_line "$DB_STAT" stat_path
	each_line "$DB_READ" read_path
	[ "$DB_SWARM_MANAGER" = 1 ] && run docker:nodes $T docker node ls --format '{{json .}}'
	frame o 0 end ""
	exit 0
fi

# --- who and where
run id id -u
run uname uname -srm
run nodename uname -n
for p in /etc/hostname /etc/os-release /usr/lib/os-release /etc/passwd /etc/group; do
	read_path "$p"
done

# --- kernel tunables (read with the shell's own read: no process per value)
for k in kernel/unprivileged_bpf_disabled kernel/kptr_restrict kernel/dmesg_restrict \
	kernel/unprivileged_userns_clone user/max_user_namespaces kernel/yama/ptrace_scope \
	fs/protected_symlinks fs/protected_hardlinks fs/protected_fifos fs/protected_regular \
	net/ipv4/ip_forward kernel/randomize_va_space; do
	_v=
	[ -e "$R/proc/sys/$k" ] || continue
	{ read -r _v <"$R/proc/sys/$k"; } 2>/dev/null # procfs may answer 1 with a value read
	frame o 0 "sysctl:$k" "$_v"
done
[ -e "$R/sys/kernel/security/apparmor" ] && frame o 0 lsm:apparmor ""
if [ -e "$R/sys/fs/selinux/enforce" ]; then
	{ read -r _v <"$R/sys/fs/selinux/enforce"; } 2>/dev/null
	frame o 0 lsm:selinux "$_v"
fi
# the Seccomp lines of our own status (the running kernel, whatever the root): the kernel
# prints them only when built with seccomp. The shell's read keeps it to no new process.
if [ -r /proc/self/status ]; then
	_v=
	while IFS= read -r _line; do
		case $_line in Seccomp*) _v="$_v$_line
" ;; esac
	done </proc/self/status
	frame o 0 kernel:seccomp "$_v"
fi

# --- mounts: the host's view when readable, our own otherwise
read_path /proc/1/mountinfo
[ "$_rc" = 0 ] || read_path /proc/self/mountinfo

# --- audit rules: the loaded set, the files that load them, and the daemon that would
if command -v auditctl >/dev/null 2>&1 && [ -z "$R" ]; then
	run auditctl auditctl -l
fi
for p in /sbin/auditd /usr/sbin/auditd; do
	stat_path "$p"
done
read_path /etc/audit/audit.rules
for f in "$R"/etc/audit/rules.d/*.rules; do
	[ -e "$f" ] && read_path "${f#"$R"}"
done

# --- daemon configuration files, unit files and binaries
for p in /etc/docker/daemon.json /etc/default/docker /etc/sysconfig/docker \
	/root/.docker/config.json /etc/containerd/config.toml; do
	read_path "$p"
done
for d in /etc/systemd/system /run/systemd/system /usr/local/lib/systemd/system \
	/lib/systemd/system /usr/lib/systemd/system; do
	for u in docker.service docker.socket containerd.service; do
		read_path "$d/$u"
	done
	for f in "$R$d"/docker.service.d/*.conf "$R$d"/docker.socket.d/*.conf; do
		[ -e "$f" ] && read_path "${f#"$R"}"
	done
done
for p in /etc/docker /var/lib/docker /var/run/docker.sock /run/containerd \
	/run/containerd/containerd.sock /usr/bin/dockerd /usr/sbin/dockerd /usr/bin/containerd \
	/usr/bin/containerd-shim /usr/bin/containerd-shim-runc-v1 /usr/bin/containerd-shim-runc-v2 \
	/usr/bin/runc /usr/sbin/runc /etc/docker/certs.d; do
	stat_path "$p"
done
case $DB_DOCKER_HOST in
unix://*)
	_s=${DB_DOCKER_HOST#unix://}
	stat_path "${_s#"$R"}"
	;;
esac
# registry certificates are read (public material); their private keys are only stat'ed,
# also a key in a file named like a certificate (grep prints nothing of it)
for f in "$R"/etc/docker/certs.d/* "$R"/etc/docker/certs.d/*/*; do
	[ -e "$f" ] || continue
	case $f in
	*.crt | *.cert | *.pem)
		if [ -f "$f" ] && grep -q 'PRIVATE KEY-----' "$f" 2>/dev/null; then
			stat_path "${f#"$R"}"
			frame o 0 "private-key:${f#"$R"}" ""
		elif [ -f "$f" ]; then
			read_path "${f#"$R"}"
		fi
		;;
	*) stat_path "${f#"$R"}" ;;
	esac
done
# listening TCP sockets only: /proc/net/tcp lists every connection, megabytes on a busy host
for t in tcp tcp6; do
	[ -r "$R/proc/net/$t" ] && run "listen:$t" grep -E '^ *[0-9]+: [0-9A-F]+:[0-9A-F]+ [0-9A-F]+:[0-9A-F]+ 0A ' "$R/proc/net/$t"
done

# --- every dockerd process (command line, owner, --config-file), which cgroup any sshd is in,
# and whether an audit daemon runs ("processes" says the process table was there to look at)
[ -d "$R/proc/1" ] && frame o 0 processes ""
for d in "$R"/proc/[0-9]*; do
	_c=
	{ read -r _c <"$d/comm"; } 2>/dev/null
	_pid=${d##*/}
	if [ "$_c" = auditd ]; then
		frame o 0 "process:auditd:$_pid" ""
		continue
	fi
	if [ "$_c" = sshd ]; then
		run "cgroup:$_pid" cat "$d/cgroup"
		continue
	fi
	[ "$_c" = dockerd ] || continue
	_argv=$(tr '\000' '\n' <"$d/cmdline" 2>/dev/null) || continue
	frame o 0 "cmdline:$_pid" "$_argv"
	stat_path "/proc/$_pid"
	_next=
	while IFS= read -r _a; do
		if [ -n "$_next" ]; then
			read_path "$_a"
			_next=
		fi
		case $_a in
		--config-file=*) read_path "${_a#--config-file=}" ;;
		--config-file) _next=1 ;;
		esac
	done <<EOF
$_argv
EOF
done

# --- the Docker daemon, in batched calls whatever the number of containers
frame o 0 env:DOCKER_CONTENT_TRUST "${DOCKER_CONTENT_TRUST-}"
frame o 0 env:DOCKER_HOST "${DOCKER_HOST-}"
run docker:info $T docker info --format '{{json .}}'
if [ "$_rc" = 0 ]; then
	run docker:version $T docker version --format '{{json .}}'
	# the id lists tell the kind of each object inspected
	_c=$($T docker ps -aq --no-trunc)
	frame o "$?" docker:ids:containers "$_c"
	_i=$($T docker image ls -aq --no-trunc | sort -u)
	frame o "$?" docker:ids:images "$_i"
	_n=$($T docker network ls -q --no-trunc)
	frame o "$?" docker:ids:networks "$_n"
	[ -n "$_c$_i$_n" ] && run docker:inspect inspect_all "$_c" "$_i" "$_n"
	[ -n "$_i" ] && image_configs
fi
frame o 0 end ""
