#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Streams as a FRED host writes them.  A host with FRED has CET and AMX too,
# and under KVM QEMU writes cpu/xss, cpu/msr_xfd, cpu/fred,
# cpu/intel_amx_xtile and cpu/cet with its nested cpu/cet_shstk in every
# cpu section; TCG never does (tests/qemu/README.md).  So a real stream of
# each peer gets them inserted by tests/qemu/qemu-patch exactly as that
# QEMU writes them: in QEMU's order among the subsections already there
# (+order: the list derived from its machine.c), with the description
# entries QEMU 11.1.3 writes (+desc:, read from its binary), and only those
# the peer's version has: 7.2 has no cpu/fred and no cpu/cet, 10.0 no
# cpu/cet.  Then check, repair, the filter, with and without description.
#
# What TCG QEMU loads (measured, tests/qemu/README.md): every subsection
# its own version has, whatever the CPU model (loading checks no CPUID);
# it refuses one it does not know ("load of migration failed: No such file
# or directory"): 7.2 refuses cpu/fred, cpu/cet, cpu/msr_pl0_ssp; 10.0
# refuses cpu/cet, cpu/msr_pl0_ssp.  So each peer loads the stream of its
# own version, unrepaired and repaired.

bats_require_minimum_version 1.5.0

setup_file() {
	TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
	export TOP_SRCDIR
	export QEMU_PATCH=${QEMU_PATCH:-$TOP_SRCDIR/_build/tests/qemu/qemu-patch}
	# shellcheck source=../qemu/qemu-peer.sh
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	SKIP_REASON=$(qemu_peer_skip_reason debian12)
	export SKIP_REASON
}

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	FREDCK=${FREDCK:-$TOP_SRCDIR/_build/fredck}
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	[ -z "$SKIP_REASON" ] || skip "$SKIP_REASON"
	W="$BATS_TEST_TMPDIR"
	L="$TOP_SRCDIR/tests/qemu"
}

be64() { # VALUE...: the big-endian hex QEMU writes for uint64 fields
	local v
	for v in "$@"; do printf '%016x' "$((v))"; done
}

# The FRED MSRs as a Linux FRED guest sets them: RSP0, RSP1-3, STKLVLS
# (#DB, NMI, #MC, #DF on levels 1-3), SSP1-3, CONFIG (entry point | 8).
FRED_MSRS=(0xffffc90000004000 0xfffffe0000001000 0xfffffe0000002000 0xfffffe0000003000
	0x0000000000240014 0 0 0 0xffffffff81a00008)

# The +sub: arguments of a FRED host's cpu section, for QEMU version V.
fred_host_subs() { # V
	echo "+sub:cpu/xss=$(be64 0x1800)"                    # CET_U | CET_S
	echo "+sub:cpu/msr_xfd=$(be64 0x40000 0x40000)"       # XFD, XFD_ERR: AMX tile data
	[ "$1" = 7.2 ] || echo "+sub:cpu/fred=$(be64 "${FRED_MSRS[@]}")"
	echo "+sub:cpu/intel_amx_xtile=$(printf '01%0126x%016384x' 0 0)" # xtilecfg.palette 1
	if [ "$1" = 11.1 ]; then
		echo "+sub:cpu/cet=$(be64 0 0)"                     # U_CET, S_CET
		echo "+sub:cpu/cet_shstk=$(be64 0 0 0x7ffe00001000 0 0)" # PL1-3_SSP, table, guest SSP
	fi
}

# A FRED host's vCPU 0 in IA-32e mode with exception NR injected.
fred_host() { # PEER IN OUT NR [FIELD=VALUE...]
	local peer=$1 in=$2 out=$3 nr=$4 v subs
	shift 4
	v=$(qemu_peer_version "$peer")
	v=${v%.*}
	mapfile -t subs < <(fred_host_subs "$v")
	"$QEMU_PATCH" "$in" "$out" 0 'cr4=|0x1000000a0' efer=0xd01 cr0=0x80050033 \
		exception_nr="$nr" "$@" "+order:$L/cpu-subsections-$v.txt" \
		"+desc:$L/fred-host-11.1.json" "${subs[@]}"
}

jq_vcpu0() { jq -r ".inputs[0].vcpus[] | select(.index == 0) | $2" <<<"$1"; }

