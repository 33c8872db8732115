#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-or-later
# mksections.pl N [reverse] | mksections.pl ID,ID,...: a QEMU migration
# stream (to standard output) of cpu sections only, valid enough for
# fredck: QEVM version 3, then one cpu section per vCPU (vmstate version
# 12, 1817 bytes of main fields with no event queued, no subsections, its
# footer), then the end-of-file marker; no RAM, no device description.
# N: instance ids 0 .. N-1 (in descending order with "reverse"); or the
# instance ids given, in that order.  For bench/sections.sh and
# tests/cli/vcpus.bats.
use strict;
use warnings;

my ($what, $order) = @ARGV;
die "usage: mksections.pl N [reverse] | mksections.pl ID,ID,...\n" unless defined $what;
my @ids;
if ($what =~ /,/) {
	@ids = split /,/, $what;
}
my $n = @ids ? scalar @ids : $what;
binmode STDOUT;
my $main = "\0" x 1817;
substr($main, 1149, 4) = "\xff" x 4; # interrupt_injected: none
substr($main, 1165, 4) = "\xff" x 4; # exception_nr: none
print "QEVM", pack("N", 3);
for my $i (0 .. $n - 1) {
	my $id = @ids ? $ids[$i] : ($order // '') eq 'reverse' ? $n - 1 - $i : $i;
	my $sid = 2 + $i;
	print "\x04", pack("N", $sid), "\x03cpu", pack("N N", $id, 12), $main, "\x7e", pack("N", $sid);
}
print "\0";
