# SPDX-License-Identifier: GPL-2.0-or-later
#
# ide-park.s --- a 512-byte boot sector that parks an IDE READ MULTIPLE:
# the forged-section attack of issue 14 (tests/cli/forged.bats builds it;
# tests/qemu/README.md, "The forged-section guest", says how by hand).
#
# SeaBIOS loads it at 0000:7c00 from the primary master of -machine pc
# (PIIX IDE) and jumps to it in real mode.  It asks that disk for the 16
# sectors from LBA 1 with one READ MULTIPLE (16 sectors per DRQ block),
# waits until the drive has put them into its PIO buffer and raised DRQ,
# and halts forever with interrupts off, never reading the data port.
# While DRQ stays set, QEMU migrates the drive's whole PIO buffer (128 KiB
# plus 4 bytes, subsection "ide_drive/pio_state" of the "ide" section), so
# the 8 KiB the guest chose from its own disk land in the device state,
# byte for byte, at the start of that buffer.
#
# Build (binutils):
#   as --32 -o ide-park.o ide-park.s
#   ld -m elf_i386 -Ttext=0x7c00 -e _start --oformat=binary -o boot.bin ide-park.o
# boot.bin is exactly 512 bytes and ends with 55 aa.

	.code16
	.text
	.globl	_start
_start:
	cli				# no interrupts, ever: nothing wakes the hlt
	cld
	xorw	%ax, %ax
	movw	%ax, %ds
	movw	%ax, %ss
	movw	$0x7c00, %sp

	movw	$0x3f6, %dx		# device control: nIEN, no IRQ 14 (we poll)
	movb	$0x02, %al
	outb	%al, %dx
	call	not_busy

	movw	$0x1f6, %dx		# drive/head: master, LBA addressing
	movb	$0xe0, %al
	outb	%al, %dx
	call	not_busy

	movw	$0x1f2, %dx		# SET MULTIPLE MODE (c6): 16 sectors a block
	movb	$16, %al		# (QEMU's reset default, set to be sure)
	outb	%al, %dx
	movw	$0x1f7, %dx
	movb	$0xc6, %al
	outb	%al, %dx
	call	not_busy

	movw	$0x1f2, %dx		# sector count 16
	movb	$16, %al
	outb	%al, %dx
	movw	$0x1f3, %dx		# LBA 0-7: 1 (sector 0 is this code)
	movb	$1, %al
	outb	%al, %dx
	xorb	%al, %al
	movw	$0x1f4, %dx		# LBA 8-15
	outb	%al, %dx
	movw	$0x1f5, %dx		# LBA 16-23
	outb	%al, %dx
	movw	$0x1f6, %dx		# master, LBA, LBA 24-27 = 0
	movb	$0xe0, %al
	outb	%al, %dx
	movw	$0x1f7, %dx		# READ MULTIPLE (c4)
	movb	$0xc4, %al
	outb	%al, %dx

drq:	inb	%dx, %al		# status: wait for BSY clear and DRQ set
	testb	$0x80, %al
	jnz	drq
	testb	$0x08, %al
	jz	drq

park:	hlt				# parked: the data is in the buffer, unread
	jmp	park

not_busy:				# poll the status register until BSY clears
	movw	$0x1f7, %dx
1:	inb	%dx, %al
	testb	$0x80, %al
	jnz	1b
	ret

	.org	510
	.byte	0x55, 0xaa
