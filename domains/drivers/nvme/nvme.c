// SPDX-License-Identifier: MIT
/*
 * The NVMe driver library. Section numbers refer to the NVM Express Base
 * Specification, revision 1.4 (June 2019). Registers are reached only with
 * rl_dev_read32/write32/read64/write64 and bus addresses only come from
 * rl_dev_dma(), so the same code runs on every device layer back end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nvme.h"

/* Controller registers, section 3.1 (Figure 68). */
#define REG_CAP 0x00
#define REG_VS 0x08
#define REG_CC 0x14
#define REG_CSTS 0x1c
#define REG_AQA 0x24
#define REG_ASQ 0x28
#define REG_ACQ 0x30
#define REG_DBS 0x1000

/* CAP, section 3.1.1. */
#define CAP_MQES(cap) ((unsigned)((cap) & 0xffff))
#define CAP_TO(cap) ((unsigned)(((cap) >> 24) & 0xff))
#define CAP_DSTRD(cap) ((unsigned)(((cap) >> 32) & 0xf))
#define CAP_CSS_NVM(cap) (((cap) >> 37) & 1)
#define CAP_MPSMIN(cap) ((unsigned)(((cap) >> 48) & 0xf))
/* CC, section 3.1.5: EN, CSS 6:4 (0: NVM), MPS 10:7 (0: 4 KiB), AMS 13:11, SHN 15:14, IOSQES, IOCQES. */
#define CC_EN 1u
#define CC_SHN_NORMAL (1u << 14)
#define CC_IOSQES(n) ((uint32_t)(n) << 16)
#define CC_IOCQES(n) ((uint32_t)(n) << 20)
/* CSTS, section 3.1.6. */
#define CSTS_RDY 1u
#define CSTS_CFS 2u
#define CSTS_SHST_MASK (3u << 2)
#define CSTS_SHST_DONE (2u << 2)

#define PAGE 4096u
#define SQE_SIZE 64u
#define CQE_SIZE 16u
#define ADMIN_ENTRIES 32u
#define DEFAULT_DEPTH 256u
#define MAX_DEPTH 4096u
#define DEFAULT_TIMEOUT_MS 2000u
#define MAX_TRANSFER (2u << 20) /* one PRP list page per command: 512 entries */
#define HEALTH_PERIOD_NS 1000000u /* look at CSTS and deadlines this often when nothing completes */

/* Opcodes: admin (section 5, Figure 139), NVM (section 6, Figure 346). */
enum {
	ADM_DELETE_SQ = 0x00, ADM_CREATE_SQ = 0x01, ADM_DELETE_CQ = 0x04, ADM_CREATE_CQ = 0x05,
	ADM_IDENTIFY = 0x06, ADM_SET_FEATURES = 0x09,
	NVM_FLUSH = 0x00, NVM_WRITE = 0x01, NVM_READ = 0x02,
};
#define FID_NUM_QUEUES 0x07
#define IO_QID 1

_Static_assert(sizeof(struct nvme_cmd) == SQE_SIZE, "an SQE is 64 bytes");

struct queue_pair {
	struct nvme_cmd *sq;
	volatile uint32_t *cq; /* 4 dwords per entry */
	uint64_t sq_bus, cq_bus;
	uint32_t size;         /* entries of each */
	uint32_t sq_tail;
	uint32_t cq_head;
	bool phase;            /* the phase tag of a new entry at cq_head */
	uint32_t sq_db, cq_db; /* doorbell offsets */
};

struct nvme_ctrl {
	struct rl_dev *dev;
	uint8_t *qmem;
	size_t qmem_len;
	struct nvme_config cfg;
	struct nvme_info info;
	uint64_t cap;
	unsigned ready_timeout_ms; /* CAP.TO */
	struct queue_pair admin, io;
	uint16_t admin_cid;
	uint8_t *ident;   /* 4 KiB: Identify data */
	uint64_t ident_bus;
	uint8_t *prp;     /* one PRP list page per CID */
	uint64_t prp_bus;
	struct nvme_req **slots; /* by CID: the request in flight */
	uint16_t *free_cids;
	unsigned nfree;
	struct nvme_req *done_head, *done_tail; /* finished, not yet returned */
	unsigned pending; /* submitted, not yet returned by nvme_poll */
	uint64_t next_health_ns;
	bool dead;
};

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + t.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
}

