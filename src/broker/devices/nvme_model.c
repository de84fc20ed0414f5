// SPDX-License-Identifier: MIT
/*
 * The NVMe controller model. Section numbers refer to the NVM Express Base
 * Specification, revision 1.4 (June 2019). The register and command
 * definitions here are the model's own, written from the specification and
 * deliberately not shared with the driver (domains/drivers/nvme), so the
 * two are not wrong together by construction.
 *
 * One thread, polling: it looks at CC, at injection requests and at the
 * doorbells of its live queues; with nothing to do for spin_us it sleeps on
 * the control page's futex until the driver's next register store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "nvme_model.h"

/* Controller registers, section 3.1 (Figure 68). */
enum {
	REG_CAP = 0x00, REG_VS = 0x08, REG_INTMS = 0x0c, REG_INTMC = 0x10, REG_CC = 0x14,
	REG_CSTS = 0x1c, REG_NSSR = 0x20, REG_AQA = 0x24, REG_ASQ = 0x28, REG_ACQ = 0x30,
	REG_DOORBELLS = 0x1000,
};
/* CC fields, section 3.1.5. */
#define CC_EN(cc) ((cc) & 1u)
#define CC_CSS(cc) (((cc) >> 4) & 7u)
#define CC_MPS(cc) (((cc) >> 7) & 0xfu)
#define CC_AMS(cc) (((cc) >> 11) & 7u)
#define CC_SHN(cc) (((cc) >> 14) & 3u)
#define CC_IOSQES(cc) (((cc) >> 16) & 0xfu)
#define CC_IOCQES(cc) (((cc) >> 20) & 0xfu)
/* CSTS fields, section 3.1.6. */
#define CSTS_RDY 1u
#define CSTS_CFS 2u
#define CSTS_SHST_DONE (2u << 2)

#define PAGE 4096u /* CAP.MPSMIN = MPSMAX = 0: memory pages of 4 KiB only */
#define SQE_SIZE 64u
#define CQE_SIZE 16u
#define MAX_IOV 1100 /* data pages of the largest transfer (MDTS 10), plus one */

/* Status codes, section 4.6.1.2 (generic), 4.6.1.2.2 (command specific). */
enum {
	SCT_GENERIC = 0, SCT_CMD = 1, SCT_MEDIA = 2,
	SC_SUCCESS = 0x00, SC_INVALID_OPCODE = 0x01, SC_INVALID_FIELD = 0x02,
	SC_DATA_TRANSFER = 0x04, SC_INTERNAL = 0x06, SC_INVALID_NS = 0x0b,
	SC_CMD_SEQUENCE = 0x0c, SC_PRP_OFFSET = 0x13, SC_LBA_RANGE = 0x80,
	/* command specific */
	SC_CQ_INVALID = 0x00, SC_INVALID_QID = 0x01, SC_INVALID_QSIZE = 0x02,
	SC_INVALID_VECTOR = 0x08, SC_INVALID_LOG_PAGE = 0x09, SC_INVALID_QDELETE = 0x0c,
	/* media and data integrity */
	SC_WRITE_FAULT = 0x80, SC_UNRECOVERED_READ = 0x81,
};
#define STATUS(sct, sc) ((uint16_t)((sct) << 8 | (sc)))
/*
 * The same with Do Not Retry (status field bit 14, section 4.6.1): the
 * command would fail again as it is. QEMU 7.2's NVMe sets it on every
 * refusal of a malformed command, and so does the model since the
 * differential test (tests/device/test-nvme-diff.c) compared them; only
 * Data Transfer Error, Invalid Queue Deletion and a fused command are
 * answered without it, as there.
 */
#define REFUSE(sct, sc) ((uint16_t)(STATUS(sct, sc) | 1u << 14))

/* Opcodes: admin, section 5 (Figure 139); NVM, section 6 (Figure 346). */
enum {
	ADM_DELETE_SQ = 0x00, ADM_CREATE_SQ = 0x01, ADM_GET_LOG_PAGE = 0x02, ADM_DELETE_CQ = 0x04,
	ADM_CREATE_CQ = 0x05, ADM_IDENTIFY = 0x06, ADM_ABORT = 0x08, ADM_SET_FEATURES = 0x09, ADM_GET_FEATURES = 0x0a,
	IO_FLUSH = 0x00, IO_WRITE = 0x01, IO_READ = 0x02,
};
#define FID_NUM_QUEUES 0x07
#define NSID_BROADCAST 0xffffffffu
/* SQE DW0 (section 4.2): FUSE 1:0, PSDT 7:6. */
#define SQE_FUSE(flags) ((flags) & 3u)
#define SQE_PSDT(flags) (((flags) >> 6) & 3u)

/* A submission queue entry as the model sees it (section 4.2, Figure 104). */
struct sqe {
	uint8_t opc, flags;
	uint16_t cid;
	uint32_t nsid;
	uint64_t rsvd;
	uint64_t mptr;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};
static_assert(sizeof(struct sqe) == SQE_SIZE, "SQE is 64 bytes");

struct queue {
	bool live;
	uint8_t *mem;  /* base, inside a region */
	uint32_t size; /* entries */
	uint32_t head, tail;
	uint16_t cqid; /* SQ: the CQ it posts to */
	bool phase;    /* CQ: the phase tag being written */
	unsigned nsq;  /* CQ: SQs posting to it */
};

struct region {
	uintptr_t start;
	size_t len;
};

struct result {
	uint16_t status;
	uint32_t dw0;
};

