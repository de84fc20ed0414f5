/* SPDX-License-Identifier: MIT */
/*
 * Driver test bodies that need nothing but a device: each takes a target (a
 * struct rl_dev of any back end, with its regions) and returns the number of
 * failed checks. The model back end runs them in test-nvme.c; QEMU's NVMe
 * over its multi-process protocol can run the same bodies.
 */
#ifndef T_NVME_SUITE_H
#define T_NVME_SUITE_H

#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include "dev.h"

/* A failed check: counted in the caller's `fails` and reported with its place; the test goes on. */
#define CHECK(cond, ...)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fails++;                                                         \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);  \
			fprintf(stderr, __VA_ARGS__);                                    \
			fputc('\n', stderr);                                             \
		}                                                                        \
	} while (0)

struct t_nvme_target {
	struct rl_dev *dev;
	void *qmem; /* queue memory, page aligned, registered */
	size_t qmem_len;
	uint8_t *buf; /* data buffers, registered; the bodies use all of it */
	size_t buf_len;
	/* Optional: commands the device has fetched so far (proves a request never reached it). */
	uint64_t (*device_commands)(void *arg);
	void *arg;
	/* Optional: the bodies that end with a summary line also write it here (a differential
	 * test compares the summaries of two back ends). */
	char *note;
	size_t note_len;
};

unsigned t_nvme_identify(const struct t_nvme_target *t);     /* bring-up, Identify, queues, close */
unsigned t_nvme_io_sizes(const struct t_nvme_target *t);     /* 1 block .. max transfer, offsets, PRP lists */
unsigned t_nvme_ring_wrap(const struct t_nvme_target *t);    /* many more commands than the queue depth */
unsigned t_nvme_flush(const struct t_nvme_target *t);
unsigned t_nvme_bad_requests(const struct t_nvme_target *t); /* refused by the driver, never sent */
unsigned t_nvme_batch(const struct t_nvme_target *t);        /* N requests, one submit, one doorbell */
unsigned t_nvme_reset(const struct t_nvme_target *t);        /* explicit reset: I/O works again */

/* Writes a pattern for (lba, seed) into len bytes. */
void t_nvme_pattern(uint8_t *p, size_t len, uint64_t lba, uint32_t seed);

#endif