static void pause_briefly(unsigned round)
{
	/* Register polls cost a message on some back ends: spin a little, then sleep. */
	if (round < 64)
		return;
	struct timespec t = {.tv_nsec = round < 256 ? 10000 : 100000};
	nanosleep(&t, NULL);
}

static size_t page_round(size_t n)
{
	return (n + PAGE - 1) & ~(size_t)(PAGE - 1);
}

/* ---- memory layout ---- */

static unsigned depth_or_default(unsigned depth)
{
	return depth ? depth : DEFAULT_DEPTH;
}

/* admin SQ, admin CQ, I/O SQ, I/O CQ, Identify page, PRP list pages (one per CID). */
size_t nvme_qmem_size(unsigned queue_depth)
{
	size_t d = depth_or_default(queue_depth);

	return page_round(ADMIN_ENTRIES * SQE_SIZE) + page_round(ADMIN_ENTRIES * CQE_SIZE) +
	       page_round(d * SQE_SIZE) + page_round(d * CQE_SIZE) + PAGE + d * PAGE;
}

static uint32_t sq_doorbell(const struct nvme_ctrl *c, unsigned qid)
{
	/* Section 3.1.24: SQyTDBL at 0x1000 + (2y * (4 << CAP.DSTRD)). */
	return REG_DBS + 2 * qid * (4u << CAP_DSTRD(c->cap));
}

static uint32_t cq_doorbell(const struct nvme_ctrl *c, unsigned qid)
{
	/* Section 3.1.25: CQyHDBL at 0x1000 + ((2y + 1) * (4 << CAP.DSTRD)). */
	return REG_DBS + (2 * qid + 1) * (4u << CAP_DSTRD(c->cap));
}

static void carve(struct nvme_ctrl *c, struct queue_pair *q, uint8_t **p, unsigned entries, unsigned qid)
{
	q->size = entries;
	q->sq = (struct nvme_cmd *)*p;
	*p += page_round(entries * SQE_SIZE);
	q->cq = (volatile uint32_t *)*p;
	*p += page_round(entries * CQE_SIZE);
	q->sq_bus = rl_dev_dma(c->dev, q->sq, entries * SQE_SIZE);
	q->cq_bus = rl_dev_dma(c->dev, (void *)q->cq, entries * CQE_SIZE);
	q->sq_db = sq_doorbell(c, qid);
	q->cq_db = cq_doorbell(c, qid);
}

/* Lays the queue memory out (the admin pair's CQ and SQ first, see nvme_qmem_size). */
static void layout(struct nvme_ctrl *c, unsigned depth)
{
	uint8_t *p = c->qmem;

	/* The admin SQ page, then its CQ page: carve() puts each on its own page(s). */
	carve(c, &c->admin, &p, ADMIN_ENTRIES, 0);
	carve(c, &c->io, &p, depth, IO_QID);
	c->ident = p;
	c->ident_bus = rl_dev_dma(c->dev, p, PAGE);
	p += PAGE;
	c->prp = p;
	c->prp_bus = rl_dev_dma(c->dev, p, (size_t)depth * PAGE);
}

static void queue_reset(struct queue_pair *q)
{
	/* Zeroed CQ entries carry phase 0: the controller's first pass writes 1 (section 4.6). */
	memset(q->sq, 0, (size_t)q->size * SQE_SIZE);
	memset((void *)q->cq, 0, (size_t)q->size * CQE_SIZE);
	q->sq_tail = 0;
	q->cq_head = 0;
	q->phase = true;
}

/* ---- registers ---- */

/* Waits until (CSTS & mask) == want; a fatal status ends a wait for readiness. */
static int wait_csts(struct nvme_ctrl *c, uint32_t mask, uint32_t want, unsigned timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;

	for (unsigned round = 0;; round++) {
		uint32_t csts = rl_dev_read32(c->dev, REG_CSTS);
		if (csts == 0xffffffffu)
			return -ENODEV; /* reads of a vanished PCI device return all ones */
		if ((csts & mask) == want)
			return 0;
		if ((want & CSTS_RDY) && (csts & CSTS_CFS))
			return -EIO;
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		pause_briefly(round);
	}
}

