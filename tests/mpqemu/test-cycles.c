// SPDX-License-Identifier: MIT
/*
 * Start, bring up, write and read one block, stop: 30 times in a row on the
 * same image. A start order that races QEMU's startup reset failed about
 * once in 30 (docs/mpqemu.md); each cycle also checks the previous cycle's
 * block is still there (QEMU flushed and released the image on stop) and
 * that nothing accumulates: no child, no descriptor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "helpers.h"
#include "nvme-mini.h"

#define CYCLES_DEFAULT 30

static int cycle(int i, const char *image, struct rl_mpqemu_region *ram)
{
	struct rl_mpqemu_config cfg = {.image = image, .serial = "RL-CYCLE", .regions = ram, .nregions = 1};
	struct rl_mpqemu *q = t_start(&cfg);
	struct t_nvme n;
	int ok = 1;

	if (!q)
		return 0;
	if (t_nvme_bringup(&n, rl_mpqemu_dev(q), ram->addr)) {
		fprintf(stderr, "FAIL: cycle %d: bring-up: %s (%s)\n", i, n.failed, rl_mpqemu_error(q));
		t_stop(q);
		return 0;
	}
	uint8_t *w = n.mem + T_PAGE_WRITE * T_NVME_PAGE, *r = n.mem + T_PAGE_READ * T_NVME_PAGE;
	/* The previous cycle's block, through this QEMU. */
	if (i > 0) {
		memset(w, i - 1, T_NVME_PAGE);
		ok &= t_nvme_rw(&n, false, (uint64_t)(i - 1) * 8, r) == 0 && memcmp(w, r, T_NVME_PAGE) == 0;
	}
	memset(w, i, T_NVME_PAGE);
	ok &= t_nvme_rw(&n, true, (uint64_t)i * 8, w) == 0;
	ok &= t_nvme_rw(&n, false, (uint64_t)i * 8, r) == 0 && memcmp(w, r, T_NVME_PAGE) == 0;
	if (!ok)
		fprintf(stderr, "FAIL: cycle %d: I/O: %s (%s)\n", i, n.failed ? n.failed : "data differs",
			rl_mpqemu_error(q));
	t_stop(q);
	return ok;
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : CYCLES_DEFAULT, failed = 0, fds;
	struct rl_mpqemu_region ram;
	char image[64];
	uint64_t t0, worst = 0;

	t_need_qemu();
	int fd = t_image(4 << 20, image, sizeof image);
	ram = t_guest_ram(1 << 20);
	fds = t_count_fds();
	t0 = t_now_ns();
	for (int i = 0; i < cycles; i++) {
		uint64_t t = t_now_ns();
		if (!cycle(i, image, &ram))
			failed++;
		t = t_now_ns() - t;
		worst = t > worst ? t : worst;
		t_check(!t_has_children(), "cycle %d: a child process is left", i);
		t_check(t_count_fds() == fds, "cycle %d: %d descriptors open, %d before", i, t_count_fds(), fds);
	}
	printf("%d cycles, %d failed: %.1f ms a cycle on average, %.1f ms the slowest\n", cycles, failed,
	       (t_now_ns() - t0) / 1e6 / cycles, worst / 1e6);
	close(fd);
	return failed || t_failures ? 1 : 0;
}