struct nvme_model {
	struct nvme_model_config cfg;
	volatile uint8_t *bar;
	struct rl_model_ctl *ctl;
	struct nvme_model_shared *sh;
	struct region regions[RL_DEV_MAX_REGIONS];
	unsigned nregions;
	uint8_t *ram; /* the namespace, when in RAM */
	size_t ram_len;
	uint64_t nblocks;
	unsigned lba_shift;
	enum { OFF, READY, FATAL } state;
	uint32_t cc_seen;
	struct queue sq[NVME_MODEL_MAX_QUEUES + 1], cq[NVME_MODEL_MAX_QUEUES + 1];
	bool queues_created; /* an I/O queue was created since the last enable (Set Features refused) */
	uint32_t inject_seen;
	uint32_t fail_count, drop_count;
	uint16_t fail_status;
	bool fail_admin;
	struct iovec iov[MAX_IOV];
	uint8_t page[PAGE]; /* Identify data is built here, then transferred */
};

/* ---- registers ---- */

static uint32_t reg_read32(struct nvme_model *m, uint32_t off)
{
	return atomic_load_explicit((_Atomic uint32_t *)(m->bar + off), memory_order_acquire);
}

static uint64_t reg_read64(struct nvme_model *m, uint32_t off)
{
	return atomic_load_explicit((_Atomic uint64_t *)(m->bar + off), memory_order_acquire);
}

static void reg_write32(struct nvme_model *m, uint32_t off, uint32_t v)
{
	atomic_store_explicit((_Atomic uint32_t *)(m->bar + off), v, memory_order_release);
}

/* Doorbells, section 3.1.24/3.1.25: SQyTDBL at 0x1000 + 2y * (4 << DSTRD), CQyHDBL one stride later. */
static uint32_t doorbell(struct nvme_model *m, unsigned qid, bool cq)
{
	return reg_read32(m, REG_DOORBELLS + (2 * qid + cq) * (4u << m->cfg.dstrd));
}

/* ---- DMA: only inside the regions ---- */

static void *dma_ptr(struct nvme_model *m, uint64_t addr, uint64_t len)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		const struct region *r = &m->regions[i];
		if (addr >= r->start && len <= r->len && addr - r->start <= r->len - len)
			return (void *)(uintptr_t)addr;
	}
	return NULL;
}

static uint16_t dma_error(struct nvme_model *m, uint16_t sc)
{
	atomic_fetch_add_explicit(&m->sh->dma_errors, 1, memory_order_relaxed);
	return STATUS(SCT_GENERIC, sc);
}

/* A malformed data pointer (an offset where none may be): the same command fails again. */
static uint16_t dma_refuse(struct nvme_model *m, uint16_t sc)
{
	return dma_error(m, sc) | 1u << 14;
}

static uint16_t iov_add(struct nvme_model *m, unsigned *n, uint64_t addr, size_t len)
{
	void *p = dma_ptr(m, addr, len);

	if (!p)
		return dma_error(m, SC_DATA_TRANSFER);
	if (*n && (uint8_t *)m->iov[*n - 1].iov_base + m->iov[*n - 1].iov_len == p) {
		m->iov[*n - 1].iov_len += len; /* contiguous pages: one piece */
		return 0;
	}
	if (*n == MAX_IOV)
		return REFUSE(SCT_GENERIC, SC_INVALID_FIELD);
	m->iov[(*n)++] = (struct iovec){.iov_base = p, .iov_len = len};
	return 0;
}

/*
 * The data pointer of a command as a list of pieces (section 4.3, PRP
 * entries and PRP lists): PRP1 may start inside a page (dword aligned);
 * the rest is whole pages, either PRP2 itself (two pages at most) or the
 * entries of a PRP list at PRP2, whose last entry chains to the next list
 * page when more entries follow. Each entry is read once into m->iov, so a
 * driver rewriting a list under the model cannot make it use an unchecked
 * address.
 */
static uint16_t prp_map(struct nvme_model *m, uint64_t prp1, uint64_t prp2, size_t len, unsigned *niov)
{
	unsigned n = 0;
	uint16_t st;

	if (prp1 & 3)
		return dma_refuse(m, SC_PRP_OFFSET);
	size_t first = PAGE - (prp1 & (PAGE - 1));
	if (first > len)
		first = len;
	if ((st = iov_add(m, &n, prp1, first)))
		return st;
	size_t left = len - first;
	if (left > 0 && left <= PAGE) {
		if (prp2 & (PAGE - 1))
			return dma_refuse(m, SC_PRP_OFFSET);
		if ((st = iov_add(m, &n, prp2, left)))
			return st;
		left = 0;
	}
	uint64_t list = prp2;
	if (left > 0 && (list & 7))
		return dma_refuse(m, SC_PRP_OFFSET);
	while (left > 0) {
		/* Entries from the list pointer to the end of its page. */
		size_t slots = (PAGE - (list & (PAGE - 1))) / 8;
		const uint64_t *ent = dma_ptr(m, list, slots * 8);
		if (!ent)
			return dma_error(m, SC_DATA_TRANSFER);
		size_t need = (left + PAGE - 1) / PAGE;
		size_t here = need > slots ? slots - 1 : need; /* the last slot chains */
		if (here == 0) /* a list of only a chain pointer: it could chain forever */
			return dma_refuse(m, SC_PRP_OFFSET);
		for (size_t i = 0; i < here; i++) {
			uint64_t e = atomic_load_explicit((_Atomic uint64_t *)&ent[i], memory_order_relaxed);
			size_t piece = left < PAGE ? left : PAGE;
			if (e & (PAGE - 1))
				return dma_refuse(m, SC_PRP_OFFSET);
			if ((st = iov_add(m, &n, e, piece)))
				return st;
			left -= piece;
		}
		if (left > 0) {
			list = atomic_load_explicit((_Atomic uint64_t *)&ent[slots - 1], memory_order_relaxed);
			if (list & 7)
				return dma_refuse(m, SC_PRP_OFFSET);
		}
	}
	*niov = n;
	return 0;
}