/* Section 7.6.1 step 1 / 3.1.5: CC.EN 1 -> 0 resets the controller; wait for CSTS.RDY to follow. */
static int ctrl_disable(struct nvme_ctrl *c)
{
	uint32_t cc = rl_dev_read32(c->dev, REG_CC);

	if (cc & CC_EN)
		rl_dev_write32(c->dev, REG_CC, cc & ~CC_EN);
	return wait_csts(c, CSTS_RDY, 0, c->ready_timeout_ms);
}

/* Section 7.6.1 steps 2-5: admin queue attributes and bases, then CC with EN. */
static int ctrl_enable(struct nvme_ctrl *c)
{
	uint32_t aqa = (ADMIN_ENTRIES - 1) | (ADMIN_ENTRIES - 1) << 16; /* ASQS, ACQS zero-based */

	rl_dev_write32(c->dev, REG_AQA, aqa);
	rl_dev_write64(c->dev, REG_ASQ, c->admin.sq_bus);
	rl_dev_write64(c->dev, REG_ACQ, c->admin.cq_bus);
	/* NVM command set, 4 KiB pages (MPS 0), round robin, 64/16-byte entries (2^6, 2^4). */
	rl_dev_write32(c->dev, REG_CC, CC_IOSQES(6) | CC_IOCQES(4) | CC_EN);
	return wait_csts(c, CSTS_RDY, CSTS_RDY, c->ready_timeout_ms);
}

/* ---- admin commands ---- */

static bool cqe_ready(const struct queue_pair *q)
{
	uint32_t dw3 = __atomic_load_n(&q->cq[q->cq_head * 4 + 3], __ATOMIC_ACQUIRE);

	return ((dw3 >> 16) & 1) == q->phase;
}

static void cq_advance(struct queue_pair *q)
{
	if (++q->cq_head == q->size) {
		q->cq_head = 0;
		q->phase = !q->phase;
	}
}

static void sq_push(struct queue_pair *q, const struct nvme_cmd *cmd)
{
	q->sq[q->sq_tail] = *cmd;
	q->sq_tail = (q->sq_tail + 1) % q->size;
}

/* One admin command, waited for (the admin queue holds one at a time). */
static int admin_cmd(struct nvme_ctrl *c, struct nvme_cmd *cmd, uint32_t *result, uint16_t *status)
{
	struct queue_pair *q = &c->admin;
	uint64_t deadline = now_ns() + (uint64_t)c->cfg.timeout_ms * 1000000u;

	cmd->cid = c->admin_cid++;
	sq_push(q, cmd);
	rl_dev_write32(c->dev, q->sq_db, q->sq_tail);
	for (unsigned round = 0; !cqe_ready(q); round++) {
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		pause_briefly(round);
	}
	uint32_t dw0 = q->cq[q->cq_head * 4], dw3 = q->cq[q->cq_head * 4 + 3];
	cq_advance(q);
	rl_dev_write32(c->dev, q->cq_db, q->cq_head);
	if ((dw3 & 0xffff) != cmd->cid)
		return -EIO; /* one command at a time: any other CID is the device's error */
	uint16_t st = (uint16_t)(dw3 >> 17);
	if (status)
		*status = st;
	if (st)
		return -EREMOTEIO;
	if (result)
		*result = dw0;
	return 0;
}

int nvme_admin_raw(struct nvme_ctrl *c, const struct nvme_cmd *cmd, uint32_t *result, uint16_t *status)
{
	struct nvme_cmd copy = *cmd;

	if (c->dead)
		return -ENODEV;
	return admin_cmd(c, &copy, result, status);
}

static void copy_str(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
	for (size_t i = n; i > 0 && (dst[i - 1] == ' ' || dst[i - 1] == '\0'); i--)
		dst[i - 1] = '\0';
}

