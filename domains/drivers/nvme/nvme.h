/* SPDX-License-Identifier: MIT */
/*
 * A userspace NVMe driver as a library (NVM Express Base Specification 1.4):
 * bring-up, one I/O queue pair, Read, Write and Flush with PRP lists, polled
 * completions, a batched submit/poll interface, and recovery by controller
 * reset. It reaches the device only through the device layer (dev.h), so
 * it runs on every back end: the project's model, QEMU's NVMe over its
 * multi-process protocol, vfio-pci. It keeps no global state: a driver
 * domain and a benchmark link the same code.
 *
 * Memory: the caller hands nvme_ctrl_open() one region for the queues, PRP
 * lists and the Identify buffer (nvme_qmem_size() bytes, 4 KiB aligned; it is
 * registered with rl_dev_add_region() unless it already lies in a region).
 * Data buffers come from the caller and must lie inside one registered
 * region (rl_dev_dma()); they are used in place, never copied.
 *
 * Errors, in nvme_req.status and the return values:
 *   -EINVAL     bad request: no blocks, buffer not 4-byte aligned, unknown op
 *   -ERANGE     LBA range beyond the namespace
 *   -E2BIG      transfer larger than nvme_info.max_transfer
 *   -EFAULT     buffer not inside one DMA region
 *   -EREMOTEIO  the device completed the command with an error status:
 *               nvme_req.nvme_status holds it (NVME_SCT, NVME_SC, nvme_status_str)
 *   -ETIMEDOUT  no completion within the command timeout; the controller was reset
 *   -EIO        the request was in flight when the controller was reset (fatal
 *               status CSTS.CFS, or another request's timeout)
 *   -ENODEV     the controller could not be brought up again after a reset
 * Requests refused before the device (the first four) never reach it.
 */
#ifndef RL_NVME_H
#define RL_NVME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dev.h"

enum nvme_op {
	NVME_OP_READ = 1,
	NVME_OP_WRITE,
	NVME_OP_FLUSH,
};

/* A completion's status field without the phase tag (section 4.6.1): SC 7:0, SCT 10:8, CRD, M, DNR. */
#define NVME_SC(s) ((unsigned)(s) & 0xffu)
#define NVME_SCT(s) (((unsigned)(s) >> 8) & 7u)
#define NVME_DNR(s) (((unsigned)(s) >> 14) & 1u)

