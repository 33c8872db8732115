#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Install the real QEMU peers the tests make and load migration streams
# with (docs/design.md section 7; tests/qemu/README.md):
#   debian12  Debian 12's qemu-system-x86 (QEMU 7.2), on the host, with apt-get;
#   trixie    Debian 13 (QEMU 10.0) and
#   sid       Debian unstable (newest QEMU), each in a debootstrap chroot
#             under $FREDCK_CHROOTS (default /var/cache/fredck/chroots),
#             outside the source tree so a CI cache can keep it.
#
# Idempotent: installed packages and working chroots are kept (a chroot
# "works" when "chroot DIR qemu-system-x86_64 --version" does).  A peer
# that cannot be installed (no network, mirror down, sid uninstallable
# today) is reported with the reason and the script goes on; the reason
# is kept in $FREDCK_CHROOTS/SUITE.failed, and that peer's tests then say
# "skipped" with it (tests/qemu/qemu-peer.sh, qemu_peer_skip_reason).
# Exit status 0 even then, unless FREDCK_QEMU_PEERS_STRICT=1.
#
# Environment:
#   FREDCK_CHROOTS          chroot directory (default /var/cache/fredck/chroots)
#   FREDCK_QEMU_CHROOTS     suites to build (default "trixie sid"; "" for none)
#   FREDCK_CHROOT_REBUILD   suites to rebuild even if they work (e.g. "sid",
#                           whose QEMU moves on); the old one stays if the
#                           rebuild fails
#   FREDCK_DEBIAN_MIRROR    the Debian archive to debootstrap from (default:
#                           the one this machine's apt uses, so that a
#                           local mirror is honoured; apt's proxy too)
#   FREDCK_DEB_CACHE        debootstrap's package cache, shared by the
#                           suites and kept for rebuilds (default
#                           /var/cache/fredck/debs)
#   FREDCK_CHROOT_TIMEOUT   seconds one debootstrap may take (default 600)
#   FREDCK_QEMU_PEERS_STRICT=1  exit 1 when a peer is missing
set -u

CHROOTS=${FREDCK_CHROOTS:-/var/cache/fredck/chroots}
SUITES=${FREDCK_QEMU_CHROOTS-trixie sid}
REBUILD=${FREDCK_CHROOT_REBUILD:-}
# The Debian archive this machine's apt uses, and apt's proxy.
# shellcheck source=debian-mirror.sh
. "$(dirname "$0")/debian-mirror.sh"
MIRROR=${FREDCK_DEBIAN_MIRROR:-$(apt_debian_mirror | head -n 1)}
apt_proxy_for_debootstrap
DEBS=${FREDCK_DEB_CACHE:-/var/cache/fredck/debs}
TIMEOUT=${FREDCK_CHROOT_TIMEOUT:-600}
LIB=$(cd "$(dirname "$0")/.." && pwd)/tests/qemu/qemu-peer.sh
export FREDCK_CHROOTS="$CHROOTS"

say() { echo "install-qemu-peers: $*"; }
missing_peers=""

if [ "$(id -u)" -ne 0 ]; then
	# apt-get, debootstrap and chroot all need root; the chroot peers
	# need it at test time too.
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		exec sudo -n env FREDCK_CHROOTS="$CHROOTS" FREDCK_QEMU_CHROOTS="$SUITES" \
			FREDCK_CHROOT_REBUILD="$REBUILD" FREDCK_DEBIAN_MIRROR="$MIRROR" \
			FREDCK_DEB_CACHE="$DEBS" FREDCK_CHROOT_TIMEOUT="$TIMEOUT" \
			FREDCK_QEMU_PEERS_STRICT="${FREDCK_QEMU_PEERS_STRICT:-0}" sh "$0"
	fi
	say "not root and no sudo: nothing installed; the QEMU peer tests will be skipped"
	[ "${FREDCK_QEMU_PEERS_STRICT:-0}" = 1 ] && exit 1
	exit 0
fi

# --- the host peer: Debian 12's QEMU ---------------------------------------
# qemu-system-x86 Depends on the firmware -machine pc/q35 need (seabios,
# ipxe-qemu, qemu-system-data); its Recommends (GUI, block drivers, OVMF,
# qemu-utils) are not needed.  debootstrap for the chroots.
need=""
for p in qemu-system-x86 seabios ipxe-qemu debootstrap debian-archive-keyring; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		need="$need $p"
done
if [ -n "$need" ]; then
	say "apt-get install$need"
	# shellcheck disable=SC2086 # $need is a list of words
	if ! { apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need; }; then
		say "apt-get could not install$need"
	fi
fi
if command -v bash >/dev/null 2>&1 && [ -r "$LIB" ]; then
	# shellcheck disable=SC2016
	selftest() { bash -c '. "$1" && qemu_peer_selftest "$2"' _ "$LIB" "$1"; }
else
	selftest() { echo "$1: cannot check (no bash or no $LIB)"; return 1; }
fi
# Start PEER's QEMU (-machine pc and q35, paused) and say how it went.
check() { # PEER
	out=$(selftest "$1")
	rc=$?
	say "$out"
	[ "$rc" -eq 0 ] || missing_peers="$missing_peers $1"
}
check debian12