/* Identify Controller, section 5.15.2.1 (Figure 247): names, MDTS, entry sizes, VWC. */
static int identify_controller(struct nvme_ctrl *c)
{
	struct nvme_cmd cmd = {.opc = ADM_IDENTIFY, .prp1 = c->ident_bus, .cdw10 = 0x01};
	int r = admin_cmd(c, &cmd, NULL, NULL);

	if (r)
		return r;
	const uint8_t *d = c->ident;
	copy_str(c->info.serial, d + 4, 20);
	copy_str(c->info.model, d + 24, 40);
	copy_str(c->info.firmware, d + 64, 8);
	/* SQES/CQES: bits 3:0 required (minimum), 7:4 maximum, as powers of two. */
	if ((d[512] & 0xf) > 6 || (d[512] >> 4) < 6 || (d[513] & 0xf) > 4 || (d[513] >> 4) < 4)
		return -EINVAL;
	/* MDTS: 2^MDTS units of the minimum page size; 0 means no limit. */
	uint64_t mdts = d[77] ? (uint64_t)PAGE << CAP_MPSMIN(c->cap) << d[77] : MAX_TRANSFER;
	c->info.max_transfer = mdts < MAX_TRANSFER ? (uint32_t)mdts : MAX_TRANSFER;
	c->info.volatile_cache = d[525] & 1;
	return 0;
}

/* Identify Namespace, section 6.1.5 of the NVM set (NSZE, FLBAS, LBAF). */
static int identify_namespace(struct nvme_ctrl *c)
{
	struct nvme_cmd cmd = {.opc = ADM_IDENTIFY, .nsid = c->cfg.nsid, .prp1 = c->ident_bus, .cdw10 = 0x00};
	int r = admin_cmd(c, &cmd, NULL, NULL);

	if (r)
		return r;
	const uint8_t *d = c->ident;
	unsigned fmt = d[26] & 0xf;
	uint32_t lbaf = nvme_get32(d + 128 + 4 * fmt);
	unsigned lbads = (lbaf >> 16) & 0xff;
	/* Metadata per block and blocks above a page are not supported. */
	if ((lbaf & 0xffff) != 0 || lbads < 9 || lbads > 12 || nvme_get64(d) == 0)
		return -EINVAL;
	uint32_t lba_size = 1u << lbads;
	uint64_t nblocks = nvme_get64(d);
	/* After a reset the namespace must be the one the caller already knows. */
	if (c->info.lba_size && (c->info.lba_size != lba_size || c->info.nblocks != nblocks))
		return -EINVAL;
	c->info.lba_size = lba_size;
	c->info.nblocks = nblocks;
	return 0;
}

/* Set Features Number of Queues, section 5.21.1.7: one SQ and one CQ (zero-based counts). */
static int set_queue_count(struct nvme_ctrl *c)
{
	struct nvme_cmd cmd = {.opc = ADM_SET_FEATURES, .cdw10 = FID_NUM_QUEUES, .cdw11 = 0};
	return admin_cmd(c, &cmd, NULL, NULL);
}

/* Create I/O Completion Queue then Submission Queue, sections 5.3 and 5.4: contiguous, polled. */
static int create_io_queues(struct nvme_ctrl *c)
{
	struct queue_pair *q = &c->io;
	uint32_t qsize = (q->size - 1) << 16;
	struct nvme_cmd cq = {.opc = ADM_CREATE_CQ, .prp1 = q->cq_bus, .cdw10 = IO_QID | qsize, .cdw11 = 1};
	struct nvme_cmd sq = {.opc = ADM_CREATE_SQ, .prp1 = q->sq_bus, .cdw10 = IO_QID | qsize,
			      .cdw11 = 1 | IO_QID << 16};
	int r = admin_cmd(c, &cq, NULL, NULL);

	return r ? r : admin_cmd(c, &sq, NULL, NULL);
}

/* The whole bring-up, section 7.6.1; also after a reset. */
static int bring_up(struct nvme_ctrl *c)
{
	int r;

	if ((r = ctrl_disable(c)))
		return r;
	queue_reset(&c->admin);
	queue_reset(&c->io);
	c->admin_cid = 0;
	if ((r = ctrl_enable(c)) || (r = identify_controller(c)) || (r = identify_namespace(c)) ||
	    (r = set_queue_count(c)) || (r = create_io_queues(c)))
		return r;
	c->info.version = rl_dev_read32(c->dev, REG_VS);
	return 0;
}

/* ---- opening and closing ---- */