/* A 64-byte submission queue entry (section 4.2, Figure 104), for pass-through. */
struct nvme_cmd {
	uint8_t opc;
	uint8_t flags; /* FUSE 1:0, PSDT 7:6 (0: PRPs) */
	uint16_t cid;  /* set by the driver */
	uint32_t nsid;
	uint32_t cdw2, cdw3;
	uint64_t mptr;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_req {
	/* The caller's. */
	uint8_t op;        /* enum nvme_op */
	uint64_t lba;      /* first block */
	uint32_t nblocks;  /* blocks of nvme_info.lba_size; 0 for Flush */
	void *buf;         /* nblocks * lba_size bytes, 4-byte aligned, in a DMA region */
	uint64_t user;     /* the caller's tag, untouched */
	/* Set by the driver on completion. */
	int status;           /* 0 or a negative errno (see above) */
	uint16_t nvme_status; /* with -EREMOTEIO: the device's status */
	uint32_t result;      /* completion DW0 (pass-through) */
	/* The driver's. */
	struct nvme_req *next;
	uint64_t deadline_ns;
	const struct nvme_cmd *raw;
};

struct nvme_config {
	unsigned queue_depth; /* I/O queue entries, 2..4096, capped by CAP.MQES (0: 256) */
	unsigned timeout_ms;  /* a command's deadline before a reset (0: 2000) */
	uint32_t nsid;        /* namespace (0: 1) */
};

struct nvme_info {
	uint32_t lba_size;      /* bytes per block */
	uint64_t nblocks;       /* namespace size in blocks */
	uint32_t max_transfer;  /* bytes per command: min(MDTS, 2 MiB) */
	unsigned queue_depth;   /* I/O commands in flight at most (entries - 1) */
	unsigned dstrd;         /* CAP.DSTRD */
	uint32_t version;       /* VS */
	bool volatile_cache;    /* Identify VWC: Flush matters */
	char serial[21], model[41], firmware[9];
	uint64_t resets;        /* controller resets since open */
	uint64_t timeouts;      /* commands that timed out */
};

struct nvme_ctrl;

/* Bytes of queue memory nvme_ctrl_open needs for a queue depth (0: the default). */
size_t nvme_qmem_size(unsigned queue_depth);

/*
 * Brings the controller up (section 7.6.1): disable, admin queue, enable,
 * Identify controller and namespace, Set Features Number of Queues, create
 * the I/O completion and submission queues. cfg may be NULL. Returns 0 and
 * *out, -EINVAL (qmem too small or misaligned, namespace unusable), -ENOSPC
 * (no room for the region), -ETIMEDOUT (CSTS.RDY did not follow CC.EN within
 * CAP.TO, or an admin command did not complete), -EREMOTEIO (an admin
 * command failed), -EIO (controller fatal status), -ENOMEM.
 */
int nvme_ctrl_open(struct rl_dev *dev, void *qmem, size_t qmem_len, const struct nvme_config *cfg,
		   struct nvme_ctrl **out);

/* Deletes the I/O queues, shuts the controller down (CC.SHN) and disables it; frees c. */
void nvme_ctrl_close(struct nvme_ctrl *c);

const struct nvme_info *nvme_ctrl_info(const struct nvme_ctrl *c);

/*
 * Submits up to n requests, in order, with one doorbell store. A request
 * refused before the device completes at once (its status set, returned by
 * the next nvme_poll). Returns how many were taken (fewer than n when the
 * queue is full: submit the rest after polling), or -ENODEV.
 */
int nvme_submit(struct nvme_ctrl *c, struct nvme_req **reqs, unsigned n);

/*
 * Reaps completions without waiting: up to max completed requests into
 * done[] (status set), one CQ head doorbell store. Also notices a fatal
 * controller status or an expired deadline and resets the controller (the
 * requests in flight then complete with -EIO, the expired one with
 * -ETIMEDOUT). Returns the number of requests in done[].
 */
unsigned nvme_poll(struct nvme_ctrl *c, struct nvme_req **done, unsigned max);

/* Requests submitted and not yet returned by nvme_poll. */
unsigned nvme_inflight(const struct nvme_ctrl *c);

/* One request, waiting for it: the request's status (0 or a negative errno). */
int nvme_read(struct nvme_ctrl *c, uint64_t lba, uint32_t nblocks, void *buf);
int nvme_write(struct nvme_ctrl *c, uint64_t lba, uint32_t nblocks, const void *buf);
int nvme_flush(struct nvme_ctrl *c);

/*
 * Submits all n requests, as many at a time as the queue takes, and polls
 * until every one has completed (each has its status). Returns 0, or
 * -ENODEV when the controller is gone (requests it never took get -ENODEV).
 * Other requests must not be in flight.
 */
int nvme_run(struct nvme_ctrl *c, struct nvme_req **reqs, unsigned n);

/* Submits r and polls until it completes: r->status. Other requests must not be in flight. */
int nvme_sync(struct nvme_ctrl *c, struct nvme_req *r);

/*
 * Pass-through, for tests and tools: cmd goes to the device as given (its
 * PRPs unchecked, CID set by the driver). Admin: synchronous, returns 0,
 * -EREMOTEIO with *status, or -ETIMEDOUT; *result gets DW0. I/O: r is
 * submitted carrying cmd (r->raw), completes like any request.
 */
int nvme_admin_raw(struct nvme_ctrl *c, const struct nvme_cmd *cmd, uint32_t *result, uint16_t *status);
int nvme_submit_raw(struct nvme_ctrl *c, struct nvme_req *r, const struct nvme_cmd *cmd);

/*
 * Resets the controller and brings it up again (as after a fatal status):
 * requests in flight complete with -EIO. Returns 0 or what nvme_ctrl_open would.
 */
int nvme_ctrl_reset(struct nvme_ctrl *c);

/* "SCT 0h SC 80h: LBA Out of Range" and the like; buf of at least 64 bytes. */
const char *nvme_status_str(uint16_t status, char *buf, size_t len);

/* A readable errno of the list above. */
const char *nvme_strerror(int status);

/* Little-endian fields of Identify data and log pages, at any alignment (NVMe data is little-endian, as is x86). */
static inline uint32_t nvme_get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t nvme_get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

#endif