/* Copies len bytes of src to the command's data pointer (controller to host). */
static uint16_t dma_to_host(struct nvme_model *m, const struct sqe *c, const void *src, size_t len)
{
	unsigned n;
	uint16_t st = prp_map(m, c->prp1, c->prp2, len, &n);

	if (st)
		return st;
	for (unsigned i = 0; i < n; i++) {
		memcpy(m->iov[i].iov_base, src, m->iov[i].iov_len);
		src = (const uint8_t *)src + m->iov[i].iov_len;
	}
	return 0;
}

/* ---- the namespace's media ---- */

static uint16_t media_io(struct nvme_model *m, bool write, uint64_t off, unsigned niov)
{
	if (m->ram) {
		for (unsigned i = 0; i < niov; i++) {
			uint8_t *media = m->ram + off;
			if (write)
				memcpy(media, m->iov[i].iov_base, m->iov[i].iov_len);
			else
				memcpy(m->iov[i].iov_base, media, m->iov[i].iov_len);
			off += m->iov[i].iov_len;
		}
		return 0;
	}
	struct iovec *iov = m->iov;
	while (niov > 0) {
		ssize_t r = write ? pwritev(m->cfg.backing_fd, iov, niov, off)
				  : preadv(m->cfg.backing_fd, iov, niov, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return write ? STATUS(SCT_MEDIA, SC_WRITE_FAULT) : STATUS(SCT_MEDIA, SC_UNRECOVERED_READ);
		off += r;
		/* A short transfer: skip what was done and go on with the rest. */
		while (niov > 0 && (size_t)r >= iov->iov_len) {
			r -= iov->iov_len;
			iov++;
			niov--;
		}
		if (niov > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= r;
		}
	}
	return 0;
}

/* ---- NVM commands, section 6 ---- */

static uint16_t io_rw(struct nvme_model *m, const struct sqe *c, bool write)
{
	uint64_t slba = c->cdw10 | (uint64_t)c->cdw11 << 32;
	uint64_t nlb = (c->cdw12 & 0xffff) + 1; /* NLB is zero-based, section 6.9 / 6.15 */
	unsigned n;

	/* The size first, then the range: QEMU 7.2 does so, and the spec sets no order. */
	size_t len = nlb << m->lba_shift;
	if (len > (size_t)PAGE << m->cfg.mdts)
		return REFUSE(SCT_GENERIC, SC_INVALID_FIELD); /* over MDTS, section 5.15.2.1 */
	if (slba >= m->nblocks || nlb > m->nblocks - slba)
		return REFUSE(SCT_GENERIC, SC_LBA_RANGE);
	uint16_t st = prp_map(m, c->prp1, c->prp2, len, &n);
	if (st)
		return st;
	return media_io(m, write, slba << m->lba_shift, n);
}

static uint16_t io_flush(struct nvme_model *m, const struct sqe *c)
{
	(void)c;
	if (!m->ram && fdatasync(m->cfg.backing_fd) < 0)
		return STATUS(SCT_MEDIA, SC_WRITE_FAULT);
	return 0;
}

/*
 * What every I/O command must pass, in QEMU 7.2's order (the spec sets
 * none): the NSID (section 6.1: 0 and values above NN are invalid; the
 * broadcast value only for Flush here), the opcode, then no fused
 * operations (Identify FUSES is 0; Invalid Field without DNR, as QEMU)
 * and PRPs only (SGLS is 0).
 */
static uint16_t io_precheck(const struct sqe *c)
{
	if (c->nsid == NSID_BROADCAST && c->opc == IO_FLUSH)
		return 0;
	if (c->nsid != 1)
		return REFUSE(SCT_GENERIC, SC_INVALID_NS);
	if (c->opc != IO_FLUSH && c->opc != IO_WRITE && c->opc != IO_READ)
		return REFUSE(SCT_GENERIC, SC_INVALID_OPCODE);
	if (SQE_FUSE(c->flags))
		return STATUS(SCT_GENERIC, SC_INVALID_FIELD);
	if (SQE_PSDT(c->flags))
		return REFUSE(SCT_GENERIC, SC_INVALID_FIELD);
	return 0;
}

static struct result exec_io(struct nvme_model *m, const struct sqe *c)
{
	uint16_t st = io_precheck(c);

	if (st)
		return (struct result){st, 0};
	switch (c->opc) {
	case IO_READ:
		return (struct result){io_rw(m, c, false), 0};
	case IO_WRITE:
		return (struct result){io_rw(m, c, true), 0};
	case IO_FLUSH:
		return (struct result){io_flush(m, c), 0};
	default:
		return (struct result){REFUSE(SCT_GENERIC, SC_INVALID_OPCODE), 0};
	}
}

/* ---- admin commands, section 5 ---- */

static void put_str(uint8_t *dst, size_t width, const char *s)
{
	/* ASCII, left-justified, padded with spaces (section 5.15.2.1, SN/MN/FR). */
	memset(dst, ' ', width);
	memcpy(dst, s, strnlen(s, width));
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* Identify Controller data structure, section 5.15.2.1 (Figure 247). */
static void identify_controller(struct nvme_model *m, uint8_t *d)
{
	put_str(d + 4, 20, m->cfg.serial ? m->cfg.serial : "RLMODEL0001");
	put_str(d + 24, 40, "redleaf-lx NVMe model");
	put_str(d + 64, 8, "1.0");
	d[77] = m->cfg.mdts;         /* MDTS, in units of CAP.MPSMIN pages */
	put16(d + 78, 1);            /* CNTLID */
	put32(d + 80, 0x00010400);   /* VER 1.4.0 */
	d[258] = 3;                  /* ACL, zero-based */
	d[259] = 3;                  /* AERL, zero-based */
	d[512] = 6 << 4 | 6;         /* SQES: 64-byte entries only */
	d[513] = 4 << 4 | 4;         /* CQES: 16-byte entries only */
	put32(d + 516, 1);           /* NN */
	d[525] = m->ram ? 0 : 1;     /* VWC: a file has a cache that Flush empties */
}

/* Identify Namespace data structure, section 6.1.5 (Figure 245 of the NVM set). */
static void identify_namespace(struct nvme_model *m, uint8_t *d)
{
	put64(d + 0, m->nblocks);  /* NSZE */
	put64(d + 8, m->nblocks);  /* NCAP */
	put64(d + 16, m->nblocks); /* NUSE */
	d[25] = 0;                 /* NLBAF: one format, zero-based */
	d[26] = 0;                 /* FLBAS: format 0, no metadata */
	put32(d + 128, (uint32_t)m->lba_shift << 16); /* LBAF0: MS 0, LBADS */
}

/*
 * Namespace Identification Descriptor list, section 5.15.2.3 (CNS 03h):
 * one UUID descriptor (NIDT 3h, NIDL 16), a version 4 UUID made from the
 * serial number, so it is stable across runs of the same configuration.
 */
static void identify_descriptors(struct nvme_model *m, uint8_t *d)
{
	const char *serial = m->cfg.serial ? m->cfg.serial : "RLMODEL0001";
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a over the serial */

	for (const char *p = serial; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	d[0] = 3;  /* NIDT: UUID */
	d[1] = 16; /* NIDL */
	put64(d + 4, h);
	put64(d + 12, h * 0x9e3779b97f4a7c15ull);
	d[4 + 6] = (uint8_t)((d[4 + 6] & 0x0f) | 0x40); /* RFC 4122 version 4 */
	d[4 + 8] = (uint8_t)((d[4 + 8] & 0x3f) | 0x80); /* and variant */
}

static struct result adm_identify(struct nvme_model *m, const struct sqe *c)
{
	uint8_t cns = c->cdw10 & 0xff;

	memset(m->page, 0, PAGE);
	switch (cns) {
	case 0x00: /* the namespace NSID names */
	case 0x03: /* its identification descriptors */
		if (c->nsid != 1) /* 0, FFFFFFFFh (no namespace management) and above NN */
			return (struct result){REFUSE(SCT_GENERIC, SC_INVALID_NS), 0};
		if (cns == 0x00)
			identify_namespace(m, m->page);
		else
			identify_descriptors(m, m->page);
		break;
	case 0x01:
		identify_controller(m, m->page);
		break;
	case 0x02: /* active NSIDs above NSID, ascending (section 5.15.2.2) */
		if (c->nsid >= 0xfffffffeu)
			return (struct result){REFUSE(SCT_GENERIC, SC_INVALID_NS), 0};
		if (c->nsid < 1)
			put32(m->page, 1);
		break;
	default:
		return (struct result){REFUSE(SCT_GENERIC, SC_INVALID_FIELD), 0};
	}
	return (struct result){dma_to_host(m, c, m->page, PAGE), 0};
}

/*
 * Get Log Page, section 5.14 (mandatory): Error Information (01h, no
 * entries: zeroes), SMART / Health Information (02h) and Firmware Slot
 * Information (03h). NUMD is zero-based in dwords (NUMDL 31:16 of CDW10,
 * NUMDU in CDW11), the offset LPOL/LPOU in CDW12/13 must be dword aligned
 * and inside the page. An unknown page is Invalid Log Page (its command
 * specific status 09h);
 * QEMU 7.2 says Invalid Field in Command there (docs/storage.md).
 */
static struct result adm_get_log_page(struct nvme_model *m, const struct sqe *c)
{
	uint8_t lid = c->cdw10 & 0xff;
	uint64_t len = (((uint64_t)(c->cdw11 & 0xffff) << 16 | c->cdw10 >> 16) + 1) * 4;
	uint64_t off = c->cdw12 | (uint64_t)c->cdw13 << 32;
	size_t size;

	if ((off & 3) || len > (uint64_t)PAGE << m->cfg.mdts)
		return (struct result){REFUSE(SCT_GENERIC, SC_INVALID_FIELD), 0};
	memset(m->page, 0, PAGE);
	switch (lid) {
	case 0x01:
		size = 64; /* one entry, all zero: no errors logged */
		break;
	case 0x02:
		if (c->nsid != 0 && c->nsid != 1 && c->nsid != NSID_BROADCAST)
			return (struct result){REFUSE(SCT_GENERIC, SC_INVALID_NS), 0};
		size = 512;
		put16(m->page + 1, 273 + 25); /* composite temperature in kelvins: 25 degrees C */
		m->page[3] = 100;             /* available spare, % */
		m->page[4] = 10;              /* available spare threshold, % */
		break;
	case 0x03:
		size = 512;
		m->page[0] = 1; /* AFI: slot 1 active */
		memcpy(m->page + 8, "1.0     ", 8);
		break;
	default:
		return (struct result){REFUSE(SCT_CMD, SC_INVALID_LOG_PAGE), 0};
	}
	if (off >= size)
		return (struct result){REFUSE(SCT_GENERIC, SC_INVALID_FIELD), 0};
	/* The rest of the transfer (past the page's end) is not written. */
	size_t n = len < size - off ? (size_t)len : size - (size_t)off;
	return (struct result){dma_to_host(m, c, m->page + off, n), 0};
}

/*
 * Number of Queues, section 5.21.1.7: both counts zero-based, FFFFh
 * invalid. The model grants all it has whatever is asked (NSQA/NCQA may
 * exceed the request), as QEMU 7.2 does; once an I/O queue has been
 * created since the controller was enabled, Set Features is a Command
 * Sequence Error, even if the queues are gone again (the section forbids
 * it once any I/O queue has been created; QEMU checks this before the
 * fields).
 */
static struct result adm_features(struct nvme_model *m, const struct sqe *c, bool set)
{
	const uint32_t granted = (NVME_MODEL_MAX_QUEUES - 1) * 0x10001u;

	if ((c->cdw10 & 0xff) != FID_NUM_QUEUES)
		return (struct result){REFUSE(SCT_GENERIC, SC_INVALID_FIELD), 0};
	if (set) {
		if (m->queues_created)
			return (struct result){REFUSE(SCT_GENERIC, SC_CMD_SEQUENCE), 0};
		if ((c->cdw11 & 0xffff) == 0xffff || c->cdw11 >> 16 == 0xffff)
			return (struct result){REFUSE(SCT_GENERIC, SC_INVALID_FIELD), 0};
	}
	return (struct result){0, granted};
}

/*
 * Checks a new queue's ID, size, base alignment and flags (sections 5.3,
 * 5.4) in QEMU 7.2's order, then what only the model checks: the memory
 * must lie in a region.
 */
static uint16_t queue_check(struct nvme_model *m, const struct sqe *c, struct queue *table, unsigned entry)
{
	unsigned qid = c->cdw10 & 0xffff, size = (c->cdw10 >> 16) + 1;

	if (qid == 0 || qid > NVME_MODEL_MAX_QUEUES || table[qid].live)
		return REFUSE(SCT_CMD, SC_INVALID_QID);
	if (size < 2 || size > m->cfg.mqes + 1)
		return REFUSE(SCT_CMD, SC_INVALID_QSIZE);
	if (c->prp1 & (PAGE - 1))
		return dma_refuse(m, SC_PRP_OFFSET);
	/* CQ only: no MSI-X, no interrupts at all: vector 0 is the only one (section 5.3, status 08h). */
	if (entry == CQE_SIZE && c->cdw11 >> 16)
		return REFUSE(SCT_CMD, SC_INVALID_VECTOR);
	if (!(c->cdw11 & 1)) /* PC: CAP.CQR says queues must be contiguous */
		return REFUSE(SCT_GENERIC, SC_INVALID_FIELD);
	if (!dma_ptr(m, c->prp1, (uint64_t)size * entry))
		return dma_error(m, SC_DATA_TRANSFER);
	return 0;
}

static void queue_init(struct queue *q, const struct sqe *c)
{
	*q = (struct queue){
		.live = true,
		.mem = (uint8_t *)(uintptr_t)c->prp1,
		.size = (c->cdw10 >> 16) + 1,
		.phase = true,
	};
}

static struct result adm_create_cq(struct nvme_model *m, const struct sqe *c)
{
	uint16_t st = queue_check(m, c, m->cq, CQE_SIZE);

	if (!st && CC_IOCQES(m->cc_seen) != 4)
		st = REFUSE(SCT_GENERIC, SC_INVALID_FIELD);
	/* The host zeroes the queue's memory (phase tags 0); the model does not do it for the host. */
	if (!st) {
		queue_init(&m->cq[c->cdw10 & 0xffff], c);
		m->queues_created = true;
	}
	return (struct result){st, 0};
}

static struct result adm_create_sq(struct nvme_model *m, const struct sqe *c)
{
	unsigned cqid = c->cdw11 >> 16;

	/* The CQ first, as QEMU 7.2 does: Completion Queue Invalid wins over the SQ's own errors. */
	if (cqid == 0 || cqid > NVME_MODEL_MAX_QUEUES || !m->cq[cqid].live)
		return (struct result){REFUSE(SCT_CMD, SC_CQ_INVALID), 0};
	uint16_t st = queue_check(m, c, m->sq, SQE_SIZE);
	if (!st && CC_IOSQES(m->cc_seen) != 6)
		st = REFUSE(SCT_GENERIC, SC_INVALID_FIELD);
	if (st)
		return (struct result){st, 0};
	struct queue *q = &m->sq[c->cdw10 & 0xffff];
	queue_init(q, c);
	q->cqid = cqid;
	m->cq[cqid].nsq++;
	m->queues_created = true;
	return (struct result){0, 0};
}

/*
 * Delete I/O SQ/CQ, sections 5.6 and 5.5: an ID that names no queue is
 * Invalid Queue Identifier for both (their command specific status 01h; QEMU 7.2 says
 * Completion Queue Invalid for a CQ, docs/storage.md); a CQ that still has
 * SQs is Invalid Queue Deletion, without DNR (deleting the SQs first helps).
 */
static struct result adm_delete(struct nvme_model *m, const struct sqe *c, bool cq)
{
	unsigned qid = c->cdw10 & 0xffff;
	struct queue *q = cq ? &m->cq[qid] : &m->sq[qid];

	if (qid == 0 || qid > NVME_MODEL_MAX_QUEUES || !q->live)
		return (struct result){REFUSE(SCT_CMD, SC_INVALID_QID), 0};
	if (cq && q->nsq)
		return (struct result){STATUS(SCT_CMD, SC_INVALID_QDELETE), 0};
	if (!cq)
		m->cq[q->cqid].nsq--;
	q->live = false;
	return (struct result){0, 0};
}

/*
 * Abort, section 5.1: commands run to completion as they are fetched, so
 * nothing is ever aborted (DW0 bit 0 set); an SQID that names no SQ is
 * Invalid Field in Command, as in QEMU 7.2.
 */
static struct result adm_abort(struct nvme_model *m, const struct sqe *c)
{
	unsigned sqid = c->cdw10 & 0xffff;

	if (sqid > NVME_MODEL_MAX_QUEUES || !m->sq[sqid].live)
		return (struct result){REFUSE(SCT_GENERIC, SC_INVALID_FIELD), 1};
	return (struct result){0, 1};
}

static bool admin_supported(uint8_t opc)
{
	switch (opc) {
	case ADM_DELETE_SQ: case ADM_CREATE_SQ: case ADM_GET_LOG_PAGE: case ADM_DELETE_CQ:
	case ADM_CREATE_CQ: case ADM_IDENTIFY: case ADM_ABORT: case ADM_SET_FEATURES: case ADM_GET_FEATURES:
		return true;
	default:
		return false;
	}
}

static struct result exec_admin(struct nvme_model *m, const struct sqe *c)
{
	/* QEMU 7.2's order: the opcode, then PRPs only (section 4.2: no SGLs for admin over PCIe), no fusing. */
	if (!admin_supported(c->opc))
		return (struct result){REFUSE(SCT_GENERIC, SC_INVALID_OPCODE), 0};
	if (SQE_PSDT(c->flags))
		return (struct result){REFUSE(SCT_GENERIC, SC_INVALID_FIELD), 0};
	if (SQE_FUSE(c->flags))
		return (struct result){STATUS(SCT_GENERIC, SC_INVALID_FIELD), 0};
	switch (c->opc) {
	case ADM_IDENTIFY:
		return adm_identify(m, c);
	case ADM_GET_LOG_PAGE:
		return adm_get_log_page(m, c);
	case ADM_SET_FEATURES:
		return adm_features(m, c, true);
	case ADM_GET_FEATURES:
		return adm_features(m, c, false);
	case ADM_CREATE_CQ:
		return adm_create_cq(m, c);
	case ADM_CREATE_SQ:
		return adm_create_sq(m, c);
	case ADM_DELETE_CQ:
		return adm_delete(m, c, true);
	case ADM_DELETE_SQ:
		return adm_delete(m, c, false);
	default:
		return adm_abort(m, c);
	}
}

/* ---- queues ---- */

static bool cq_full(struct nvme_model *m, struct queue *cq, unsigned cqid)
{
	uint32_t head = doorbell(m, cqid, true);

	if (head >= cq->size) {
		atomic_fetch_add_explicit(&m->sh->bad_doorbells, 1, memory_order_relaxed);
		return true; /* an invalid head: post nothing until the driver writes a valid one */
	}
	cq->head = head;
	return (cq->tail + 1) % cq->size == cq->head;
}

/*
 * Posts a completion (section 4.6, Figure 121): DW0, DW2 = SQ head and SQ ID,
 * DW3 = CID, phase tag and status. DW3 goes last with release order, so a
 * driver that sees the new phase sees the whole entry.
 */
static void cq_post(struct nvme_model *m, struct queue *cq, struct result r, uint16_t sqid,
		    uint16_t sqhd, uint16_t cid)
{
	uint32_t *e = (uint32_t *)(cq->mem + (size_t)cq->tail * CQE_SIZE);

	e[0] = r.dw0;
	e[1] = 0;
	e[2] = sqhd | (uint32_t)sqid << 16;
	atomic_store_explicit((_Atomic uint32_t *)&e[3],
			      cid | (uint32_t)cq->phase << 16 | (uint32_t)r.status << 17, memory_order_release);
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase = !cq->phase;
	}
}

static struct result execute(struct nvme_model *m, unsigned sqid, const struct sqe *c)
{
	if (m->fail_count && (sqid != 0 || m->fail_admin)) {
		m->fail_count--;
		atomic_fetch_add_explicit(&m->sh->injected, 1, memory_order_relaxed);
		return (struct result){m->fail_status, 0};
	}
	return sqid ? exec_io(m, c) : exec_admin(m, c);
}

/* Runs up to budget commands of one SQ; stops early when its CQ is full. */
static unsigned sq_run(struct nvme_model *m, unsigned sqid, unsigned budget)
{
	struct queue *sq = &m->sq[sqid];
	uint32_t tail = doorbell(m, sqid, false);
	unsigned done = 0;

	if (tail >= sq->size) {
		atomic_fetch_add_explicit(&m->sh->bad_doorbells, 1, memory_order_relaxed);
		return 0;
	}
	sq->tail = tail;
	while (sq->live && sq->head != sq->tail && done < budget) {
		unsigned cqid = sq->cqid;
		struct queue *cq = &m->cq[cqid];
		struct sqe c;
		if (cq_full(m, cq, cqid)) {
			atomic_fetch_add_explicit(&m->sh->cq_full, 1, memory_order_relaxed);
			break;
		}
		/* One copy out of shared memory: the driver cannot change the command under us. */
		memcpy(&c, sq->mem + (size_t)sq->head * SQE_SIZE, SQE_SIZE);
		sq->head = (sq->head + 1) % sq->size;
		atomic_fetch_add_explicit(&m->sh->commands, 1, memory_order_relaxed);
		struct result r = execute(m, sqid, &c);
		if (r.status)
			atomic_fetch_add_explicit(&m->sh->errors, 1, memory_order_relaxed);
		if (sqid != 0 && m->drop_count) {
			m->drop_count--;
			atomic_fetch_add_explicit(&m->sh->dropped, 1, memory_order_relaxed);
		} else if (cq->live) {
			cq_post(m, cq, r, sqid, sq->head, c.cid);
		}
		done++;
	}
	return done;
}

/* ---- controller state, section 7.6 ---- */

static void controller_reset(struct nvme_model *m)
{
	/*
	 * A reset returns the doorbells to 0 (section 3.1.24/25 reset values):
	 * stale tails would run old admin entries after the next enable. The
	 * host writes no doorbell until CSTS.RDY is 1 again, so this store
	 * cannot race with one of its own.
	 */
	for (unsigned q = 0; q <= NVME_MODEL_MAX_QUEUES; q++) {
		reg_write32(m, REG_DOORBELLS + 2 * q * (4u << m->cfg.dstrd), 0);
		reg_write32(m, REG_DOORBELLS + (2 * q + 1) * (4u << m->cfg.dstrd), 0);
	}
	memset(m->sq, 0, sizeof(m->sq));
	memset(m->cq, 0, sizeof(m->cq));
	m->queues_created = false;
	m->state = OFF;
	atomic_fetch_add_explicit(&m->sh->resets, 1, memory_order_relaxed);
	reg_write32(m, REG_CSTS, 0);
}

/*
 * CC.EN 0 -> 1 (section 7.6.1): the admin queues from AQA/ASQ/ACQ. A
 * configuration the model cannot run is a fatal status with RDY set, so the
 * driver's disable (which waits for RDY to clear) is always seen.
 */
static void controller_enable(struct nvme_model *m, uint32_t cc)
{
	uint32_t aqa = reg_read32(m, REG_AQA);
	uint64_t asq = reg_read64(m, REG_ASQ), acq = reg_read64(m, REG_ACQ);
	unsigned sqs = (aqa & 0xfff) + 1, cqs = ((aqa >> 16) & 0xfff) + 1;
	bool ok = CC_MPS(cc) == 0 && CC_CSS(cc) == 0 && CC_AMS(cc) == 0 && sqs >= 2 && cqs >= 2 &&
		  !(asq & (PAGE - 1)) && !(acq & (PAGE - 1)) && dma_ptr(m, asq, (uint64_t)sqs * SQE_SIZE) &&
		  dma_ptr(m, acq, (uint64_t)cqs * CQE_SIZE);

	if (!ok) {
		m->state = FATAL;
		reg_write32(m, REG_CSTS, CSTS_RDY | CSTS_CFS);
		return;
	}
	m->sq[0] = (struct queue){.live = true, .mem = (uint8_t *)(uintptr_t)asq, .size = sqs};
	m->cq[0] = (struct queue){.live = true, .mem = (uint8_t *)(uintptr_t)acq, .size = cqs, .phase = true, .nsq = 1};
	m->state = READY;
	reg_write32(m, REG_CSTS, CSTS_RDY);
}

/*
 * A controller reset returns every register but AQA, ASQ and ACQ to its
 * reset value (section 7.3.2), CC included: CC.SHN written with EN = 0
 * reads back 0 afterwards, as in QEMU 7.2. CC is the host's to write, so
 * compare-and-swap: a CC the host stored meanwhile wins (and is seen on
 * the next pass). Returns what CC holds for the model now.
 */
static uint32_t clear_cc(struct nvme_model *m, uint32_t cc)
{
	uint32_t expect = cc;

	if (atomic_compare_exchange_strong_explicit((_Atomic uint32_t *)(m->bar + REG_CC), &expect, 0,
						    memory_order_acq_rel, memory_order_acquire))
		return 0;
	return cc;
}

static unsigned cc_changes(struct nvme_model *m)
{
	uint32_t cc = reg_read32(m, REG_CC), old = m->cc_seen;

	if (cc == old && (CC_EN(cc) || m->state == OFF))
		return 0;
	m->cc_seen = cc;
	if (!CC_EN(cc)) {
		if (m->state != OFF || reg_read32(m, REG_CSTS)) {
			controller_reset(m);
			cc = m->cc_seen = clear_cc(m, cc);
		}
	} else if (m->state == OFF) {
		controller_enable(m, cc);
	}
	/* Shutdown, section 7.6.2: nothing is cached in RAM; a file is synced. */
	if (CC_SHN(cc) && !CC_SHN(old)) {
		if (!m->ram)
			fdatasync(m->cfg.backing_fd);
		reg_write32(m, REG_CSTS, reg_read32(m, REG_CSTS) | CSTS_SHST_DONE);
	} else if (!CC_SHN(cc) && CC_SHN(old)) {
		reg_write32(m, REG_CSTS, reg_read32(m, REG_CSTS) & ~(3u << 2));
	}
	return 1;
}

void nvme_model_set_inject(struct nvme_model *m, const struct nvme_model_shared *req)
{
	m->fail_count = req->fail_count;
	m->fail_status = req->fail_status;
	m->fail_admin = req->fail_admin;
	m->drop_count = req->drop_count;
	if (req->set_cfs && m->state == READY) {
		m->state = FATAL;
		reg_write32(m, REG_CSTS, reg_read32(m, REG_CSTS) | CSTS_CFS);
	}
}

static unsigned inject_requests(struct nvme_model *m)
{
	uint32_t seq = atomic_load_explicit(&m->sh->req_seq, memory_order_acquire);

	if (seq == m->inject_seen)
		return 0;
	struct nvme_model_shared req;
	memcpy(&req, m->sh, offsetof(struct nvme_model_shared, req_seq));
	nvme_model_set_inject(m, &req);
	m->inject_seen = seq;
	atomic_store_explicit(&m->sh->ack_seq, seq, memory_order_release);
	return 1;
}

unsigned nvme_model_step(struct nvme_model *m)
{
	unsigned work = inject_requests(m) + cc_changes(m);

	if (m->state != READY)
		return work;
	/* Admin first, then every I/O queue, a bounded number each: no queue starves the others. */
	for (unsigned q = 0; q <= NVME_MODEL_MAX_QUEUES; q++)
		if (m->sq[q].live)
			work += sq_run(m, q, 64);
	return work;
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + t.tv_nsec;
}

int nvme_model_run(struct nvme_model *m)
{
	uint64_t idle_since = now_ns();
	unsigned spins = 0;

	while (!atomic_load_explicit(&m->ctl->stop, memory_order_relaxed)) {
		uint32_t seen = rl_model_gen(m->ctl);
		if (nvme_model_step(m)) {
			spins = 0;
			idle_since = 0;
			continue;
		}
		/* The clock only every 64 empty passes: it costs more than a pass. */
		if (++spins % 64)
			continue;
		uint64_t t = now_ns();
		if (!idle_since)
			idle_since = t;
		if (t - idle_since < (uint64_t)m->cfg.spin_us * 1000)
			continue;
		/* Sleep; the timeout is only a safety net against a lost wake-up, never needed. */
		struct timespec nap = {.tv_sec = 1};
		rl_model_sleep(m->ctl, seen, &nap);
		idle_since = 0;
		spins = 0;
	}
	return 0;
}

/* ---- creation ---- */

void nvme_model_config_default(struct nvme_model_config *cfg)
{
	*cfg = (struct nvme_model_config){
		.bar_fd = -1,
		.bar_len = NVME_MODEL_BAR_LEN,
		.backing_fd = -1,
		.ram_bytes = 64u << 20,
		.lba_shift = 9,
		.mdts = 8,
		.mqes = 1023,
		.dstrd = 0,
		.timeout = 20, /* 10 s */
		.spin_us = 50,
	};
}

static int fail(const char **msg, const char *what, int err)
{
	if (msg)
		*msg = what;
	return err;
}

static int check_config(const struct nvme_model_config *c, const char **msg)
{
	if (c->bar_len < NVME_MODEL_BAR_LEN || c->bar_len % PAGE)
		return fail(msg, "BAR length must be a multiple of 4 KiB, at least 16 KiB", -EINVAL);
	if (c->lba_shift < 9 || c->lba_shift > 12)
		return fail(msg, "LBA size must be 512, 1024, 2048 or 4096 bytes", -EINVAL);
	if (c->mdts < 1 || c->mdts > 10)
		return fail(msg, "MDTS must be 1..10 (8 KiB .. 4 MiB)", -EINVAL);
	if (c->mqes < 1 || c->mqes > 65535)
		return fail(msg, "MQES must be 1..65535", -EINVAL);
	if (c->dstrd > 4)
		return fail(msg, "DSTRD must be 0..4", -EINVAL);
	if (REG_DOORBELLS + (2 * NVME_MODEL_MAX_QUEUES + 2) * (4u << c->dstrd) > c->bar_len)
		return fail(msg, "the doorbells do not fit the BAR at this DSTRD", -EINVAL);
	if (c->timeout < 1 || c->timeout > 255)
		return fail(msg, "CAP.TO must be 1..255 (500 ms units)", -EINVAL);
	if (c->ndma == 0 || c->ndma > RL_DEV_MAX_REGIONS)
		return fail(msg, "between 1 and 8 DMA regions are needed", -EINVAL);
	return 0;
}

static int setup_media(struct nvme_model *m, const char **msg)
{
	uint64_t bytes = m->cfg.ram_bytes;

	if (m->cfg.backing_fd >= 0) {
		struct stat st;
		if (fstat(m->cfg.backing_fd, &st) < 0)
			return fail(msg, "cannot stat the backing file", -errno);
		bytes = st.st_size;
	} else {
		m->ram_len = bytes ? bytes : 1;
		m->ram = mmap(NULL, m->ram_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m->ram == MAP_FAILED) {
			m->ram = NULL;
			return fail(msg, "cannot allocate the namespace in RAM", -ENOMEM);
		}
	}
	m->nblocks = bytes >> m->lba_shift;
	if (m->nblocks == 0)
		return fail(msg, "the namespace holds not even one block", -EINVAL);
	return 0;
}

static int setup_regions(struct nvme_model *m, const char **msg)
{
	for (unsigned i = 0; i < m->cfg.ndma; i++) {
		size_t len;
		int r = rl_model_map_region(m->cfg.dma[i].fd, m->cfg.dma[i].addr, &len);
		if (r)
			return fail(msg, r == -EEXIST ? "a DMA region's address is already taken"
						      : "cannot map a DMA region (fd or address invalid)", r);
		m->regions[m->nregions++] = (struct region){m->cfg.dma[i].addr, len};
	}
	return 0;
}

/* CAP, section 3.1.1: MQES, CQR, TO, DSTRD, CSS (NVM), MPSMIN = MPSMAX = 0; VS 1.4. */
static void setup_registers(struct nvme_model *m)
{
	uint64_t cap = (uint64_t)m->cfg.mqes | 1ull << 16 | (uint64_t)m->cfg.timeout << 24 |
		       (uint64_t)m->cfg.dstrd << 32 | 1ull << 37;

	atomic_store((_Atomic uint64_t *)(m->bar + REG_CAP), cap);
	reg_write32(m, REG_VS, 0x00010400);
	reg_write32(m, REG_CSTS, 0);
}

int nvme_model_create(const struct nvme_model_config *cfg, struct nvme_model **out, const char **msg)
{
	int r = check_config(cfg, msg);

	if (r)
		return r;
	struct nvme_model *m = calloc(1, sizeof(*m));
	if (!m)
		return fail(msg, "out of memory", -ENOMEM);
	m->cfg = *cfg;
	m->lba_shift = cfg->lba_shift;
	if ((r = setup_media(m, msg)) || (r = setup_regions(m, msg)))
		goto err;
	/* Every register store kicks: CC and AQA writes are rare, and the model must see them. */
	m->ctl = rl_model_map(cfg->bar_fd, cfg->bar_len, 0, &m->bar);
	if (!m->ctl) {
		r = fail(msg, "cannot map the BAR file", -errno);
		goto err;
	}
	m->sh = nvme_model_shared(m->ctl);
	setup_registers(m);
	rl_model_ready(m->ctl);
	*out = m;
	return 0;
err:
	nvme_model_destroy(m);
	return r;
}

void nvme_model_destroy(struct nvme_model *m)
{
	if (!m)
		return;
	if (m->ram)
		munmap(m->ram, m->ram_len);
	for (unsigned i = 0; i < m->nregions; i++)
		munmap((void *)m->regions[i].start, m->regions[i].len);
	if (m->bar)
		munmap((void *)m->bar, rl_model_file_size(m->cfg.bar_len));
	free(m);
}

int nvme_model_inject(struct rl_model_ctl *ctl, const struct nvme_model_shared *req, int timeout_ms)
{
	struct nvme_model_shared *sh = nvme_model_shared(ctl);

	memcpy(sh, req, offsetof(struct nvme_model_shared, req_seq));
	uint32_t seq = atomic_fetch_add_explicit(&sh->req_seq, 1, memory_order_release) + 1;
	rl_model_kick(ctl);
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000;
	while (atomic_load_explicit(&sh->ack_seq, memory_order_acquire) != seq) {
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(100);
	}
	return 0;
}
