/* The libvirt tier's guest: a bare-metal aarch64 image for QEMU's virt board,
 * booted with <kernel>.  It writes one line to the PL011 UART (so the console
 * file proves guest code ran) and then waits for interrupts with all of them
 * masked, costing no host CPU under TCG.  TCG makes no KVM ioctls: the shim's
 * register work cannot happen here (the arm64 lab tier covers it). */
        .text
        .globl  _start
_start:
        msr     daifset, #0xf
        mov     x0, #0x09000000         /* UART data register of -M virt */
        adr     x1, banner
next:   ldrb    w2, [x1], #1
        cbz     w2, idle
        strb    w2, [x0]
        b       next
idle:   wfi
        b       idle
        .section .rodata
banner: .asciz  "hypercall libvirt tier: guest code ran\r\n"
