#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# fredck inspect: the saved vCPU state as the model sees it.

load test_helper

@test "inspect: exits 0 on every fixture, at-risk ones included" {
	run --separate-stderr -0 "$FREDCK" inspect $(fixtures all)
	assert_equal "$stderr" ''
	assert_equal "$(grep -c '^vCPU ' <<<"$output")" $((${#ALL_FIXTURES[@]} + 3))
}

@test "inspect: shows the queued #PF with its error code and no payload" {
	dir=$(fixture pf-lost-cap)
	run -0 "$FREDCK" inspect "$dir"
	assert_line --index 0 "$dir: kvm-dir (1 vCPU, struct kvm_sregs2)"
	assert_line "vCPU 0 (FRED enabled, IA-32e mode)"
	assert_line --regexp '^  exception +#PF \(14\) injected, error code 0x00000006, no payload$'
}

@test "inspect: shows a pending #PF's payload" {
	dir=$(fixture pf-pending-payload)
	run -0 "$FREDCK" inspect "$dir"
	assert_line --regexp '^  exception +#PF \(14\) pending, error code 0x[0-9a-f]{8}, payload 0x[0-9a-f]{16}$'
}

@test "inspect: shows no exception, interrupt or NMI for a clean vCPU" {
	dir=$(fixture clean)
	run -0 "$FREDCK" inspect "$dir"
	assert_line --regexp '^  exception +none$'
	assert_line --regexp '^  interrupt +none$'
	assert_line --regexp '^  nmi +not injected, 0 pending, unmasked$'
}

@test "inspect: shows an injected interrupt, a pending masked NMI and the shadow" {
	dir=$(fixture clean)
	# interrupt.injected 1, nr 0x30, soft 0, shadow 1; nmi.injected 0, pending 1, masked 1
	poke "$dir/vcpu0/events" 8 01300001000101
	run -0 "$FREDCK" inspect "$dir"
	assert_line --regexp '^  interrupt +vector 48 injected$'
	assert_line --regexp '^  nmi +not injected, 1 pending, masked$'
	assert_line --regexp '^  shadow +0x01$'
}

@test "inspect --json: interrupt, NMI and shadow as saved" {
	dir=$(fixture clean)
	poke "$dir/vcpu0/events" 8 01300101010001
	run -0 "$FREDCK" inspect --json "$dir"
	assert_equal "$(vcpu 0 '.interrupt | [.injected, .vector, .soft, .shadow] | @csv')" 'true,48,true,1'
	assert_equal "$(vcpu 0 '.nmi | [.injected, .pending, .masked] | @csv')" 'true,0,true'
}

@test "inspect: shows the events flags by name, labelled as KVM's valid-field flags" {
	dir=$(fixture pf-lost-cap)
	run -0 "$FREDCK" inspect "$dir"
	assert_line --regexp '^  valid flags +0x0000001d \(KVM_VCPUEVENT_VALID_: .*payload\)$'
}

@test "inspect: shows nested guest mode" {
	dir=$(fixture nested)
	run -0 "$FREDCK" inspect "$dir"
	assert_line --regexp '^  nested +guest mode'
}

@test "inspect: says nested state is not saved when there is no nested file" {
	dir=$(fixture clean)
	run -0 "$FREDCK" inspect "$dir"
	assert_line --regexp '^  nested +not saved$'
}

@test "inspect: prints each register the model reads with its saved value" {
	dir=$(fixture pf-lost-cap)
	run -0 "$FREDCK" inspect "$dir"
	# CR2, CR4 and EFER straight from struct kvm_sregs2, DR6 from kvm_debugregs.
	assert_line --regexp "^  cr2 +$(peek_u64 "$dir/vcpu0/sregs2" 232)\$"
	assert_line --regexp "^  cr4 +$(peek_u64 "$dir/vcpu0/sregs2" 248)\$"
	assert_line --regexp "^  efer +$(peek_u64 "$dir/vcpu0/sregs2" 264)\$"
	assert_line --regexp "^  dr6 +$(peek_u64 "$dir/vcpu0/debugregs" 32)\$"
	assert_line --regexp "^  rflags +$(peek_u64 "$dir/vcpu0/regs" 136)\$"
	assert_line --regexp '^  fred_config +0x[0-9a-f]{16}$'
}

@test "inspect: says 'not saved' for XFD and XFD_ERR absent from msrs" {
	dir=$(fixture pf-lost-cap)
	run -0 "$FREDCK" inspect "$dir"
	assert_line --regexp '^  xfd +not saved$'
	assert_line --regexp '^  xfd_err +not saved$'
}

@test "inspect: says 'not saved' for DR6 and DR7 when debugregs is absent" {
	dir=$(fixture pf-lost-cap)
	rm "$dir/vcpu0/debugregs"
	run -0 "$FREDCK" inspect "$dir"
	assert_line --regexp '^  dr6 +not saved$'
	assert_line --regexp '^  dr7 +not saved$'
}

@test "inspect -v: says 'not saved' for the FRED MSRs when msrs lacks them" {
	dir=$(fixture fred-msrs-missing)
	run -0 "$FREDCK" inspect -v "$dir"
	assert_line --regexp '^  fred_config +not saved$'
	assert_line --regexp '^  fred_rsp0 +not saved$'
	assert_line --regexp '^  fred_ssp3 +not saved$'
}

@test "inspect: shows XFD and XFD_ERR when msrs saves them" {
	dir=$(fixture nm-xfd)
	run -0 "$FREDCK" inspect "$dir"
	assert_line --regexp '^  xfd +0x0000000000040000$'
	assert_line --regexp '^  xfd_err +0x0000000000040000$'
}

@test "inspect: reads struct kvm_sregs when there is no sregs2" {
	dir=$(fixture sregs-legacy)
	run -0 "$FREDCK" inspect "$dir"
	assert_line --index 0 "$dir: kvm-dir (1 vCPU, struct kvm_sregs)"
	assert_line --regexp "^  cr2 +$(peek_u64 "$dir/vcpu0/sregs" 232)\$"
}

@test "inspect: shows every vCPU of a multi-vCPU snapshot" {
	dir=$(fixture multi)
	run -0 "$FREDCK" inspect "$dir"
	assert_line --index 0 "$dir: kvm-dir (4 vCPUs, struct kvm_sregs2)"
	assert_line --regexp '^vCPU 0 '
	assert_line --regexp '^vCPU 1 '
	assert_line --regexp '^vCPU 2 '
	assert_line --regexp '^vCPU 3 '
}

@test "inspect: a vCPU without CR4.FRED is not called FRED-enabled" {
	dir=$(fixture nofred)
	run -0 "$FREDCK" inspect "$dir"
	assert_line 'vCPU 0'
}

@test "inspect --json: registers are 0x%016x strings, null when not saved" {
	dir=$(fixture pf-lost-cap)
	run -0 "$FREDCK" inspect --json "$dir"
	assert_equal "$(vcpu 0 .registers.cr2)" "$(peek_u64 "$dir/vcpu0/sregs2" 232)"
	assert_equal "$(vcpu 0 .registers.xfd)" null
	assert_equal "$(vcpu 0 .registers.xfd_err)" null
	assert_equal "$(vcpu 0 '[.registers[] | select(. != null and (test("^0x[0-9a-f]{16}$") | not))] | length')" 0
}

@test "inspect --json: the exception, its state and its payload" {
	dir=$(fixture pf-pending-payload)
	run -0 "$FREDCK" inspect --json "$dir"
	assert_equal "$(vcpu 0 .exception.state)" pending
	assert_equal "$(vcpu 0 .exception.vector)" 14
	assert_equal "$(vcpu 0 .exception.name)" '#PF'
	assert_equal "$(vcpu 0 .exception.has_payload)" true
	assert_equal "$(vcpu 0 .exception.payload)" "$(peek_u64 "$dir/vcpu0/events" 56)"
}

@test "inspect --json: nested guest mode" {
	dir=$(fixture nested)
	run -0 "$FREDCK" inspect --json "$dir"
	assert_equal "$(vcpu 0 .nested.saved)" true
	assert_equal "$(vcpu 0 .nested.guest_mode)" true
}

@test "inspect --json: the input reads as status read, exit_status 0, format kvm-dir" {
	dir=$(fixture multi)
	run -0 "$FREDCK" inspect --json "$dir"
	assert_equal "$(jqo '.inputs[0] | [.status, .exit_status, .format] | @csv')" '"read",0,"kvm-dir"'
	assert_equal "$(jqo '.inputs[0].vcpus | map(.index) | @csv')" '0,1,2,3'
}

@test "inspect: never writes to its input" {
	dir=$(fixture pf-lost-cap)
	before=$(tree_sum "$dir")
	run -0 "$FREDCK" inspect "$dir"
	assert_equal "$(tree_sum "$dir")" "$before"
}

@test "inspect --vcpu: only the vCPUs asked for, in text and JSON; an index no vCPU has is a warning" {
	dir=$(fixture multi)
	run -0 "$FREDCK" inspect --vcpu 1 "$dir"
	assert_equal "$(grep -c '^vCPU ' <<<"$output")" 1
	assert_line --regexp '^vCPU 1'
	run -0 "$FREDCK" inspect -j --vcpu 0,2-3 "$dir"
	assert_equal "$(jqo '[.inputs[0].vcpus[].index] | @csv')" 0,2,3
	assert_valid_json
	run --separate-stderr -0 "$FREDCK" inspect --vcpu 9 "$dir"
	assert_stderr_contains "none of its 4 vCPUs is among --vcpu"
	run --separate-stderr -16 "$FREDCK" inspect --vcpu 1-x "$dir"
	assert_stderr_contains "--vcpu takes vCPU indices"
}

@test "check --vcpu and diff --vcpu: the vCPUs shown are those asked for; check's verdict stays the input's" {
	dir=$(fixture multi) clean=$(fixture clean)
	run -4 "$FREDCK" check --vcpu 0,2 "$dir"
	assert_line --regexp '^  vCPU 0: no exception'
	assert_line --regexp '^  vCPU 2: no exception'
	refute_line --regexp '^  vCPU 1'
	assert_line "  1 of 4 vCPUs at risk; repair would fix 1 and leave 0"
	run -4 "$FREDCK" check -j --vcpu 1 "$dir"
	assert_equal "$(jqo '[.inputs[0].vcpus[].index] | @csv')" 1
	assert_valid_json
	run -0 "$FREDCK" diff --vcpu 0 "$dir" "$clean"
	assert_line "no difference in the vCPUs --vcpu selects"
	run -1 "$FREDCK" diff --vcpu 1 "$dir" "$clean"
	assert_line "vCPU 1: only in a"
	refute_line --partial "vCPU 2"
}

# A real stream without device description (Debian 12's QEMU), $WORK/nodesc.bin,
# and $WORK/scan.bin: the same with fw_cfg's section footer damaged, so that
# no reading by the footers reaches the end and fredck scans for the cpu
# sections, stepping over the devices between them unread.
qemu_nodesc_streams() {
	# shellcheck source=../qemu/qemu-peer.sh
	. "$TOP_SRCDIR/tests/qemu/qemu-peer.sh"
	local why
	why=$(qemu_peer_skip_reason debian12)
	[ -z "$why" ] || skip "$why"
	qemu_make_stream debian12 "$WORK/nodesc.bin" --machine pc --smp 2 --mem 64 \
		--suppress-vmdesc || fail "qemu_make_stream failed"
	python3 - "$WORK/nodesc.bin" "$WORK/scan.bin" <<-'PY' || fail "no fw_cfg section to damage"
		import sys
		b = bytearray(open(sys.argv[1], "rb").read())
		name = b.find(b"\x06fw_cfg")  # a FULL header: 04, section id, name length 6, name
		sid = b[name - 4:name]
		footer = b.find(b"\x7e" + sid, name)
		assert name > 4 and footer > 0
		b[footer] = 0x7d
		open(sys.argv[2], "wb").write(b)
	PY
}

@test "inspect: a device list a scan left partial says so, from a file and from a pipe, in text and JSON" {
	qemu_nodesc_streams
	for how in file pipe; do
		if [ "$how" = file ]; then
			run --separate-stderr -0 "$FREDCK" inspect scan.bin
		else
			run --separate-stderr -0 bash -c '"$1" inspect - <scan.bin' _ "$FREDCK"
		fi
		assert_line --regexp '^devices +partial: [0-9]+ named \(a scan for the cpu sections stepped over the others unread\): ram/0,'
		if [ "$how" = file ]; then
			run --separate-stderr -0 "$FREDCK" inspect -j scan.bin
		else
			run --separate-stderr -0 bash -c '"$1" inspect -j - <scan.bin' _ "$FREDCK"
		fi
		assert_valid_json
		assert_equal "$(jqo '.inputs[0].devices_partial')" true
		[[ "$(jqo '.inputs[0].facts.devices')" == "partial: "* ]] || fail "$how: $output"
	done
	# The whole list, read by the footers: not partial; --ndjson as -j.
	run --separate-stderr -0 bash -c '"$1" inspect -j - <nodesc.bin' _ "$FREDCK"
	assert_valid_json
	assert_equal "$(jqo '.inputs[0].devices_partial')" false
	[[ "$(jqo '.inputs[0].facts.devices')" == [0-9]*": ram/0, "* ]] || fail "$output"
	run --separate-stderr -0 "$FREDCK" inspect --ndjson scan.bin nodesc.bin
	assert_valid_json --ndjson
	assert_equal "$(jq -r '.devices_partial' <<<"$output" | tr '\n' ' ')" "true false "
	# A format that lists no devices: false.
	run --separate-stderr -0 "$FREDCK" inspect -j "$(fixture clean)"
	assert_equal "$(jqo '.inputs[0].devices_partial')" false
}
