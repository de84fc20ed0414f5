// SPDX-License-Identifier: MIT
/*
 * QEMU's NVMe answers over the back end: configuration space says QEMU NVMe
 * (1b36:0010, class 010802), BAR0 says CAP.MQES 2047 and VS 1.4.0. Also
 * measures one round trip (BAR read, BAR write, config read), printed for
 * docs/mpqemu.md. The image path has a comma (QEMU's option syntax must
 * escape it) and is a real file name, removed as soon as QEMU has it open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "helpers.h"
#include "nvme-mini.h"

#define ROUNDS 1000

static char dir[256], image[320];

static void remove_image(void)
{
	if (image[0])
		unlink(image);
	if (dir[0])
		rmdir(dir);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Median and 99th percentile of ROUNDS round trips of one kind, in microseconds. */
static void report(const char *what, uint64_t *ns)
{
	qsort(ns, ROUNDS, sizeof *ns, cmp_u64);
	printf("round trip, %s: median %.1f us, p99 %.1f us (%d runs)\n", what, ns[ROUNDS / 2] / 1e3,
	       ns[ROUNDS * 99 / 100] / 1e3, ROUNDS);
	t_check(ns[ROUNDS / 2] < 10 * 1000 * 1000, "%s: median round trip %llu ns is absurd", what,
		(unsigned long long)ns[ROUNDS / 2]);
}

static void measure(struct rl_mpqemu *q)
{
	static uint64_t ns[ROUNDS];
	struct rl_dev *d = rl_mpqemu_dev(q);
	uint32_t v;

	for (int i = 0; i < ROUNDS; i++) {
		uint64_t t = t_now_ns();
		v = rl_dev_read32(d, T_NVME_CSTS);
		ns[i] = t_now_ns() - t;
	}
	t_check(v != UINT32_MAX, "CSTS reads all ones");
	report("BAR0 read32 (CSTS)", ns);
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t t = t_now_ns();
		rl_dev_write32(d, T_NVME_INTMS, 0); /* setting no mask bit changes nothing */
		ns[i] = t_now_ns() - t;
	}
	report("BAR0 write32 (INTMS)", ns);
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t t = t_now_ns();
		t_check(rl_mpqemu_config_read(q, 0, 4, &v) == 0, "config read: %s", rl_mpqemu_error(q));
		ns[i] = t_now_ns() - t;
	}
	report("config read", ns);
}

static void check_config_space(struct rl_mpqemu *q)
{
	uint32_t id = 0, class = 0, cmd = 0, bar_lo = 0, bar_hi = 0;

	t_check(rl_mpqemu_config_read(q, 0x00, 4, &id) == 0, "read ID: %s", rl_mpqemu_error(q));
	t_check(rl_mpqemu_config_read(q, 0x08, 4, &class) == 0, "read class: %s", rl_mpqemu_error(q));
	t_check(rl_mpqemu_config_read(q, 0x04, 2, &cmd) == 0, "read COMMAND: %s", rl_mpqemu_error(q));
	t_check(rl_mpqemu_config_read(q, 0x10, 4, &bar_lo) == 0 && rl_mpqemu_config_read(q, 0x14, 4, &bar_hi) == 0,
		"read BAR0: %s", rl_mpqemu_error(q));
	printf("config: %04x:%04x class %06x command 0x%04x BAR0 0x%08x%08x (%zu bytes)\n", id & 0xffff,
	       id >> 16, class >> 8, cmd, bar_hi, bar_lo, rl_mpqemu_dev(q)->bar_len);
	t_check(id == 0x00101b36, "vendor:device 0x%08x, expected 1b36:0010 (QEMU NVMe)", id);
	t_check(class >> 8 == 0x010802, "class %06x, expected 010802 (NVMe)", class >> 8);
	t_check((cmd & 0x6) == 0x6, "COMMAND 0x%04x lacks MEM and BUS_MASTER", cmd);
	t_check(((uint64_t)bar_hi << 32 | (bar_lo & ~0xfu)) == rl_mpqemu_bar0(q), "BAR0 reads back 0x%08x%08x",
		bar_hi, bar_lo);
	/* A refused access leaves the device usable (QEMU would exit on it). */
	t_check(rl_mpqemu_config_read(q, 0x100, 4, &id) == -EINVAL, "config read past 256 not refused");
	t_check(rl_mpqemu_config_read(q, 0x02, 4, &id) == -EINVAL, "misaligned config read not refused");
}

static void check_registers(struct rl_mpqemu *q)
{
	struct rl_dev *d = rl_mpqemu_dev(q);
	uint64_t cap = rl_dev_read64(d, T_NVME_CAP), v;
	uint32_t vs = rl_dev_read32(d, T_NVME_VS);

	printf("CAP 0x%016llx VS 0x%08x\n", (unsigned long long)cap, vs);
	/* CAP.MQES (bits 15:0) is 0's based: QEMU's 2048 entries read 2047 (NVMe 1.4, 3.1.1). */
	t_check((cap & 0xffff) == 2047, "CAP.MQES %llu, expected 2047", (unsigned long long)(cap & 0xffff));
	t_check((cap >> 37 & 1) == 1, "CAP.CSS lacks the NVM command set");
	t_check(vs == 0x10400, "VS 0x%x, expected 0x10400 (1.4.0)", vs);
	t_check(rl_dev_read32(d, T_NVME_CAP) == (uint32_t)cap, "CAP's low half differs read as 32 bits");
	t_check(rl_mpqemu_bar_read(q, (uint32_t)d->bar_len, 4, &v) == -EINVAL, "read past BAR0 not refused");
	t_check(rl_mpqemu_bar_read(q, 2, 4, &v) == -EINVAL, "misaligned BAR0 read not refused");
	t_check(rl_mpqemu_bar_read(q, 0, 2, &v) == -EINVAL, "2-byte BAR0 read not refused");
	t_check(rl_mpqemu_alive(q), "refused accesses killed the device: %s", rl_mpqemu_error(q));
	t_check(rl_dev_read32(d, T_NVME_VS) == 0x10400, "VS after refused accesses");
}

int main(void)
{
	struct rl_mpqemu_region ram;
	struct rl_mpqemu *q;
	int fd;

	t_need_qemu();
	atexit(remove_image);
	snprintf(dir, sizeof dir, "%s/mpqemu-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(image, sizeof image, "%s/nvme,0.raw", dir);
	fd = open(image, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0) {
		perror(image);
		return 1;
	}
	ram = t_guest_ram(1 << 20);
	struct rl_mpqemu_config cfg = {.image = image, .serial = "RL-CONFIG-1", .regions = &ram, .nregions = 1};
	q = t_start(&cfg);
	if (!q)
		return 1;
	remove_image(); /* QEMU has it open: nothing is left on disk from here on */
	check_config_space(q);
	check_registers(q);
	measure(q);
	t_check(rl_mpqemu_alive(q), "device died: %s", rl_mpqemu_error(q));
	t_stop(q);
	close(fd);
	printf("%u checks, %u failed\n", t_checks, t_failures);
	return t_failures ? 1 : 0;
}