static int check_device(struct nvme_ctrl *c, unsigned depth)
{
	c->cap = rl_dev_read64(c->dev, REG_CAP);
	if (c->cap == ~0ull || !CAP_CSS_NVM(c->cap) || CAP_MPSMIN(c->cap) != 0)
		return -ENODEV; /* no device, no NVM command set, or no 4 KiB pages */
	c->ready_timeout_ms = (CAP_TO(c->cap) ? CAP_TO(c->cap) : 1) * 500;
	c->info.dstrd = CAP_DSTRD(c->cap);
	if (c->dev->bar_len && cq_doorbell(c, IO_QID) + 4 > c->dev->bar_len)
		return -EINVAL;
	unsigned mqes = CAP_MQES(c->cap) + 1; /* zero-based */
	c->io.size = depth < mqes ? depth : mqes;
	return c->io.size >= 2 ? 0 : -EINVAL;
}

static int setup_memory(struct nvme_ctrl *c, unsigned depth)
{
	int r;

	if (((uintptr_t)c->qmem & (PAGE - 1)) || c->qmem_len < nvme_qmem_size(depth))
		return -EINVAL;
	if (!rl_dev_dma(c->dev, c->qmem, c->qmem_len) && (r = rl_dev_add_region(c->dev, c->qmem, c->qmem_len)))
		return r == -EEXIST ? -EINVAL : r;
	unsigned size = c->io.size;
	layout(c, size);
	c->slots = calloc(size, sizeof(*c->slots));
	c->free_cids = calloc(size, sizeof(*c->free_cids));
	if (!c->slots || !c->free_cids)
		return -ENOMEM;
	/* size - 1 commands at most: a full SQ (and CQ) keeps one entry empty (section 4.1.1). */
	c->info.queue_depth = size - 1;
	for (unsigned i = 0; i < size - 1; i++)
		c->free_cids[c->nfree++] = (uint16_t)(size - 2 - i);
	return 0;
}

int nvme_ctrl_open(struct rl_dev *dev, void *qmem, size_t qmem_len, const struct nvme_config *cfg,
		   struct nvme_ctrl **out)
{
	struct nvme_ctrl *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	if (cfg)
		c->cfg = *cfg;
	unsigned depth = depth_or_default(c->cfg.queue_depth);
	if (!c->cfg.timeout_ms)
		c->cfg.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!c->cfg.nsid)
		c->cfg.nsid = 1;
	c->dev = dev;
	c->qmem = qmem;
	c->qmem_len = qmem_len;
	if (depth < 2 || depth > MAX_DEPTH) {
		r = -EINVAL;
		goto err;
	}
	if ((r = check_device(c, depth)) || (r = setup_memory(c, depth)) || (r = bring_up(c)))
		goto err;
	*out = c;
	return 0;
err:
	if (c->slots)
		ctrl_disable(c);
	free(c->slots);
	free(c->free_cids);
	free(c);
	return r;
}

void nvme_ctrl_close(struct nvme_ctrl *c)
{
	if (!c)
		return;
	if (!c->dead) {
		/* Delete the I/O queues (SQ first, section 5.6/5.5), then a normal shutdown, section 7.6.2. */
		struct nvme_cmd dsq = {.opc = ADM_DELETE_SQ, .cdw10 = IO_QID};
		struct nvme_cmd dcq = {.opc = ADM_DELETE_CQ, .cdw10 = IO_QID};
		if (!admin_cmd(c, &dsq, NULL, NULL))
			admin_cmd(c, &dcq, NULL, NULL);
		uint32_t cc = rl_dev_read32(c->dev, REG_CC);
		rl_dev_write32(c->dev, REG_CC, (cc & ~(3u << 14)) | CC_SHN_NORMAL);
		wait_csts(c, CSTS_SHST_MASK, CSTS_SHST_DONE, c->ready_timeout_ms);
	}
	ctrl_disable(c);
	free(c->slots);
	free(c->free_cids);
	free(c);
}

const struct nvme_info *nvme_ctrl_info(const struct nvme_ctrl *c)
{
	return &c->info;
}

unsigned nvme_inflight(const struct nvme_ctrl *c)
{
	return c->pending;
}

/* ---- requests ---- */

static void done_push(struct nvme_ctrl *c, struct nvme_req *r, int status)
{
	r->status = status;
	r->next = NULL;
	if (c->done_tail)
		c->done_tail->next = r;
	else
		c->done_head = r;
	c->done_tail = r;
}

