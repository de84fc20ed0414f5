// SPDX-License-Identifier: MIT
#include "nvme-mini.h"

#include <string.h>
#include <time.h>

#define QUEUE_ENTRIES 16 /* admin and I/O queues alike; well under CAP.MQES */

/* A submission queue entry (NVMe 1.4, section 4.2, figure 104). */
struct sqe {
	uint32_t cdw0; /* opcode 7:0, command identifier 31:16 */
	uint32_t nsid;
	uint64_t rsvd;
	uint64_t mptr;
	uint64_t prp1;
	uint64_t prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};
_Static_assert(sizeof(struct sqe) == 64, "SQ entry");

/* A completion queue entry (section 4.6, figure 124). */
struct cqe {
	uint32_t dw0;
	uint32_t dw1;
	uint16_t sq_head;
	uint16_t sq_id;
	uint16_t cid;
	uint16_t status; /* phase tag bit 0, status field 15:1 */
};
_Static_assert(sizeof(struct cqe) == 16, "CQ entry");

/* Opcodes: admin (figure 139), NVM (figure 346). */
#define ADMIN_CREATE_IO_SQ 0x01
#define ADMIN_CREATE_IO_CQ 0x05
#define ADMIN_IDENTIFY 0x06
#define NVM_WRITE 0x01
#define NVM_READ 0x02

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint8_t *page(struct t_nvme *n, unsigned which)
{
	return n->mem + (size_t)which * T_NVME_PAGE;
}

static uint64_t bus(struct t_nvme *n, unsigned which)
{
	return rl_dev_dma(n->dev, page(n, which), T_NVME_PAGE);
}

/* Waits for CSTS.RDY to equal ready (section 7.6.1; CAP.TO bounds it). */
static int wait_ready(struct t_nvme *n, unsigned ready)
{
	uint64_t deadline = now_ms() + n->timeout_ms;
	uint32_t csts;

	do {
		csts = rl_dev_read32(n->dev, T_NVME_CSTS);
		if (csts == UINT32_MAX) {
			n->failed = "CSTS reads all ones: the device is gone";
			return -1;
		}
		if ((csts & 1) == ready)
			return 0;
	} while (now_ms() < deadline);
	n->failed = ready ? "CSTS.RDY did not become 1" : "CSTS.RDY did not become 0";
	return -1;
}

int t_nvme_disable(struct t_nvme *n)
{
	rl_dev_write32(n->dev, T_NVME_CC, 0);
	return wait_ready(n, 0);
}

/* Submits one command on queue q (0 admin, 1 I/O) and polls for its completion; returns the status field. */
static int submit(struct t_nvme *n, unsigned q, struct sqe *cmd, uint32_t *dw0)
{
	struct sqe *sq = (struct sqe *)page(n, q ? T_PAGE_IOSQ : T_PAGE_ASQ);
	volatile struct cqe *cq = (volatile struct cqe *)page(n, q ? T_PAGE_IOCQ : T_PAGE_ACQ);
	uint16_t cid = ++n->cid;
	uint64_t deadline = now_ms() + 2000;

	cmd->cdw0 |= (uint32_t)cid << 16;
	sq[n->tail[q]] = *cmd;
	n->tail[q] = (n->tail[q] + 1) % QUEUE_ENTRIES;
	/* SQ y tail doorbell at 1000h + (2y * stride) (section 3.1.24). */
	rl_dev_write32(n->dev, 0x1000 + 2 * q * n->dstrd, n->tail[q]);

	volatile struct cqe *e = &cq[n->head[q]];
	while ((e->status & 1) != n->phase[q]) {
		if (now_ms() > deadline) {
			n->failed = "no completion within 2 s";
			return -1;
		}
	}
	rl_dev_rmb();
	if (e->cid != cid) {
		n->failed = "completion for another command identifier";
		return -1;
	}
	if (dw0)
		*dw0 = e->dw0;
	int status = e->status >> 1;
	if (++n->head[q] == QUEUE_ENTRIES) {
		n->head[q] = 0;
		n->phase[q] = !n->phase[q]; /* the phase tag inverts on each pass (section 4.6) */
	}
	/* CQ y head doorbell at 1000h + ((2y + 1) * stride) (section 3.1.25). */
	rl_dev_write32(n->dev, 0x1000 + (2 * q + 1) * n->dstrd, n->head[q]);
	if (status)
		n->failed = "command completed with an error status";
	return status;
}

static int identify(struct t_nvme *n, uint32_t cns, uint32_t nsid)
{
	struct sqe c = {.cdw0 = ADMIN_IDENTIFY, .nsid = nsid, .prp1 = bus(n, T_PAGE_IDENTIFY), .cdw10 = cns};

	memset(page(n, T_PAGE_IDENTIFY), 0, T_NVME_PAGE);
	return submit(n, 0, &c, NULL) ? -1 : 0;
}

