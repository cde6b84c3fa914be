/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hc-l2-guest: the lab's bare-metal arm64 guest (L2).  It runs at EL1 with the
 * MMU off under Debian's QEMU with -accel kvm inside an emulated KVM host, asks
 * the hypervisor what a guest can discover (SMCCC calls with HVC #0) and prints
 * each answer's x0 on the PL011, one line per call:
 *
 *     @@hc-l2 <boot> <cpu> <CALL> <x0>     x0 in hex, SMCCC error codes as -1, -2, ...
 *     @@hc-l2 <boot> <cpu> event <what>
 *
 * <boot> counts system resets (a word in RAM outside the image survives them);
 * <cpu> is 0 for the boot vCPU and 1 for the second vCPU, which the boot vCPU
 * starts with PSCI CPU_ON (with -smp 1 that call fails and says so).
 *
 * What it does after the first pass depends on the build:
 *   default              PSCI SYSTEM_RESET twice (three passes in all), then SYSTEM_OFF,
 *                        so QEMU exits by itself
 *   -DHC_GUEST_PARK=N    migration: after the pass "park", spin N seconds of guest
 *                        time (the counter stops while QEMU is stopped and travels
 *                        with the VM), pass again as boot 2, SYSTEM_OFF
 *   -DHC_GUEST_STAY      libvirt: after each pass wait for interrupts forever, so the
 *                        domain stays running until it is destroyed or reset
 *
 * Build flags that matter: -ffreestanding -nostdlib -static -no-pie
 * -mgeneral-regs-only (FP/SIMD trap at reset) -mstrict-align (with the MMU off
 * every access is Device memory) -T hc-l2-guest.ld.
 */
#include <stdint.h>

#define PL011_BASE     0x09000000UL
#define PL011_DR       0x00
#define PL011_FR       0x18
#define PL011_CR       0x30
#define PL011_FR_TXFF  (1u << 5)

/* Survives a system reset: QEMU reloads the image, not the rest of RAM. */
#define BOOT_WORD_ADDR 0x40200000UL
#define BOOT_MAGIC     0x4843424f4f540000ULL /* "HCBOOT" << 16 | boot count */
#define RESETS         2

/* SMCCC function IDs (Arm DEN0028, DEN0022, DEN0098; KVM's vendor range). */
#define SMCCC_VERSION          0x80000000u
#define SMCCC_ARCH_FEATURES    0x80000001u
#define SMCCC_ARCH_WORKAROUND_1 0x80008000u
#define SMCCC_ARCH_WORKAROUND_2 0x80007fffu
#define SMCCC_ARCH_WORKAROUND_3 0x80003fffu
#define PSCI_VERSION           0x84000000u
#define PSCI_CPU_OFF           0x84000002u
#define PSCI_CPU_ON            0xc4000003u
#define PSCI_SYSTEM_OFF        0x84000008u
#define PSCI_SYSTEM_RESET      0x84000009u
#define TRNG_VERSION           0x84000050u
#define PV_TIME_FEATURES       0xc5000020u
#define KVM_FEATURES           0x86000000u
#define KVM_PTP                0x86000001u
#define KVM_VENDOR_UID         0x8600ff01u

static inline void w32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t r32(uintptr_t a) { return *(volatile uint32_t *)a; }

/* Only one vCPU prints at a time (the boot vCPU waits for the second one). */
static void putc_(char c)
{
	while (r32(PL011_BASE + PL011_FR) & PL011_FR_TXFF)
		;
	w32(PL011_BASE + PL011_DR, (uint32_t)(unsigned char)c);
}

static void puts_(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			putc_('\r');
		putc_(*s);
	}
}

static void putu(uint64_t v, unsigned base)
{
	char b[24];
	int i = (int)sizeof(b);

	b[--i] = '\0';
	do {
		b[--i] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (base == 16) {
		b[--i] = 'x';
		b[--i] = '0';
	}
	puts_(&b[i]);
}

/* SMCCC error codes are small negative numbers, in 64 bits (or 32 for a w0 answer). */
static void put_x0(uint64_t v)
{
	int64_t s = (int64_t)v;
	int32_t w = (int32_t)(uint32_t)v;

	if (s < 0 && s >= -9) {
		putc_('-');
		putu((uint64_t)-s, 10);
	} else if ((v >> 32) == 0 && w < 0 && w >= -9) {
		putc_('-');
		putu((uint64_t)-(int64_t)w, 10);
	} else {
		putu(v, 16);
	}
}

static uint64_t hvc(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = fn;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;

	__asm__ volatile("hvc #0"
			 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
			 :
			 : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
			   "x15", "x16", "x17", "memory");
	return x0;
}

static uint64_t boot_count;

static void line_head(unsigned cpu)
{
	puts_("@@hc-l2 ");
	putu(boot_count, 10);
	putc_(' ');
	putu(cpu, 10);
	putc_(' ');
}

static void event(unsigned cpu, const char *what)
{
	line_head(cpu);
	puts_("event ");
	puts_(what);
	puts_("\n");
}

static void call(unsigned cpu, const char *name, uint32_t fn, uint64_t a1)
{
	uint64_t x0 = hvc(fn, a1, 0, 0);

	line_head(cpu);
	puts_(name);
	putc_(' ');
	put_x0(x0);
	puts_("\n");
}

/* What a guest can discover; the lab's checks name these calls. */
static void discover(unsigned cpu)
{
	call(cpu, "SMCCC_VERSION", SMCCC_VERSION, 0);
	call(cpu, "ARCH_FEATURES.WORKAROUND_1", SMCCC_ARCH_FEATURES, SMCCC_ARCH_WORKAROUND_1);
	call(cpu, "ARCH_FEATURES.WORKAROUND_2", SMCCC_ARCH_FEATURES, SMCCC_ARCH_WORKAROUND_2);
	call(cpu, "ARCH_FEATURES.WORKAROUND_3", SMCCC_ARCH_FEATURES, SMCCC_ARCH_WORKAROUND_3);
	call(cpu, "PSCI_VERSION", PSCI_VERSION, 0);
	call(cpu, "TRNG_VERSION", TRNG_VERSION, 0);
	call(cpu, "ARCH_FEATURES.PV_TIME_FEATURES", SMCCC_ARCH_FEATURES, PV_TIME_FEATURES);
	call(cpu, "KVM_VENDOR_UID", KVM_VENDOR_UID, 0);
	call(cpu, "KVM_FEATURES", KVM_FEATURES, 0);
	call(cpu, "KVM_PTP", KVM_PTP, 0); /* x1 = 0: the virtual counter */
}

static inline uint64_t counter(void)
{
	uint64_t v;

	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
	return v;
}

static inline uint64_t counter_hz(void)
{
	uint64_t v;

	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(v));
	return v;
}