/* Everything a request must satisfy before it may reach the device. */
static int req_check(const struct nvme_ctrl *c, const struct nvme_req *r)
{
	if (r->op == NVME_OP_FLUSH)
		return 0;
	if (r->op != NVME_OP_READ && r->op != NVME_OP_WRITE)
		return -EINVAL;
	/* PRP entries are dword aligned (section 4.3): a buffer must be too. */
	if (r->nblocks == 0 || !r->buf || ((uintptr_t)r->buf & 3))
		return -EINVAL;
	if (r->lba >= c->info.nblocks || r->nblocks > c->info.nblocks - r->lba)
		return -ERANGE;
	uint64_t len = (uint64_t)r->nblocks * c->info.lba_size;
	if (len > c->info.max_transfer)
		return -E2BIG;
	if (!rl_dev_dma(c->dev, r->buf, len))
		return -EFAULT;
	return 0;
}

/*
 * The data pointer, section 4.3: PRP1 is the buffer's first byte; PRP2 is
 * the second page when the data spans two, else this CID's PRP list, one
 * entry per further page (at most 512, so never a chained list).
 */
static void set_prps(struct nvme_ctrl *c, struct nvme_cmd *cmd, const struct nvme_req *r, uint16_t cid)
{
	uint64_t len = (uint64_t)r->nblocks * c->info.lba_size;
	uint64_t addr = rl_dev_dma(c->dev, r->buf, len);
	uint64_t first = PAGE - (addr & (PAGE - 1));

	cmd->prp1 = addr;
	if (len <= first) {
		cmd->prp2 = 0;
	} else if (len <= first + PAGE) {
		cmd->prp2 = addr + first;
	} else {
		uint64_t *list = (uint64_t *)(c->prp + (size_t)cid * PAGE);
		unsigned n = 0;
		for (uint64_t p = addr + first; p < addr + len; p += PAGE)
			list[n++] = p;
		cmd->prp2 = c->prp_bus + (uint64_t)cid * PAGE;
	}
}

static void build_cmd(struct nvme_ctrl *c, struct nvme_cmd *cmd, const struct nvme_req *r, uint16_t cid)
{
	if (r->raw) {
		*cmd = *r->raw;
	} else {
		memset(cmd, 0, sizeof(*cmd));
		cmd->nsid = c->cfg.nsid;
		if (r->op == NVME_OP_FLUSH) {
			cmd->opc = NVM_FLUSH;
		} else {
			/* Read/Write, sections 6.9 and 6.15: SLBA in CDW10-11, NLB zero-based in CDW12. */
			cmd->opc = r->op == NVME_OP_READ ? NVM_READ : NVM_WRITE;
			set_prps(c, cmd, r, cid);
			cmd->cdw10 = (uint32_t)r->lba;
			cmd->cdw11 = (uint32_t)(r->lba >> 32);
			cmd->cdw12 = r->nblocks - 1;
		}
	}
	cmd->cid = cid;
}

int nvme_submit(struct nvme_ctrl *c, struct nvme_req **reqs, unsigned n)
{
	struct queue_pair *q = &c->io;
	uint64_t deadline = 0;
	unsigned taken = 0, queued = 0;

	if (c->dead)
		return -ENODEV;
	for (; taken < n; taken++) {
		struct nvme_req *r = reqs[taken];
		int err = r->raw ? 0 : req_check(c, r);
		r->nvme_status = 0;
		r->result = 0;
		if (err) {
			done_push(c, r, err);
			c->pending++;
			continue;
		}
		if (c->nfree == 0)
			break;
		if (!deadline)
			deadline = now_ns() + (uint64_t)c->cfg.timeout_ms * 1000000u;
		uint16_t cid = c->free_cids[--c->nfree];
		c->slots[cid] = r;
		r->deadline_ns = deadline;
		build_cmd(c, &q->sq[q->sq_tail], r, cid);
		q->sq_tail = (q->sq_tail + 1) % q->size;
		c->pending++;
		queued++;
	}
	/* One doorbell store for the whole batch (rl_dev_write32 orders the entries before it). */
	if (queued)
		rl_dev_write32(c->dev, q->sq_db, q->sq_tail);
	return (int)taken;
}

int nvme_submit_raw(struct nvme_ctrl *c, struct nvme_req *r, const struct nvme_cmd *cmd)
{
	r->raw = cmd;
	int n = nvme_submit(c, &r, 1);
	return n < 0 ? n : n == 1 ? 0 : -EBUSY;
}

