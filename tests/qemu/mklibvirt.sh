#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mklibvirt.sh STREAM OUT [FORMAT [MAGIC]]: wrap a QEMU stream as libvirt's
# virsh save does (src/qemu/qemu_saveimage.c): a 92-byte little-endian
# header (magic, version 2, data_len, was_running, format, cookieOffset,
# 56 zero bytes), the NUL-terminated domain XML and cookie, zero padding
# (libvirt reserves 64 KiB for later XML edits), then the stream.
# No libvirtd is needed: the header is all libvirt adds.
# LIBVIRT_NAME: the domain's <name> (default fredck-test), put in as given.
set -eu
export LC_ALL=C # ${#xml} counts bytes
name=${LIBVIRT_NAME:-fredck-test}
stream=$1 out=$2 format=${3:-0} magic=${4:-LibvirtQemudSave}

# A little-endian u32 as 4 bytes: the inner printf writes the \xNN escapes.
le32() {
	# shellcheck disable=SC2059
	printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) \
		$(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"
}

xml="<domain type='kvm'>
  <name>$name</name>
  <uuid>6c5f6a1e-8d6b-4b7e-9b3a-2f1d0c9e8a7b</uuid>
  <memory unit='KiB'>65536</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
</domain>"
cookie="<qemuDomainSaveCookie><cpu mode='custom'><model>qemu64</model></cpu></qemuDomainSaveCookie>"
xml_len=$((${#xml} + 1))
cookie_len=$((${#cookie} + 1))
data_len=$((xml_len + cookie_len + 65536))
{
	printf '%s' "$magic"
	le32 2
	le32 "$data_len"
	le32 1          # was_running
	le32 "$format"
	le32 "$xml_len" # cookieOffset
	head -c 56 /dev/zero
	printf '%s\0' "$xml"
	printf '%s\0' "$cookie"
	head -c 65536 /dev/zero
	cat "$stream"
} >"$out"