# Every byte outside vCPU 0's cpu section and the description is kept,
# and the FRED host's subsections are in the output exactly as inserted.
kept() { # IN OUT
	python3 - "$1" "$2" <<-'EOF'
		import re, sys
		a, b = (open(p, "rb").read() for p in sys.argv[1:3])
		def strip(x):  # the description: 06, be32 length, JSON to the end
		    for i in range(len(x) - 6, 0, -1):
		        if x[i] == 6 and x[i + 5:i + 6] == b"{" and int.from_bytes(x[i + 1:i + 5], "big") == len(x) - i - 5:
		            return x[:i]
		    return x
		a, b = strip(a), strip(b)
		cpu0 = a.index(b"\x03cpu\x00\x00\x00\x00\x00\x00\x00\x0c")
		end0 = a.index(b"\x03cpu\x00\x00\x00\x01", cpu0)  # vCPU 1's section follows
		p = next(i for i in range(min(len(a), len(b))) if a[i] != b[i])
		s = next(i for i in range(min(len(a), len(b))) if a[-1 - i] != b[-1 - i])
		assert cpu0 < p and len(a) - s <= end0, (cpu0, p, len(a) - s, end0)
		for m in re.finditer(rb"\x05.(cpu/(xss|msr_xfd|fred|intel_amx_xtile|cet|cet_shstk))\x00\x00\x00\x01", a[cpu0:end0]):
		    size = {b"xss": 8, b"msr_xfd": 16, b"fred": 72, b"intel_amx_xtile": 8256, b"cet": 16, b"cet_shstk": 40}[m.group(2)]
		    sub = a[cpu0 + m.start():cpu0 + m.end() + size]
		    assert sub in b, m.group(1)
	EOF
}

# check, repair -o, repair - -o -, re-read: one at-risk vCPU, the expected
# event data; the filter's bytes are the file's; peer loads both.
check_repair_load() { # PEER FILE DESC(on|off) VECTOR VALUE PROVENANCE
	local peer=$1 f=$2 desc=$3 vec=$4 value=$5 prov=$6 machine=pc force=()
	[ "$desc" = on ] || machine=pc,suppress-vmdesc=on
	# Without a description its cpu sections are found by scanning: only
	# --force repairs them (issue 14); without it, left at risk (exit 4).
	if [ "$desc" = off ]; then
		force=(--force)
		run bash -c '"$1" repair - -o - <"$2" >/dev/null 2>&1' _ "$FREDCK" "$f"
		assert_equal "$status" 4
	fi
	run "$FREDCK" -j check "$f"
	assert_equal "$status" 4
	assert_equal "$(jq -r '[.inputs[0].vcpus[] | select(.at_risk) | .index] | @tsv' <<<"$output")" 0
	assert_equal "$(jq_vcpu0 "$output" '[.exception.vector, .event_data.value, .event_data.provenance] | @tsv')" \
		"$(printf '%s\t%s\t%s' "$vec" "$value" "$prov")"
	run "$FREDCK" repair "${force[@]}" "$f" -o "$f.out"
	assert_equal "$status" 1
	run bash -c '"$1" repair "${@:4}" - -o - <"$2" >"$3" 2>/dev/null' _ "$FREDCK" "$f" "$f.pipe" \
		"${force[@]}"
	assert_equal "$status" 1
	cmp "$f.out" "$f.pipe"
	kept "$f" "$f.out"
	run "$FREDCK" -j check "$f.out"
	assert_equal "$status" 0
	run bash -c '"$1" -j check - <"$2"' _ "$FREDCK" "$f.out"
	assert_equal "$status" 0
	if [ "$desc" = on ]; then
		run "$FREDCK" -j inspect "$f.out"
		assert_equal "$(jq -r '.inputs[0].facts.device_description' <<<"$output")" \
			"present, matches the stream"
	fi
	run qemu_load_stream "$peer" "$f" --machine "$machine" --smp 2 --mem 64
	assert_success
	run qemu_load_stream "$peer" "$f.out" --machine "$machine" --smp 2 --mem 64
	assert_success
}

# Each usable peer, with and without description: the test body per stream.
each_peer() { # FUNCTION
	local peer ran=0 desc
	for peer in $(qemu_peer_list | awk '{print $1}'); do
		for desc in on off; do
			if [ "$desc" = on ]; then
				qemu_make_stream "$peer" "$W/$peer-$desc.bin" --machine pc --smp 2 --mem 64
			else
				qemu_make_stream "$peer" "$W/$peer-$desc.bin" --machine pc --smp 2 --mem 64 \
					--suppress-vmdesc
			fi
			"$1" "$peer" "$W/$peer-$desc.bin" "$desc"
		done
		ran=$((ran + 1))
	done
	[ "$ran" -gt 0 ]
}

