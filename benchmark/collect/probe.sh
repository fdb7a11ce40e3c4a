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
# The docker CLIs are Go programs: one thread running Go code serves their one request to the
# daemon with less CPU than one per core (the environment of the probe's children only).
GOMAXPROCS=1
export GOMAXPROCS
R=${DB_ROOT%/}
T=
command -v timeout >/dev/null 2>&1 && T="timeout 120"

frame() {
	printf '@@dockbench %s %s %s %s\n%s%s\n' "$1" "$2" "${#3}" "${#4}" "$3" "$4"
}

# run NAME COMMAND...: one record of the command's stdout and exit status, one of its stderr.
# The exit status is also left in _rc. With _keep set, the stdout also goes to fd 5 (run_keep).
run() {
	flush
	_name=$1
	shift
	{
		_err=$( {
			_out=$("$@" 2>&3; printf 'x%s' "$?")
			_rc=${_out##*x}
			_out=${_out%x*}
			frame o "$_rc" "$_name" "$_out" >&4
			[ -z "$_keep" ] || printf '%s' "$_out" >&5
			exit "$_rc"
		} 3>&1)
		_rc=$?
	} 4>&1
	[ -z "$_err" ] || frame e - "$_name" "$_err"
	return "$_rc"
}

# run_keep NAME COMMAND...: as run, and the command's stdout is also left in _kept.
run_keep() {
	flush # here: the subshell below cannot empty the queue
	_keep=1
	{ _kept=$(run "$@" 5>&1 >&7); } 7>&1
	_rc=$?
	_keep=
}

# record STREAM RC NAME DATA: a record of the probe's own, after those of the queued paths.
record() {
	flush
	frame "$@"
}

# --- paths to stat and read: queued, then looked at in batches (one stat process for many
# paths, small files read by the shell itself), and recorded in the order they were queued,
# exactly as one stat and one cat per path would record them. Everything that records
# anything else flushes the queue first. A path holding a newline is looked at alone.
NL='
'
STAT_FORMAT='%f %u %g %s %Y'
SHELL_READ_MAX=2048 # bytes; above this a cat process costs less than the shell's read loop
_q=

stat_path() {
	queue s "$1"
}

read_path() {
	queue r "$1"
}

# queue KIND PATH: KIND s (stat) or r (stat, and read if it is not a directory).
queue() {
	case $2 in
	*"$NL"*)
		flush
		look_alone "$1" "$2"
		;;
	*) _q="$_q$1$2$NL" ;;
	esac
}

# look_alone KIND PATH: one stat (and cat) process for this path. A path missing from a
# directory we can search is recorded as absent without a process: most candidate paths
# do not exist on any host.
look_alone() {
	if absent "$2"; then
		frame o 1 "stat:$2" ""
		frame e - "stat:$2" "No such file or directory"
		_rc=1
		return
	fi
	run "stat:$2" stat -L -c "$STAT_FORMAT" -- "$R$2"
	[ "$1" = r ] && [ "$_rc" = 0 ] && [ ! -d "$R$2" ] && run "read:$2" cat -- "$R$2"
}

absent() {
	[ ! -e "$R$1" ] && [ ! -L "$R$1" ] && [ -x "$R${1%/*}/" ]
}

# flush: the records of every queued path. _rc is left as for the last path: its cat's
# status if it was read, else its stat's.
flush() {
	[ -n "$_q" ] || return 0
	_fq=$_q
	_q=
	# sort the paths: those stat will find (-e follows links, as stat -L), those it will
	# not and must say why, and those absent from a directory we can search
	_found=
	_missing=
	_kinds=
	while IFS= read -r _e; do
		[ -n "$_e" ] || continue
		if [ -e "$R${_e#?}" ]; then
			_found="$_found${_e#?}$NL"
			_kinds=${_kinds}f
		elif absent "${_e#?}"; then
			_kinds=${_kinds}a
		else
			_missing="$_missing${_e#?}$NL"
			_kinds=${_kinds}m
		fi
	done <<EOF
$_fq
EOF
	# a batch is trusted only if each of its paths printed exactly one line (of stat output
	# for the found, of error for the missing); otherwise its paths are looked at alone
	if [ -n "$_found" ]; then
		_fs=$(stat_batch "$_found" 2>/dev/null; printf 'x%s' "$?")
		[ "${_fs##*x}" = 0 ] && same_lines "${_fs%x*}" "$_found" || _kinds=$(printf '%s' "$_kinds" | tr f F)
		_fs=${_fs%x*}
	fi
	if [ -n "$_missing" ]; then
		_ms=$(stat_batch "$_missing" 2>&1 >/dev/null; printf 'x%s' "$?")
		[ "${_ms##*x}" = 1 ] && same_lines "${_ms%x*}" "$_missing" || _kinds=$(printf '%s' "$_kinds" | tr m M)
		_ms=${_ms%x*}
	fi
	while IFS= read -r _e; do
		[ -n "$_e" ] || continue
		_kind=${_kinds%"${_kinds#?}"}
		_kinds=${_kinds#?}
		_p=${_e#?}
		case $_kind in
		f)
			_line=${_fs%%"$NL"*}
			_fs=${_fs#*"$NL"}
			frame o 0 "stat:$_p" "$_line$NL"
			_rc=0
			[ "${_e%"$_p"}" = r ] && [ ! -d "$R$_p" ] && read_file "$_p" "$_line"
			;;
		m)
			_line=${_ms%%"$NL"*}
			_ms=${_ms#*"$NL"}
			frame o 1 "stat:$_p" ""
			frame e - "stat:$_p" "$_line"
			_rc=1
			;;
		*) look_alone "${_e%"$_p"}" "$_p" ;;
		esac
	done <<EOF
$_fq
EOF
}

# stat_batch LIST: one stat of every path in the newline-separated LIST.
stat_batch() {
	_list=$1
	set --
	while IFS= read -r _b; do
		[ -n "$_b" ] && set -- "$@" "$R$_b"
	done <<EOF
$_list
EOF
	stat -L -c "$STAT_FORMAT" -- "$@"
}

# same_lines A B: A and B hold as many newlines.
same_lines() {
	_a=$1
	_b=$2
	while :; do
		case $_a in *"$NL"*) ;; *) break ;; esac
		case $_b in *"$NL"*) ;; *) return 1 ;; esac
		_a=${_a#*"$NL"}
		_b=${_b#*"$NL"}
	done
	case $_b in *"$NL"*) return 1 ;; esac
}