/* Shared with the second vCPU; with the MMU off both see memory uncached. */
static volatile uint32_t cpu1_done;

void hc_cpu1_main(void);
void hc_cpu1_main(void)
{
	discover(1);
	event(1, "done");
	__asm__ volatile("dsb sy" ::: "memory");
	cpu1_done = 1;
	hvc(PSCI_CPU_OFF, 0, 0, 0);
	for (;;)
		__asm__ volatile("wfi");
}

extern char hc_cpu1_entry[];

/*
 * Starts vCPU 1 (MPIDR 1) and waits up to 5 s of guest time for its pass; the
 * CPU_ON answer is printed afterwards, so the two vCPUs never print at once.
 */
static void second_cpu(void)
{
	uint64_t r, deadline;
	int timed_out = 0;

	cpu1_done = 0;
	__asm__ volatile("dsb sy" ::: "memory");
	r = hvc(PSCI_CPU_ON, 1, (uint64_t)(uintptr_t)hc_cpu1_entry, 0);
	if (r == 0) {
		deadline = counter() + 5 * counter_hz();
		while (!cpu1_done && !timed_out)
			timed_out = counter() > deadline;
	}
	line_head(0);
	puts_("CPU_ON(1) ");
	put_x0(r);
	puts_("\n");
	if (timed_out)
		event(0, "cpu1-timeout");
}

void hc_guest_main(void);
void hc_guest_main(void)
{
	volatile uint64_t *boot_word = (volatile uint64_t *)BOOT_WORD_ADDR;

	w32(PL011_BASE + PL011_CR, 0x301); /* UARTEN | TXE | RXE */
	if ((*boot_word & ~0xffffULL) == BOOT_MAGIC)
		boot_count = (*boot_word & 0xffff) + 1;
	else
		boot_count = 1;
	*boot_word = BOOT_MAGIC | boot_count;

	event(0, "start");
	discover(0);
	second_cpu();
#if defined(HC_GUEST_STAY)
	event(0, "stay");
	for (;;)
		__asm__ volatile("wfi");
#elif defined(HC_GUEST_PARK)
	if (boot_count == 1) {
		uint64_t until = counter() + (uint64_t)(HC_GUEST_PARK) * counter_hz();

		event(0, "park");
		while (counter() < until)
			;
		boot_count = 2;
		event(0, "unpark");
		discover(0);
	}
#else
	if (boot_count <= RESETS) {
		event(0, "system-reset");
		hvc(PSCI_SYSTEM_RESET, 0, 0, 0);
		event(0, "system-reset-returned");
	}
#endif
	*boot_word = 0;
	event(0, "system-off");
	hvc(PSCI_SYSTEM_OFF, 0, 0, 0);
	event(0, "system-off-returned");
	for (;;)
		__asm__ volatile("wfi");
}

/* An unexpected exception (an HVC nobody handles, an alignment fault) ends the run. */
void hc_guest_exception(uint64_t esr, uint64_t elr);
void hc_guest_exception(uint64_t esr, uint64_t elr)
{
	puts_("@@hc-l2 exception esr=");
	putu(esr, 16);
	puts_(" elr=");
	putu(elr, 16);
	puts_("\n");
	hvc(PSCI_SYSTEM_OFF, 0, 0, 0);
	for (;;)
		__asm__ volatile("wfi");
}

__asm__(".section .text.entry, \"ax\"\n"
	".global _start\n"
	"_start:\n"
	"	ldr	x0, =__stack0_top\n"
	"	mov	sp, x0\n"
	"	adr	x0, hc_vectors\n"
	"	msr	vbar_el1, x0\n"
	"	isb\n"
	"	bl	hc_guest_main\n"
	"0:	wfi\n"
	"	b	0b\n"
	".global hc_cpu1_entry\n"
	"hc_cpu1_entry:\n"
	"	ldr	x0, =__stack1_top\n"
	"	mov	sp, x0\n"
	"	adr	x0, hc_vectors\n"
	"	msr	vbar_el1, x0\n"
	"	isb\n"
	"	bl	hc_cpu1_main\n"
	"1:	wfi\n"
	"	b	1b\n"
	".balign 2048\n"
	"hc_vectors:\n"
	"	.rept 16\n"
	"	mrs	x0, esr_el1\n"
	"	mrs	x1, elr_el1\n"
	"	ldr	x2, =__stack0_top\n"
	"	mov	sp, x2\n"
	"	bl	hc_guest_exception\n"
	"	.balign 128\n"
	"	.endr\n"
	".ltorg\n");