/* Identify controller (CNS 01h) and namespace 1 (CNS 00h), section 5.15. */
static int identify_all(struct t_nvme *n)
{
	const uint8_t *id = page(n, T_PAGE_IDENTIFY);
	uint32_t lbaf;

	if (identify(n, 1, 0))
		return -1;
	memcpy(n->serial, id + 4, 20); /* SN: bytes 23:04, ASCII, space padded (figure 247) */
	n->serial[20] = '\0';
	for (int i = 19; i >= 0 && n->serial[i] == ' '; i--)
		n->serial[i] = '\0';
	if (identify(n, 0, 1))
		return -1;
	memcpy(&n->lbas, id, 8); /* NSZE, bytes 7:0 (figure 245) */
	/* The LBA format in use: FLBAS bits 3:0 (byte 26) index LBAF at 128 + 4n; LBADS is its bits 23:16. */
	memcpy(&lbaf, id + 128 + 4 * (id[26] & 0xf), 4);
	n->lba_size = 1u << ((lbaf >> 16) & 0xff);
	if (n->lba_size < 512 || n->lba_size > T_NVME_PAGE) {
		n->failed = "unexpected LBA size";
		return -1;
	}
	return 0;
}

/* Create I/O Completion Queue 1, then Submission Queue 1 bound to it (sections 5.3, 5.4). */
static int create_io_queues(struct t_nvme *n)
{
	uint32_t size_id = (QUEUE_ENTRIES - 1) << 16 | 1; /* QSIZE 0's based, QID 1 */
	struct sqe cq = {.cdw0 = ADMIN_CREATE_IO_CQ, .prp1 = bus(n, T_PAGE_IOCQ),
			 .cdw10 = size_id, .cdw11 = 1 /* physically contiguous, no interrupts */};
	struct sqe sq = {.cdw0 = ADMIN_CREATE_IO_SQ, .prp1 = bus(n, T_PAGE_IOSQ),
			 .cdw10 = size_id, .cdw11 = 1u << 16 | 1 /* CQID 1, contiguous */};

	if (submit(n, 0, &cq, NULL) || submit(n, 0, &sq, NULL))
		return -1;
	return 0;
}

int t_nvme_bringup(struct t_nvme *n, struct rl_dev *dev, void *mem)
{
	uint64_t cap;

	memset(n, 0, sizeof *n);
	n->dev = dev;
	n->mem = mem;
	n->phase[0] = n->phase[1] = 1; /* the first pass's entries carry phase 1 */
	if (!bus(n, 0) || !bus(n, T_PAGES - 1)) {
		n->failed = "queue memory is not in a registered region";
		return -1;
	}
	memset(mem, 0, (size_t)T_PAGES * T_NVME_PAGE);
	cap = rl_dev_read64(dev, T_NVME_CAP);
	if (cap == UINT64_MAX) {
		n->failed = "CAP reads all ones";
		return -1;
	}
	n->dstrd = 4u << ((cap >> 32) & 0xf);              /* CAP.DSTRD, bits 35:32 */
	n->timeout_ms = (unsigned)((cap >> 24) & 0xff) * 500; /* CAP.TO, bits 31:24, in 500 ms */
	if (n->timeout_ms == 0)
		n->timeout_ms = 500;
	/* Section 7.6.1: disable, set the admin queues, enable, wait for ready. */
	if (t_nvme_disable(n))
		return -1;
	rl_dev_write32(dev, T_NVME_AQA, (QUEUE_ENTRIES - 1) << 16 | (QUEUE_ENTRIES - 1));
	rl_dev_write64(dev, T_NVME_ASQ, bus(n, T_PAGE_ASQ));
	rl_dev_write64(dev, T_NVME_ACQ, bus(n, T_PAGE_ACQ));
	/* CC (section 3.1.5): IOCQES 4 (16 B), IOSQES 6 (64 B), MPS 0 (4 KiB), CSS NVM, EN. */
	rl_dev_write32(dev, T_NVME_CC, 4u << 20 | 6u << 16 | 1);
	if (wait_ready(n, 1))
		return -1;
	if (identify_all(n) || create_io_queues(n))
		return -1;
	return 0;
}

int t_nvme_rw(struct t_nvme *n, bool write, uint64_t lba, void *buf)
{
	/* One page-aligned 4 KiB buffer needs PRP1 only (section 4.3). */
	struct sqe c = {.cdw0 = write ? NVM_WRITE : NVM_READ, .nsid = 1,
			.prp1 = rl_dev_dma(n->dev, buf, T_NVME_PAGE),
			.cdw10 = (uint32_t)lba, .cdw11 = (uint32_t)(lba >> 32),
			.cdw12 = T_NVME_PAGE / n->lba_size - 1 /* NLB, 0's based */};

	if (!c.prp1 || c.prp1 % T_NVME_PAGE) {
		n->failed = "the buffer is not a page in a registered region";
		return -1;
	}
	return submit(n, 1, &c, NULL) ? -1 : 0;
}