# --- the chroot peers --------------------------------------------------------
works() { # DIR
	[ -x "$1/usr/bin/qemu-system-x86_64" ] &&
		chroot "$1" qemu-system-x86_64 --version >/dev/null 2>&1
}

# The part of a debootstrap log that says why it failed.
why() { # LOG
	if grep -qE '^E: ' "$1"; then
		grep -E '^E: ' "$1" | uniq | tail -n 2
	else
		tail -n 1 "$1"
	fi | tr '\n' ' ' | sed 's/ *$//' | cut -c1-300
}

# Remove a chroot in the making.  A debootstrap killed by the timeout can
# leave /proc, /sys and bind-mounted /dev nodes mounted inside it: unmount
# them first (deepest first), and never let rm cross into another file
# system.
discard() { # DIR
	awk -v d="$1/" 'index($2 "/", d) == 1 { print $2 }' /proc/mounts | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf --one-file-system "$1"
}

# Docs, manuals and translations are a third of a chroot and never read;
# the .debs and package lists are another third (the .debs stay in $DEBS).
slim() { # DIR
	find "$1/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null
	find "$1/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null
	rm -rf "$1/usr/share/man" "$1/usr/share/info" "$1/usr/share/locale"/* \
		"$1/var/lib/apt/lists"/* "$1/var/cache/apt"/*.bin
	find "$1/var/cache/apt/archives" -name '*.deb' -delete 2>/dev/null
	# ...and stay out if someone runs apt-get in the chroot later.
	cat >"$1/etc/dpkg/dpkg.cfg.d/01-fredck-nodoc" <<-'EOF'
		path-exclude /usr/share/doc/*
		path-include /usr/share/doc/*/copyright
		path-exclude /usr/share/man/*
		path-exclude /usr/share/info/*
		path-exclude /usr/share/locale/*
	EOF
}

if [ -n "$SUITES" ]; then
	mkdir -p "$CHROOTS" "$DEBS" || {
		say "cannot create $CHROOTS or $DEBS"
		missing_peers="$missing_peers $SUITES"
		SUITES=""
	}
fi
# One builder at a time (two CI jobs sharing a cache, say).
if [ -n "$SUITES" ] && command -v flock >/dev/null 2>&1; then
	exec 9>"$CHROOTS/.lock"
	flock -w "$((TIMEOUT * 2))" 9 || say "could not lock $CHROOTS/.lock; going on"
fi

for suite in $SUITES; do
	root=$CHROOTS/$suite
	case " $REBUILD " in
	*" $suite "* | *" all "*) rebuild=1 ;;
	*) rebuild=0 ;;
	esac
	if [ "$rebuild" = 0 ] && works "$root"; then
		rm -f "$root.failed"
		say "$suite: reusing $root: $(chroot "$root" qemu-system-x86_64 --version | head -n 1)"
		check "$suite"
		continue
	fi
	if ! command -v debootstrap >/dev/null 2>&1; then
		echo "debootstrap is not installed on the host" >"$root.failed"
		say "$suite: $(cat "$root.failed")"
		missing_peers="$missing_peers $suite"
		continue
	fi
	if [ -z "$MIRROR" ]; then
		echo "no Debian archive in this machine's apt sources to debootstrap from (set FREDCK_DEBIAN_MIRROR)" >"$root.failed"
		say "$suite: $(cat "$root.failed")"
		missing_peers="$missing_peers $suite"
		continue
	fi
	say "$suite: debootstrap --variant=minbase --include=qemu-system-x86 $suite from $MIRROR (log: $root.log)"
	start=$(date +%s)
	discard "$root.new"
	# minbase + QEMU; debootstrap follows Depends (seabios, ipxe-qemu,
	# qemu-system-data: the firmware) and skips Recommends.  --cache-dir
	# keeps the .debs for the other suite and for rebuilds.
	if timeout "$TIMEOUT" debootstrap --variant=minbase --include=qemu-system-x86 \
		--cache-dir="$DEBS" "$suite" "$root.new" "$MIRROR" >"$root.log" 2>&1 &&
		works "$root.new"; then
		slim "$root.new"
		discard "$root"
		mv "$root.new" "$root"
		rm -f "$root.failed"
		say "$suite: built in $(($(date +%s) - start)) s, $(du -sh "$root" | cut -f1):" \
			"$(chroot "$root" qemu-system-x86_64 --version | head -n 1)"
		check "$suite"
	else
		rc=$?
		[ "$rc" -ne 124 ] || echo "E: timed out after ${TIMEOUT}s" >>"$root.log"
		discard "$root.new"
		if works "$root"; then
			say "$suite: rebuild failed ($(why "$root.log")); keeping the old chroot:" \
				"$(chroot "$root" qemu-system-x86_64 --version | head -n 1)"
		else
			echo "debootstrap $suite failed after $(($(date +%s) - start)) s: $(why "$root.log") (log: $root.log)" \
				>"$root.failed"
			say "$suite: $(cat "$root.failed")"
			missing_peers="$missing_peers $suite"
		fi
	fi
done

if [ -n "$missing_peers" ]; then
	say "unusable:$missing_peers (their tests will be skipped, with the reason)"
	[ "${FREDCK_QEMU_PEERS_STRICT:-0}" = 1 ] && exit 1
fi
exit 0