# read_file PATH STAT_LINE: the read: record of a path stat found. A small regular file is
# read by the shell (the bytes cat would print, NUL bytes dropped as by any command
# substitution); anything else, or a file the shell cannot open, by cat.
read_file() {
	_size=${2#* * * }
	_size=${_size%% *}
	if [ -f "$R$1" ] && [ -r "$R$1" ] && [ "$_size" -gt 0 ] && [ "$_size" -le "$SHELL_READ_MAX" ] && shell_read "$R$1"; then
		frame o 0 "read:$1" "$_v"
		_rc=0
	else
		run "read:$1" cat -- "$R$1"
	fi
}

# shell_read FILE: its contents in _v, trailing newlines and a last line without one kept.
shell_read() {
	_v=
	_l=
	{
		while IFS= read -r _l; do
			_v="$_v$_l$NL"
		done <"$1"
	} 2>/dev/null || return
	_v="$_v$_l"
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

# mount_facts INSPECT: what the containers' mounts reach, read from the inspect output: one
# `docker volume inspect` of the named volumes they use (driver and options: a local volume may
# bind a host directory), then the real path of every mount source, volume device and runtime
# socket (one readlink for all; /var/run is /run on most hosts). Names and paths are read off
# the indented JSON line by line; one holding a quote or backslash is left out.
mount_facts() {
	_vols=$(printf '%s\n' "$1" | sed -n '/^ *"Type": "volume",$/{n;s/^ *"Name": "\([^"\\]*\)",$/\1/p;}' | sort -u)
	record o 0 docker:volume-names "$_vols"
	_dev=
	if [ -n "$_vols" ]; then
		run_keep docker:volumes volume_inspect $_vols
		_dev=$(printf '%s\n' "$_kept" | sed -n 's/^ *"device": "\(\/[^"\\]*\)",\{0,1\}$/\1/p')
	fi
	_src=$(printf '%s\n' "$1" | sed -n 's/^ *"Source": "\(\/[^"\\]*\)",\{0,1\}$/\1/p')
	real_paths "$(printf '%s\n' "$_src" "$_dev" $RUNTIME_SOCKETS ${_s:+"${_s#"$R"}"} | sort -u)"
	record o 0 realpaths ""
}

volume_inspect() {
	printf '%s\n' "$@" | xargs $T docker volume inspect
}

# real_paths LIST: a realpath:PATH record for each path of the newline-separated LIST, its
# symbolic links resolved (rc 1 and no path where nothing exists): one readlink for them all,
# trusted only when it printed a line per path, else one readlink per path.
real_paths() {
	_list=$1
	_all=
	set --
	while IFS= read -r _p; do
		[ -n "$_p" ] || continue
		if [ -e "$R$_p" ]; then
			_all="$_all$_p$NL"
			set -- "$@" "$R$_p"
		else
			record o 1 "realpath:$_p" "" # nothing there to resolve
		fi
	done <<EOF
$_list
EOF
	[ $# -gt 0 ] || return 0
	_out=$(readlink -f -- "$@" 2>/dev/null; printf 'x%s' "$?")
	_ok=
	[ "${_out##*x}" = 0 ] && same_lines "${_out%x*}" "$_all" && _ok=1
	_out=${_out%x*}
	while IFS= read -r _p; do
		[ -n "$_p" ] || continue
		if [ -n "$_ok" ]; then
			record o 0 "realpath:$_p" "${_out%%"$NL"*}$NL" # as readlink prints it
			_out=${_out#*"$NL"}
		else
			run "realpath:$_p" readlink -f -- "$R$_p"
		fi
	done <<EOF
$_all
EOF
}

# image_configs INFO: every image's config (its build history) from the daemon's image store,
# one record per store, whatever the number of images; the store is readable by root only.
# The store's place is read from docker info's JSON (INFO), asked of the daemon again only
# where the JSON escapes a character of it.
image_configs() {
	_dr=${1#*'"DockerRootDir":"'}
	_dr=${_dr%%'"'*}
	case $1 in *'"DockerRootDir":"'*) ;; *) _dr='\' ;; esac
	case $_dr in *'\'*) _dr=$($T docker info --format '{{.DockerRootDir}}' 2>/dev/null) || return ;; esac
	stat_path "$_dr/image"
	flush
	[ "$_rc" = 0 ] || return
	record o 0 image-store "$_dr/image"
	for _d in "$R$_dr"/image/*/imagedb/content/sha256; do
		[ -d "$_d" ] && run "image-configs:${_d#"$R"}" grep -r '' "$_d"
	done
}

record o 0 probe "1 $DB_ROUND"

if [ -n "$DB_DOCKER_HOST" ]; then
	DOCKER_HOST=$DB_DOCKER_HOST
	export DOCKER_HOST
fi

if [ "$DB_ROUND" = 2 ]; then
	each_line "$DB_STAT" stat_path
	each_line "$DB_READ" read_path
	[ "$DB_SWARM_MANAGER" = 1 ] && run docker:nodes $T docker node ls --format '{{json .}}'
	record o 0 end ""
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
	record o 0 "sysctl:$k" "$_v"
done
[ -e "$R/sys/kernel/security/apparmor" ] && record o 0 lsm:apparmor ""
if [ -e "$R/sys/fs/selinux/enforce" ]; then
	{ read -r _v <"$R/sys/fs/selinux/enforce"; } 2>/dev/null
	record o 0 lsm:selinux "$_v"
fi
# the Seccomp lines of our own status (the running kernel, whatever the root): the kernel
# prints them only when built with seccomp. The shell's read keeps it to no new process.
if [ -r /proc/self/status ]; then
	_v=
	while IFS= read -r _line; do
		case $_line in Seccomp*) _v="$_v$_line
" ;; esac
	done </proc/self/status
	record o 0 kernel:seccomp "$_v"
fi

# --- mounts: the host's view when readable, our own otherwise
read_path /proc/1/mountinfo
flush
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
# the runtimes' sockets where they put them by default (Docker, containerd, Docker's own
# containerd, CRI-O, Podman, BuildKit)
RUNTIME_SOCKETS="/var/run/docker.sock /run/containerd/containerd.sock /run/docker/containerd/containerd.sock
/run/crio/crio.sock /run/podman/podman.sock /run/buildkit/buildkitd.sock"
for p in $RUNTIME_SOCKETS; do
	stat_path "$p"
done
for p in /etc/docker /var/lib/docker /run/containerd /usr/bin/dockerd /usr/sbin/dockerd /usr/bin/containerd \
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
			record o 0 "private-key:${f#"$R"}" ""
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
[ -d "$R/proc/1" ] && record o 0 processes ""
for d in "$R"/proc/[0-9]*; do
	_c=
	{ read -r _c <"$d/comm"; } 2>/dev/null
	_pid=${d##*/}
	if [ "$_c" = auditd ]; then
		record o 0 "process:auditd:$_pid" ""
		continue
	fi
	if [ "$_c" = sshd ]; then
		if shell_read "$d/cgroup"; then
			record o 0 "cgroup:$_pid" "$_v"
		else
			run "cgroup:$_pid" cat "$d/cgroup" # gone meanwhile: cat says so
		fi
		continue
	fi
	[ "$_c" = dockerd ] || continue
	_argv=$(tr '\000' '\n' <"$d/cmdline" 2>/dev/null) || continue
	record o 0 "cmdline:$_pid" "$_argv"
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
record o 0 env:DOCKER_CONTENT_TRUST "${DOCKER_CONTENT_TRUST-}"
record o 0 env:DOCKER_HOST "${DOCKER_HOST-}"
run_keep docker:info $T docker info --format '{{json .}}'
if [ "$_rc" = 0 ]; then
	run docker:version $T docker version --format '{{json .}}'
	# the id lists tell the kind of each object inspected
	_c=$($T docker ps -aq --no-trunc)
	record o "$?" docker:ids:containers "$_c"
	_i=$($T docker image ls -aq --no-trunc | sort -u)
	record o "$?" docker:ids:images "$_i"
	_n=$($T docker network ls -q --no-trunc)
	record o "$?" docker:ids:networks "$_n"
	_info=$_kept
	[ -n "$_c$_i$_n" ] && run_keep docker:inspect inspect_all "$_c" "$_i" "$_n"
	[ -n "$_c" ] && mount_facts "$_kept"
	[ -n "$_i" ] && image_configs "$_info"
fi
record o 0 end ""