/* Moves every request in the device to the done list: status for expired ones, -EIO for the rest. */
static void fail_inflight(struct nvme_ctrl *c, uint64_t now, int expired_status)
{
	for (unsigned cid = 0; cid < c->io.size; cid++) {
		struct nvme_req *r = c->slots[cid];
		if (!r)
			continue;
		bool expired = expired_status && now > r->deadline_ns;
		if (expired)
			c->info.timeouts++;
		done_push(c, r, expired ? expired_status : -EIO);
		c->slots[cid] = NULL;
		c->free_cids[c->nfree++] = (uint16_t)cid;
	}
}

/*
 * A controller reset (section 7.3.1 via CC.EN): the controller is disabled
 * first, so it no longer touches the buffers of the requests handed back;
 * then it is brought up again with fresh queues. If it does not come back,
 * the controller is dead: every later submit fails with -ENODEV.
 */
static int recover(struct nvme_ctrl *c, uint64_t now, int expired_status)
{
	c->info.resets++;
	int r = ctrl_disable(c);
	fail_inflight(c, now, expired_status);
	if (!r)
		r = bring_up(c);
	c->dead = r != 0;
	return r;
}

int nvme_ctrl_reset(struct nvme_ctrl *c)
{
	return recover(c, now_ns(), 0);
}

/* Nothing completed: every HEALTH_PERIOD_NS, look for a fatal status or an expired deadline. */
static void health_check(struct nvme_ctrl *c)
{
	uint64_t now = now_ns();

	if (now < c->next_health_ns)
		return;
	c->next_health_ns = now + HEALTH_PERIOD_NS;
	if (c->nfree == c->io.size - 1)
		return; /* nothing in the device */
	uint32_t csts = rl_dev_read32(c->dev, REG_CSTS);
	if (csts == 0xffffffffu || (csts & CSTS_CFS) || !(csts & CSTS_RDY)) {
		recover(c, now, 0);
		return;
	}
	for (unsigned cid = 0; cid < c->io.size; cid++) {
		if (c->slots[cid] && now > c->slots[cid]->deadline_ns) {
			recover(c, now, -ETIMEDOUT);
			return;
		}
	}
}

static unsigned take_done(struct nvme_ctrl *c, struct nvme_req **done, unsigned n, unsigned max)
{
	while (n < max && c->done_head) {
		struct nvme_req *r = c->done_head;
		c->done_head = r->next;
		if (!c->done_head)
			c->done_tail = NULL;
		done[n++] = r;
		c->pending--;
	}
	return n;
}

unsigned nvme_poll(struct nvme_ctrl *c, struct nvme_req **done, unsigned max)
{
	struct queue_pair *q = &c->io;
	unsigned n = take_done(c, done, 0, max), reaped = 0;

	while (n < max && !c->dead && cqe_ready(q)) {
		const volatile uint32_t *e = &q->cq[q->cq_head * 4];
		uint32_t dw3 = e[3];
		uint16_t cid = dw3 & 0xffff;
		cq_advance(q);
		reaped++;
		if (cid >= q->size || !c->slots[cid])
			continue; /* a CID not in flight: the device's error, nothing to complete */
		struct nvme_req *r = c->slots[cid];
		c->slots[cid] = NULL;
		c->free_cids[c->nfree++] = cid;
		r->result = e[0];
		r->nvme_status = (uint16_t)(dw3 >> 17);
		r->status = r->nvme_status ? -EREMOTEIO : 0;
		done[n++] = r;
		c->pending--;
	}
	if (reaped) {
		rl_dev_write32(c->dev, q->cq_db, q->cq_head);
		c->next_health_ns = now_ns() + HEALTH_PERIOD_NS;
	} else if (!c->dead) {
		health_check(c);
		n = take_done(c, done, n, max);
	}
	return n;
}

int nvme_sync(struct nvme_ctrl *c, struct nvme_req *r)
{
	struct nvme_req *done;
	int n = nvme_submit(c, &r, 1);

	if (n < 0)
		return n;
	if (n == 0)
		return -EBUSY;
	while (nvme_poll(c, &done, 1) == 0)
		cpu_relax();
	return done->status;
}

