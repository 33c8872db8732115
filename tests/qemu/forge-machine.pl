#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-or-later
# forge-machine.pl NAME <IN >OUT: a QEMU migration stream with the machine
# type of its configuration section (QEMU_VM_CONFIGURATION, 0x07, right
# after the 8-byte header: a big-endian u32 length, then the name; QEMU's
# migration/savevm.c vmstate_configuration) replaced by NAME, whatever
# bytes NAME holds.  Nothing else in the stream refers to that length.
use strict;
use warnings;

my $name = shift // die "usage: forge-machine.pl NAME <IN >OUT\n";
binmode STDIN;
binmode STDOUT;
local $/;
my $s = <STDIN>;
substr($s, 0, 9) eq "QEVM\0\0\0\x03\x07" or die "no configuration section first\n";
my $old = unpack('N', substr($s, 9, 4));
substr($s, 9, 4 + $old) = pack('N', length $name) . $name;
print $s;