nm_case() { # PEER STREAM DESC
	fred_host "$1" "$2" "$2.nm" 7 xcr0=0x600e7
	check_repair_load "$1" "$2.nm" "$3" 7 0x0000000000040000 xfd_err
}

@test "fredhost: #NM with AMX in XCR0 on a FRED host's stream: event data exactly XFD_ERR from cpu/msr_xfd; repaired, filtered, re-read, loaded by every peer" {
	each_peer nm_case
}

pf_case() { # PEER STREAM DESC
	fred_host "$1" "$2" "$2.pf" 14 cr2=0x7f3a1c2e5008
	check_repair_load "$1" "$2.pf" "$3" 14 0x00007f3a1c2e5008 cr2
}

@test "fredhost: #PF on a FRED host's stream: found, repaired by the file and the filter alike, every other byte kept; loads" {
	each_peer pf_case
}

db_case() { # PEER STREAM DESC
	fred_host "$1" "$2" "$2.db" 1 dr6=0x4002
	check_repair_load "$1" "$2.db" "$3" 1 0x0000000000004002 dr6-raw-payload
}

@test "fredhost: #DB on a FRED host's stream: DR6's raw payload; repaired; loads" {
	each_peer db_case
}

@test "fredhost: the FRED MSRs, XFD and XFD_ERR are read from cpu/fred and cpu/msr_xfd; cpu/cet_shstk nests in cpu/cet as in QEMU 11.1's description" {
	local v
	for peer in trixie sid; do
		[ -z "$(qemu_peer_skip_reason "$peer")" ] || continue
		qemu_make_stream "$peer" "$W/$peer.bin" --machine pc --smp 2 --mem 64
		fred_host "$peer" "$W/$peer.bin" "$W/$peer-nm.bin" 7 xcr0=0x600e7
		run "$FREDCK" -j inspect "$W/$peer-nm.bin"
		assert_success
		assert_equal "$(jq_vcpu0 "$output" '.registers | [.fred_rsp0, .fred_rsp1, .fred_stklvls, .fred_config, .xfd, .xfd_err] | @tsv')" \
			"$(printf '0xffffc90000004000\t0xfffffe0000001000\t0x0000000000240014\t0xffffffff81a00008\t0x0000000000040000\t0x0000000000040000')"
		v=$(qemu_peer_version "$peer")
		[ "${v%.*}" = 11.1 ] || continue
		python3 - "$W/$peer-nm.bin" <<-'EOF'
			import json, sys
			b = open(sys.argv[1], "rb").read()
			i = next(i for i in range(len(b) - 6, 0, -1)
			         if b[i] == 6 and b[i + 5:i + 6] == b"{" and int.from_bytes(b[i + 1:i + 5], "big") == len(b) - i - 5)
			cpu = next(d for d in json.loads(b[i + 5:])["devices"] if d["name"] == "cpu" and d["instance_id"] == 0)
			names = [s["vmsd_name"] for s in cpu["subsections"]]
			assert names == ["cpu/poll_control_msr", "cpu/xss", "cpu/msr_xfd", "cpu/fred",
			                 "cpu/intel_amx_xtile", "cpu/cet"], names
			assert [s["vmsd_name"] for s in cpu["subsections"][-1]["subsections"]] == ["cpu/cet_shstk"]
		EOF
	done
}

@test "fredhost: the older peers refuse the newer subsections even unrepaired: 10.0 cpu/cet, 7.2 cpu/fred" {
	local peer sub ran=0
	for peer in debian12 trixie; do
		[ -z "$(qemu_peer_skip_reason "$peer")" ] || continue
		[ "$peer" = trixie ] && sub="+sub:cpu/cet=$(be64 0 0)" || sub="+sub:cpu/fred=$(be64 "${FRED_MSRS[@]}")"
		qemu_make_stream "$peer" "$W/$peer.bin" --machine pc --smp 2 --mem 64
		"$QEMU_PATCH" "$W/$peer.bin" "$W/$peer-new.bin" 0 "+order:$L/cpu-subsections-11.1.txt" \
			"+desc:$L/fred-host-11.1.json" "$sub"
		run "$FREDCK" check "$W/$peer-new.bin"
		assert_equal "$status" 0
		run qemu_load_stream "$peer" "$W/$peer-new.bin" --machine pc --smp 2 --mem 64
		assert_failure
		assert_output --partial "error while loading state for instance 0x0 of device 'cpu'"
		ran=$((ran + 1))
	done
	[ "$ran" -gt 0 ]
}
