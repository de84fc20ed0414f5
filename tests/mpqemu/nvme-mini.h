/* SPDX-License-Identifier: MIT */
/*
 * The smallest NVMe bring-up that proves the mpqemu back end: rl_dev
 * accessors and DMA into a region handed over as guest RAM, nothing else.
 * Not a driver (one outstanding command, polled, no error recovery); the
 * real driver is the device layer's. Facts from NVM Express 1.4.
 */
#ifndef T_NVME_MINI_H
#define T_NVME_MINI_H

#include <stdbool.h>
#include <stdint.h>

#include "dev.h"

/* Controller registers (NVMe 1.4, section 3.1, figure 78). */
#define T_NVME_CAP 0x00
#define T_NVME_VS 0x08
#define T_NVME_INTMS 0x0c
#define T_NVME_CC 0x14
#define T_NVME_CSTS 0x1c
#define T_NVME_AQA 0x24
#define T_NVME_ASQ 0x28
#define T_NVME_ACQ 0x30

/* The layout of the guest RAM region the bring-up uses: one 4 KiB page each. */
enum {
	T_PAGE_ASQ,
	T_PAGE_ACQ,
	T_PAGE_IOSQ,
	T_PAGE_IOCQ,
	T_PAGE_IDENTIFY,
	T_PAGE_WRITE,
	T_PAGE_READ,
	T_PAGES,
};
#define T_NVME_PAGE 4096u

struct t_nvme {
	struct rl_dev *dev;
	uint8_t *mem; /* T_PAGES pages inside a registered region */
	unsigned dstrd; /* doorbell stride: 4 << CAP.DSTRD bytes */
	unsigned timeout_ms; /* CAP.TO */
	uint16_t tail[2], head[2]; /* [0] admin, [1] the I/O queue pair */
	bool phase[2];
	uint16_t cid;
	uint32_t lba_size;
	uint64_t lbas;
	char serial[21];
	const char *failed; /* what went wrong, for the test's message */
};

/* Disables, sets up the admin queues, enables, identifies, creates I/O queue pair 1. 0 or -1 (see failed). */
int t_nvme_bringup(struct t_nvme *n, struct rl_dev *dev, void *mem);

/* Writes (write = true) or reads 4 KiB at lba from or into buf: a 4 KiB-aligned page in a registered region. 0 or -1. */
int t_nvme_rw(struct t_nvme *n, bool write, uint64_t lba, void *buf);

/* Sets CC.EN = 0 and waits for CSTS.RDY = 0. 0 or -1. */
int t_nvme_disable(struct t_nvme *n);

#endif
