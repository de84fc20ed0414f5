// SPDX-License-Identifier: MIT
/*
 * A raw NVMe bring-up through the rl_dev accessors only (tests/mpqemu/
 * nvme-mini.c): the admin queues in guest RAM handed to QEMU, Identify
 * returns the serial we passed, I/O queues are created, and a 4 KiB Write
 * then Read round-trips through QEMU's NVMe into the backing image at the
 * right offset. Two regions are handed over: the queues live in the first,
 * mapped where BAR0 would go by default (so BAR0 must be placed around it),
 * the data comes from the second and is read back into both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "helpers.h"
#include "nvme-mini.h"

#define IMAGE_SIZE (8u << 20)
#define SERIAL "RL-NVME-0123456789"
#define BAR0_DEFAULT 0xfe000000u /* where the back end puts BAR0 when it is free */
#define LBA 100 /* in 512-byte blocks: the image offset 51200 is not 4 KiB-aligned on purpose */

static void fill(uint8_t *p, uint32_t seed)
{
	for (unsigned i = 0; i < T_NVME_PAGE; i += 4) {
		uint32_t v = seed ^ (i * 2654435761u);
		memcpy(p + i, &v, 4);
	}
}

int main(void)
{
	struct rl_mpqemu_region ram[2];
	struct t_nvme n;
	struct rl_mpqemu *q;
	uint8_t *on_disk;
	char image[64];
	int fd;

	t_need_qemu();
	fd = t_image(IMAGE_SIZE, image, sizeof image);
	/* Guest RAM where BAR0 would go by default: the back end must put BAR0 elsewhere. */
	ram[0] = t_guest_ram_at(1 << 20, BAR0_DEFAULT);
	ram[1] = t_guest_ram(2 << 20);
	struct rl_mpqemu_config cfg = {.image = image, .serial = SERIAL, .regions = ram, .nregions = 2};
	q = t_start(&cfg);
	if (!q)
		return 1;
	struct rl_dev *d = rl_mpqemu_dev(q);
	uint64_t bar0 = rl_mpqemu_bar0(q);
	printf("regions %p and %p, BAR0 at 0x%llx\n", ram[0].addr, ram[1].addr, (unsigned long long)bar0);
	if ((uintptr_t)ram[0].addr != BAR0_DEFAULT)
		printf("note: 0x%x was taken, so BAR0 placement around a region is not exercised\n", BAR0_DEFAULT);
	for (int i = 0; i < 2; i++)
		t_check(bar0 + d->bar_len <= (uintptr_t)ram[i].addr || (uintptr_t)ram[i].addr + ram[i].len <= bar0,
			"BAR0 overlaps region %d", i);
	t_check(d->bar == NULL && d->ops != NULL, "the device is reached through ops");
	t_check(d->nregions == 2 && d->regions[1].start == (uintptr_t)ram[1].addr && d->regions[1].len == ram[1].len,
		"regions registered in the rl_dev");
	t_check(rl_dev_dma(d, ram[1].addr, 4096) == (uintptr_t)ram[1].addr, "bus address = virtual address");
	t_check(rl_dev_dma(d, (char *)ram[1].addr + ram[1].len - 8, 16) == 0, "a buffer past a region has no bus address");

	/* Queues and Identify in the first region. */
	if (t_nvme_bringup(&n, d, ram[0].addr)) {
		fprintf(stderr, "FAIL: bring-up: %s (%s)\n", n.failed, rl_mpqemu_error(q));
		return 1;
	}
	printf("identify: serial \"%s\", %llu blocks of %u bytes\n", n.serial, (unsigned long long)n.lbas,
	       n.lba_size);
	t_check(strcmp(n.serial, SERIAL) == 0, "serial \"%s\", expected \"%s\"", n.serial, SERIAL);
	t_check(n.lbas * n.lba_size == IMAGE_SIZE, "namespace of %llu bytes, the image has %u",
		(unsigned long long)(n.lbas * n.lba_size), IMAGE_SIZE);

	/* Data from the second region, read back into both. */
	uint8_t *wbuf = (uint8_t *)ram[1].addr + 5 * T_NVME_PAGE, *rbuf0 = n.mem + T_PAGE_READ * T_NVME_PAGE;
	uint8_t *rbuf1 = (uint8_t *)ram[1].addr + 9 * T_NVME_PAGE;
	fill(wbuf, 0xc0ffee);
	memset(rbuf0, 0x5a, T_NVME_PAGE);
	memset(rbuf1, 0xa5, T_NVME_PAGE);
	t_check(t_nvme_rw(&n, true, LBA, wbuf) == 0, "write: %s", n.failed);
	t_check(t_nvme_rw(&n, false, LBA, rbuf0) == 0, "read into region 0: %s", n.failed);
	t_check(t_nvme_rw(&n, false, LBA, rbuf1) == 0, "read into region 1: %s", n.failed);
	t_check(memcmp(wbuf, rbuf0, T_NVME_PAGE) == 0, "the block read into region 0 differs from the one written");
	t_check(memcmp(wbuf, rbuf1, T_NVME_PAGE) == 0, "the block read into region 1 differs from the one written");

	/* The data is in the image file at LBA * block size, and nothing around it changed. */
	on_disk = calloc(1, 3 * T_NVME_PAGE);
	off_t at = (off_t)LBA * n.lba_size;
	t_check(pread(fd, on_disk, 3 * T_NVME_PAGE, at - T_NVME_PAGE) == 3 * T_NVME_PAGE, "pread the image");
	t_check(memcmp(on_disk + T_NVME_PAGE, wbuf, T_NVME_PAGE) == 0, "the image lacks the block at offset %lld",
		(long long)at);
	static const uint8_t zero[T_NVME_PAGE];
	t_check(memcmp(on_disk, zero, T_NVME_PAGE) == 0 && memcmp(on_disk + 2 * T_NVME_PAGE, zero, T_NVME_PAGE) == 0,
		"bytes around the block changed");

	t_check(t_nvme_disable(&n) == 0, "disable: %s", n.failed);
	t_check(rl_mpqemu_alive(q), "device died: %s", rl_mpqemu_error(q));
	t_stop(q);
	t_check(!t_has_children(), "a child is left after stop");
	free(on_disk);
	close(fd);
	printf("%u checks, %u failed\n", t_checks, t_failures);
	return t_failures ? 1 : 0;
}
