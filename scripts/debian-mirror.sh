# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# Sourced by scripts/install-qemu-peers.sh and scripts/build-deb.sh, which
# debootstrap Debian roots: the archive to take them from is the one this
# machine's apt already uses (a local mirror is honoured), never a
# hard-coded host, and apt's proxy is debootstrap's too.

# apt_debian_mirror: the first URI of a "deb" source (deb822 .sources, or
# one-line .list) one of whose suites is not a security suite.  Nothing
# when apt names none.
apt_debian_mirror() {
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk 'function flush() {
			     if (deb && uri != "" && main) { print uri; found = 1; exit }
			     deb = 0; uri = ""; main = 0
		     }
		     /^[ \t]*$/ { flush(); next }
		     /^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
		     /^URIs:/ { uri = $2 }
		     /^Suites:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) main = 1 }
		     /^Enabled:[ \t]*no/ { deb = 0 }
		     END { if (!found) flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk '$1 == "deb" {
			i = 2
			if ($i ~ /^\[/) while (i <= NF && $i !~ /\]$/) i++
			if ($i ~ /\]$/) i++
			if ($(i + 1) !~ /security/) { print $i; exit }
		}' "$f"
	done
}

# apt_proxy_for_debootstrap: export apt's proxy as http_proxy (which
# debootstrap reads), unless one is set.
apt_proxy_for_debootstrap() {
	if [ -z "${http_proxy:-}" ] && command -v apt-config >/dev/null 2>&1; then
		eval "$(apt-config shell http_proxy Acquire::http::Proxy)"
		[ -z "${http_proxy:-}" ] || export http_proxy
	fi
}