int nvme_run(struct nvme_ctrl *c, struct nvme_req **reqs, unsigned n)
{
	struct nvme_req *done[64];
	unsigned sent = 0, finished = 0;

	while (finished < n) {
		if (sent < n) {
			int k = nvme_submit(c, reqs + sent, n - sent);
			if (k < 0) {
				/* Dead controller: what was not taken never reached it. */
				for (unsigned i = sent; i < n; i++)
					reqs[i]->status = k;
				n = sent;
				if (finished == n)
					break;
			} else {
				sent += (unsigned)k;
			}
		}
		unsigned m = nvme_poll(c, done, sizeof(done) / sizeof(done[0]));
		finished += m;
		if (!m)
			cpu_relax();
	}
	return c->dead ? -ENODEV : 0;
}

static int sync_op(struct nvme_ctrl *c, uint8_t op, uint64_t lba, uint32_t nblocks, void *buf)
{
	struct nvme_req r = {.op = op, .lba = lba, .nblocks = nblocks, .buf = buf};

	return nvme_sync(c, &r);
}

int nvme_read(struct nvme_ctrl *c, uint64_t lba, uint32_t nblocks, void *buf)
{
	return sync_op(c, NVME_OP_READ, lba, nblocks, buf);
}

int nvme_write(struct nvme_ctrl *c, uint64_t lba, uint32_t nblocks, const void *buf)
{
	return sync_op(c, NVME_OP_WRITE, lba, nblocks, (void *)buf);
}

int nvme_flush(struct nvme_ctrl *c)
{
	return sync_op(c, NVME_OP_FLUSH, 0, 0, NULL);
}

/* ---- messages ---- */

static const char *generic_status(unsigned sc)
{
	/* Generic command status values, section 4.6.1.2.1 (Figure 126) and NVM ones (Figure 127). */
	switch (sc) {
	case 0x00: return "Successful Completion";
	case 0x01: return "Invalid Command Opcode";
	case 0x02: return "Invalid Field in Command";
	case 0x03: return "Command ID Conflict";
	case 0x04: return "Data Transfer Error";
	case 0x05: return "Commands Aborted due to Power Loss Notification";
	case 0x06: return "Internal Error";
	case 0x07: return "Command Abort Requested";
	case 0x08: return "Command Aborted due to SQ Deletion";
	case 0x0b: return "Invalid Namespace or Format";
	case 0x0c: return "Command Sequence Error";
	case 0x13: return "PRP Offset Invalid";
	case 0x80: return "LBA Out of Range";
	case 0x81: return "Capacity Exceeded";
	case 0x82: return "Namespace Not Ready";
	default: return NULL;
	}
}

static const char *specific_status(unsigned sc)
{
	/* Command specific status values, section 4.6.1.2.2 (Figure 128). */
	switch (sc) {
	case 0x00: return "Completion Queue Invalid";
	case 0x01: return "Invalid Queue Identifier";
	case 0x02: return "Invalid Queue Size";
	case 0x0c: return "Invalid Queue Deletion";
	default: return NULL;
	}
}

static const char *media_status(unsigned sc)
{
	/* Media and data integrity errors, section 4.6.1.2.3 (Figure 130). */
	switch (sc) {
	case 0x80: return "Write Fault";
	case 0x81: return "Unrecovered Read Error";
	case 0x86: return "Access Denied";
	default: return NULL;
	}
}

const char *nvme_status_str(uint16_t status, char *buf, size_t len)
{
	unsigned sct = NVME_SCT(status), sc = NVME_SC(status);
	const char *name = sct == 0 ? generic_status(sc) : sct == 1 ? specific_status(sc)
			 : sct == 2 ? media_status(sc) : NULL;

	snprintf(buf, len, "SCT %xh SC %02xh: %s%s", sct, sc, name ? name : "unknown status",
		 NVME_DNR(status) ? " (do not retry)" : "");
	return buf;
}

const char *nvme_strerror(int status)
{
	switch (status) {
	case 0: return "success";
	case -EINVAL: return "invalid request (no blocks, misaligned buffer or unknown operation)";
	case -ERANGE: return "LBA range beyond the namespace";
	case -E2BIG: return "transfer larger than the controller allows";
	case -EFAULT: return "buffer not inside a DMA region";
	case -EREMOTEIO: return "the device completed the command with an error status";
	case -ETIMEDOUT: return "no completion in time: controller reset";
	case -EIO: return "in flight during a controller reset";
	case -ENODEV: return "controller unusable";
	default: return "unexpected error";
	}
}
