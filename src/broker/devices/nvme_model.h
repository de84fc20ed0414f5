/* SPDX-License-Identifier: MIT */
/*
 * An NVMe controller model (NVMe base specification 1.4): a trusted process
 * that stands in for the hardware. BAR0 is the register file of a device
 * layer model file (src/device/model.h); queues and data live in DMA regions
 * the model maps at the same addresses as the driver (IOVA = virtual
 * address). One namespace (NSID 1), in RAM or in a backing file.
 *
 * The model reads only memory inside the regions it was given: every queue
 * base, PRP entry and PRP list is bounds-checked, and a bad one completes
 * the command with an error status instead of touching anything else.
 *
 * Fault injection goes through the device area of the control page (struct
 * nvme_model_shared), so a test in another process can ask for it:
 * nvme_model_inject().
 */
#ifndef RL_NVME_MODEL_H
#define RL_NVME_MODEL_H

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev.h"
#include "model.h"

#define NVME_MODEL_BAR_LEN (16u << 10)
#define NVME_MODEL_MAX_QUEUES 16 /* I/O submission and completion queues each */

struct nvme_model_config {
	int bar_fd;     /* the model file (sized and initialised by the model) */
	size_t bar_len; /* 0: NVME_MODEL_BAR_LEN */
	struct {
		int fd;
		uintptr_t addr;
	} dma[RL_DEV_MAX_REGIONS];
	unsigned ndma;
	int backing_fd;      /* namespace in this file (its size), or -1: in RAM */
	uint64_t ram_bytes;  /* namespace size in RAM (backing_fd < 0) */
	unsigned lba_shift;  /* 9 (512-byte blocks) .. 12 (4 KiB) */
	unsigned mdts;       /* Identify MDTS: largest transfer 2^mdts pages of 4 KiB (1..10) */
	unsigned mqes;       /* CAP.MQES: largest queue, zero-based (1..65535) */
	unsigned dstrd;      /* CAP.DSTRD: doorbell stride 4 << dstrd bytes (0..4) */
	unsigned timeout;    /* CAP.TO in 500 ms units (1..255) */
	unsigned spin_us;    /* busy-poll this long after the last work before sleeping */
	const char *serial;  /* Identify SN, at most 20 characters */
};

/* The fault injection request and the model's counters, in the control page's device area. */
struct nvme_model_shared {
	/* A request: fill these, then bump req_seq; the model copies them and sets ack_seq. */
	uint32_t fail_count;  /* fail the next N commands ... */
	uint16_t fail_status; /* ... with this status: SCT << 8 | SC */
	uint8_t fail_admin;   /* 1: admin commands count too; 0: I/O commands only */
	uint8_t set_cfs;      /* 1: set CSTS.CFS now (controller fatal until reset) */
	uint32_t drop_count;  /* execute the next N I/O commands but post no completion */
	_Atomic uint32_t req_seq;
	_Atomic uint32_t ack_seq;
	uint32_t reserved;
	/* Counters (the model writes, anyone reads). */
	_Atomic uint64_t commands;     /* commands fetched */
	_Atomic uint64_t errors;       /* completions with a non-zero status */
	_Atomic uint64_t dma_errors;   /* addresses outside the regions or misaligned */
	_Atomic uint64_t dropped;      /* completions not posted (injected) */
	_Atomic uint64_t injected;     /* error statuses injected */
	_Atomic uint64_t resets;       /* CC.EN 1 -> 0 */
	_Atomic uint64_t bad_doorbells; /* doorbell values beyond the queue, ignored */
	_Atomic uint64_t cq_full;      /* times a submission waited for room in its CQ */
};
static_assert(sizeof(struct nvme_model_shared) == 88, "nvme_model_shared layout");
static_assert(RL_MODEL_DEV_AREA + sizeof(struct nvme_model_shared) <= RL_MODEL_CTL_SIZE, "fits the page");

struct nvme_model;

/* Fills *cfg with defaults: 16 KiB BAR, RAM namespace of 64 MiB, 512-byte blocks, MDTS 8 (1 MiB). */
void nvme_model_config_default(struct nvme_model_config *cfg);

/*
 * Maps the BAR file and the DMA regions, sets up the namespace and the
 * registers, and publishes the model as ready. Returns 0 and *out, or
 * -EINVAL (bad configuration), -EEXIST (a region's address is taken), -errno.
 * *msg (when not NULL) gets a static description of what was wrong.
 */
int nvme_model_create(const struct nvme_model_config *cfg, struct nvme_model **out, const char **msg);

/* One pass: register changes, injection requests, every queue. Returns the work done (0: idle). */
unsigned nvme_model_step(struct nvme_model *m);

/* Steps until the control page's stop flag is set, sleeping while idle. Returns 0. */
int nvme_model_run(struct nvme_model *m);

/* Applies an injection request directly (same meaning as struct nvme_model_shared). */
void nvme_model_set_inject(struct nvme_model *m, const struct nvme_model_shared *req);

void nvme_model_destroy(struct nvme_model *m);

/*
 * From any process that maps the model file: hands req (its request fields)
 * to the model, kicks it and waits up to timeout_ms for the model to take
 * it. Returns 0 or -ETIMEDOUT. One requester at a time.
 */
int nvme_model_inject(struct rl_model_ctl *ctl, const struct nvme_model_shared *req, int timeout_ms);

/* The shared area of a model's control page. */
static inline struct nvme_model_shared *nvme_model_shared(struct rl_model_ctl *ctl)
{
	return rl_model_dev_area(ctl);
}

#endif
