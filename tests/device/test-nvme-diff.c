// SPDX-License-Identifier: MIT
/*
 * The differential NVMe test (issue 16): the same driver scenarios against
 * our NVMe model (redleaf-nvme-model) and against QEMU 7.2's NVMe (the
 * mpqemu back end), and the outcomes compared. Each scenario reduces what
 * it saw to a text of facts that must agree (statuses, sizes, data checks)
 * plus a note of what may legitimately differ (names, capabilities); the
 * facts of the two back ends must be equal.
 *
 *   test-nvme-diff [SCENARIO...]       (default: all)
 *
 * A known difference is one where QEMU departs from the NVMe 1.4
 * specification and the model keeps to it, or (one case) where the model
 * differs on purpose: docs/storage.md, "Differences found", lists each
 * with its reason. Such an item compares equal when each back end gives
 * exactly its documented answer, so a change on either side still fails
 * the test.
 *
 * Both devices see the same two DMA regions (the model fixture's memfds at
 * their fixed addresses), one at a time: each scenario opens and closes its
 * controller on one back end before the other starts. Both namespaces are
 * 64 MiB memfd files of 512-byte blocks, MDTS 7, MQES 2047, CAP.TO 15 and
 * the same serial: QEMU 7.2's defaults, given to the model as arguments.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mpqemu.h"
#include "nvme.h"
#include "nvme_fixture.h"
#include "nvme_model.h"
#include "nvme_suite.h"

#define NS_BYTES (64u << 20)
#define SERIAL "RLDIFF0001"
#define TIMEOUT_MS 3000
/* Hand-made queues live in the upper half of the queue memory, clear of the driver's. */
#define SPARE_OFF (T_QMEM_LEN / 2)

enum { MODEL, QEMU, NBACKENDS };

struct backend {
	const char *name;
	int id;
	struct t_nvme_target t;
	int ns_fd; /* the namespace's file */
};

/* What one scenario saw on one back end. */
struct outcome {
	char facts[2048]; /* compared */
	char note[1024];  /* printed, not compared */
	unsigned nfacts;
	unsigned documented; /* known differences met as documented */
};

static struct t_model model;
static struct rl_mpqemu *qemu;
static struct backend backends[NBACKENDS];

/* ---- cleanup, whatever happens ---- */

static void stop_all(void)
{
	if (qemu) {
		rl_mpqemu_stop(qemu);
		qemu = NULL;
		close(backends[QEMU].ns_fd); /* the image: a memfd, gone with its last descriptor */
	}
	if (model.pid > 0)
		t_model_stop(&model);
}

static void on_signal(int sig)
{
	/* Async-signal-safe only: kill both devices, then go (our parent reaps them with us gone). */
	if (qemu && rl_mpqemu_pid(qemu) > 0)
		kill(rl_mpqemu_pid(qemu), SIGKILL);
	if (model.pid > 0)
		kill(model.pid, SIGKILL);
	_exit(128 + sig);
}

static void install_cleanup(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	atexit(stop_all);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* need-qemu.sh installs QEMU when it can; 77 means it cannot be had, so this test skips. */
static void need_qemu(void)
{
	const char *script = getenv("NEED_QEMU");
	char cmd[4096];

	if (!script) {
		fprintf(stderr, "NEED_QEMU is not set (run this through meson test)\n");
		exit(1);
	}
	snprintf(cmd, sizeof(cmd), "sh '%s'", script);
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st)) {
		fprintf(stderr, "cannot run %s\n", script);
		exit(1);
	}
	if (WEXITSTATUS(st) == 77)
		exit(77);
	if (WEXITSTATUS(st) != 0) {
		fprintf(stderr, "%s failed with status %d\n", script, WEXITSTATUS(st));
		exit(1);
	}
}

static int namespace_file(const char *name, int cloexec)
{
	int fd = memfd_create(name, cloexec ? MFD_CLOEXEC : 0);

	if (fd < 0 || ftruncate(fd, NS_BYTES) < 0) {
		perror("namespace memfd");
		exit(1);
	}
	return fd;
}

static void start_model(void)
{
	static char fd_text[16];
	/* QEMU 7.2's defaults: MDTS 7 (512 KiB), CAP.MQES 2047, CAP.TO 15 (7.5 s). */
	static const char *args[] = {"--backing-fd", fd_text, "--mdts", "7", "--mqes", "2047", "--timeout", "15",
				     "--serial", SERIAL, NULL};
	int ns = namespace_file("nvme-diff-model-ns", 0); /* inherited by the model */

	snprintf(fd_text, sizeof(fd_text), "%d", ns);
	int r = t_model_start(&model, args);
	if (r)
		exit(r);
	close(ns); /* the model has its own; ours would only keep the memory alive */
	backends[MODEL] = (struct backend){
		.name = "model", .id = MODEL, .ns_fd = -1,
		.t = {.dev = &model.dev, .qmem = model.qmem, .qmem_len = T_QMEM_LEN, .buf = model.buf,
		      .buf_len = T_BUF_LEN},
	};
}

static void start_qemu(void)
{
	struct rl_mpqemu_region regions[2] = {
		{.addr = model.qmem, .len = T_QMEM_LEN, .memfd = model.qmem_fd},
		{.addr = model.buf, .len = T_BUF_LEN, .memfd = model.buf_fd},
	};
	int ns = namespace_file("nvme-diff-qemu-ns", 1);
	char image[64];

	/* QEMU opens the image by path; a memfd of ours is reachable as /proc/PID/fd/N. */
	snprintf(image, sizeof(image), "/proc/%d/fd/%d", (int)getpid(), ns);
	struct rl_mpqemu_config cfg = {.image = image, .serial = SERIAL, .regions = regions, .nregions = 2};
	if (rl_mpqemu_start(&qemu, &cfg) < 0) {
		qemu = NULL;
		exit(1);
	}
	backends[QEMU] = (struct backend){
		.name = "qemu", .id = QEMU, .ns_fd = ns,
		.t = {.dev = rl_mpqemu_dev(qemu), .qmem = model.qmem, .qmem_len = T_QMEM_LEN, .buf = model.buf,
		      .buf_len = T_BUF_LEN},
	};
}

/* ---- outcomes ---- */

static void vappend(char *dst, size_t size, const char *fmt, va_list ap)
{
	size_t n = strlen(dst);

	if (n && n + 2 < size) {
		memcpy(dst + n, "; ", 3);
		n += 2;
	}
	if (n < size)
		vsnprintf(dst + n, size - n, fmt, ap);
}

/* A fact that must agree. */
static void fact(struct outcome *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fact(struct outcome *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vappend(o->facts, sizeof(o->facts), fmt, ap);
	va_end(ap);
	o->nfacts++;
}

/* Something shown but allowed to differ. */
static void note(struct outcome *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct outcome *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vappend(o->note, sizeof(o->note), fmt, ap);
	va_end(ap);
}

/* A command's result as text: "ok", "0/80h+DNR" (SCT/SC, the DNR bit), or the driver's errno. */
static const char *result_str(int r, uint16_t st, char *buf, size_t len)
{
	if (r == 0)
		snprintf(buf, len, "ok");
	else if (r == -EREMOTEIO)
		snprintf(buf, len, "%x/%02xh%s%s", NVME_SCT(st), NVME_SC(st), NVME_DNR(st) ? "+DNR" : "",
			 (st >> 13) & 1 ? "+M" : "");
	else
		snprintf(buf, len, "errno %d (%s)", r, nvme_strerror(r));
	return buf;
}

static void fact_result(struct outcome *o, const char *what, int r, uint16_t st)
{
	char s[64];
	fact(o, "%s: %s", what, result_str(r, st, s, sizeof(s)));
}

/* The call runs before the status variable st it fills is read (argument order is unspecified). */
#define FACT_RESULT(o, what, call)                   \
	do {                                         \
		int r_ = (call);                     \
		fact_result((o), (what), r_, st);    \
	} while (0)

/*
 * A documented difference: the result must be this back end's documented
 * one (docs/storage.md, "Differences found"); then both sides record the
 * same fact and the raw results go to the note.
 */
static void known_text(struct outcome *o, const struct backend *b, const char *what, const char *s,
		       const char *model_want, const char *qemu_want)
{
	const char *want = b->id == MODEL ? model_want : qemu_want;

	if (!strcmp(s, want)) {
		fact(o, "%s: as documented", what);
		note(o, "%s: %s (documented difference)", what, s);
		o->documented++;
	} else {
		fact(o, "%s: %s, documented %s", what, s, want);
	}
}

/* The same for a command's result. */
static void known(struct outcome *o, const struct backend *b, const char *what, int r, uint16_t st,
		  const char *model_want, const char *qemu_want)
{
	char s[64];

	known_text(o, b, what, result_str(r, st, s, sizeof(s)), model_want, qemu_want);
}

/* ---- helpers for the scenarios ---- */

static struct nvme_ctrl *open_ctrl(const struct backend *b, unsigned depth, struct outcome *o)
{
	struct nvme_config cfg = {.queue_depth = depth, .timeout_ms = TIMEOUT_MS};
	struct nvme_ctrl *c = NULL;
	int r = nvme_ctrl_open(b->t.dev, b->t.qmem, b->t.qmem_len, &cfg, &c);

	if (r) {
		fact(o, "nvme_ctrl_open: %d (%s)", r, nvme_strerror(r));
		return NULL;
	}
	return c;
}

/* A hand-made I/O command through the driver's pass-through; bounded by the driver's timeout. */
static int raw_io(struct nvme_ctrl *c, struct nvme_cmd cmd, uint16_t *st, uint32_t *dw0)
{
	struct nvme_req r = {0}, *done;
	int e;

	*st = 0;
	if ((e = nvme_submit_raw(c, &r, &cmd)))
		return e;
	while (!nvme_poll(c, &done, 1))
		;
	*st = r.nvme_status;
	if (dw0)
		*dw0 = r.result;
	return r.status;
}

static int admin(struct nvme_ctrl *c, struct nvme_cmd cmd, uint16_t *st, uint32_t *dw0)
{
	*st = 0;
	return nvme_admin_raw(c, &cmd, dw0, st);
}

static uint64_t bus(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static uint32_t doorbell(struct rl_dev *d, unsigned qid, bool cq)
{
	unsigned dstrd = (unsigned)(rl_dev_read64(d, 0) >> 32) & 0xf;
	return 0x1000 + (2 * qid + cq) * (4u << dstrd);
}

/* Identify Controller into buf: NN (the number of valid NSIDs) and the rest for the caller. */
static uint32_t identify_nn(struct nvme_ctrl *c, uint8_t *buf)
{
	uint16_t st = 0;
	memset(buf, 0, 4096);
	if (admin(c, (struct nvme_cmd){.opc = 0x06, .cdw10 = 1, .prp1 = bus(buf)}, &st, NULL))
		return 0;
	return nvme_get32(buf + 516);
}

/* Namespace Identification Descriptors (section 5.15.2.3): one of type nidt and length nidl? */
static bool find_descriptor(const uint8_t *d, unsigned nidt, unsigned nidl)
{
	for (unsigned off = 0; off + 4 <= 4096 && d[off] != 0;) {
		if (d[off] == nidt && d[off + 1] == nidl)
			return true;
		off += 4 + d[off + 1];
	}
	return false;
}

static const char *descriptors(const uint8_t *d)
{
	static char s[128];
	size_t n = 0;

	s[0] = '\0';
	for (unsigned off = 0; off + 4 <= 4096 && d[off] != 0 && n < sizeof(s) - 16;) {
		n += snprintf(s + n, sizeof(s) - n, " %u/%u", d[off], d[off + 1]);
		off += 4 + d[off + 1];
	}
	return s;
}

/* ---- scenarios ---- */

/* Registers, section 3.1: what the driver depends on must agree; the rest is capability. */
static void sc_registers(const struct backend *b, struct outcome *o)
{
	struct rl_dev *d = b->t.dev;
	uint64_t cap = rl_dev_read64(d, 0x00);

	fact(o, "CAP.CQR %u, CSS.NVM %u, MPSMIN %u, DSTRD %u", (unsigned)(cap >> 16) & 1,
	     (unsigned)(cap >> 37) & 1, (unsigned)(cap >> 48) & 0xf, (unsigned)(cap >> 32) & 0xf);
	fact(o, "MQES %u, TO %u", (unsigned)cap & 0xffff, (unsigned)(cap >> 24) & 0xff);
	fact(o, "VS %#x", rl_dev_read32(d, 0x08));
	note(o, "CAP %#llx (CSS %#x, MPSMAX %u)", (unsigned long long)cap, (unsigned)(cap >> 37) & 0xff,
	     (unsigned)(cap >> 52) & 0xf);
	struct nvme_ctrl *c = open_ctrl(b, 16, o);
	if (!c)
		return;
	fact(o, "CSTS open %#x", rl_dev_read32(d, 0x1c));
	nvme_ctrl_close(c);
	/* nvme_ctrl_close: CC.SHN = normal, then CC.EN = 0 with SHN still set. */
	fact(o, "CSTS after close %#x, CC %#x", rl_dev_read32(d, 0x1c), rl_dev_read32(d, 0x14));
}

static void sc_identify(const struct backend *b, struct outcome *o)
{
	struct nvme_ctrl *c = open_ctrl(b, 64, o);
	uint8_t *buf = b->t.buf;

	if (!c)
		return;
	const struct nvme_info *i = nvme_ctrl_info(c);
	fact(o, "%llu blocks of %u bytes, max transfer %u, queue depth %u, VS %#x, volatile cache %d, serial '%s'",
	     (unsigned long long)i->nblocks, i->lba_size, i->max_transfer, i->queue_depth, i->version,
	     i->volatile_cache, i->serial);
	note(o, "model '%s', firmware '%s'", i->model, i->firmware);
	uint32_t nn = identify_nn(c, buf);
	fact(o, "MDTS %u, SQES %#x, CQES %#x", buf[77], buf[512], buf[513]);
	note(o, "NN %u, ONCS %#x, VID %#x, OACS %#x, CNTLID %u", nn, nvme_get32(buf + 520) & 0xffff,
	     nvme_get32(buf) & 0xffff, nvme_get32(buf + 256) & 0xffff, nvme_get32(buf + 78) & 0xffff);
	uint16_t st = 0;
	memset(buf, 0xee, 4096);
	int r = admin(c, (struct nvme_cmd){.opc = 0x06, .nsid = 1, .cdw10 = 0, .prp1 = bus(buf)}, &st, NULL);
	fact_result(o, "Identify namespace 1", r, st);
	fact(o, "NSZE %llu NCAP %llu FLBAS %#x LBAF0 %#x", (unsigned long long)nvme_get64(buf),
	     (unsigned long long)nvme_get64(buf + 8), buf[26], nvme_get32(buf + 128));
	note(o, "NUSE %llu, NLBAF %u", (unsigned long long)nvme_get64(buf + 16), buf[25]);
	/* Active namespace list (CNS 02h): namespace 1, then zeroes. */
	memset(buf, 0xee, 4096);
	r = admin(c, (struct nvme_cmd){.opc = 0x06, .cdw10 = 2, .prp1 = bus(buf)}, &st, NULL);
	fact_result(o, "CNS 02h", r, st);
	fact(o, "list %u %u", nvme_get32(buf), nvme_get32(buf + 4));
	nvme_ctrl_close(c);
}

/* Number of Queues (section 5.21.1.7) and what the grant allows. */
static void sc_queue_count(const struct backend *b, struct outcome *o)
{
	struct nvme_ctrl *c = open_ctrl(b, 16, o);
	uint16_t st = 0;
	uint32_t dw0 = 0;
	uint8_t *spare = (uint8_t *)b->t.qmem + SPARE_OFF;

	if (!c)
		return;
	int r = admin(c, (struct nvme_cmd){.opc = 0x0a, .cdw10 = 7}, &st, &dw0);
	fact_result(o, "Get Features", r, st);
	unsigned nsqa = dw0 & 0xffff, ncqa = dw0 >> 16;
	note(o, "granted %u SQs and %u CQs to a request for 1 each", nsqa + 1, ncqa + 1);
	fact(o, "SQs granted = CQs granted %d", nsqa == ncqa);
	r = admin(c, (struct nvme_cmd){.opc = 0x09, .cdw10 = 7, .cdw11 = 3 | 3 << 16}, &st, &dw0);
	fact_result(o, "Set Features with I/O queues live", r, st);
	/* The last queue ID the grant allows works; one more is an Invalid Queue Identifier. */
	unsigned last = ncqa + 1;
	memset(spare, 0, 65536);
	r = admin(c, (struct nvme_cmd){.opc = 0x05, .prp1 = bus(spare), .cdw10 = last | 15 << 16, .cdw11 = 1},
		  &st, NULL);
	fact_result(o, "Create CQ at the last granted ID", r, st);
	r = admin(c, (struct nvme_cmd){.opc = 0x04, .cdw10 = last}, &st, NULL);
	fact_result(o, "delete it", r, st);
	r = admin(c, (struct nvme_cmd){.opc = 0x05, .prp1 = bus(spare), .cdw10 = (last + 1) | 15 << 16, .cdw11 = 1},
		  &st, NULL);
	fact_result(o, "Create CQ one past the grant", r, st);
	/* Section 5.21.1.7: after creation of any I/O queue, Set Features fails, even once they are gone. */
	r = admin(c, (struct nvme_cmd){.opc = 0x00, .cdw10 = 1}, &st, NULL);
	fact_result(o, "Delete SQ 1", r, st);
	r = admin(c, (struct nvme_cmd){.opc = 0x04, .cdw10 = 1}, &st, NULL);
	fact_result(o, "Delete CQ 1", r, st);
	r = admin(c, (struct nvme_cmd){.opc = 0x09, .cdw10 = 7, .cdw11 = 0}, &st, &dw0);
	fact_result(o, "Set Features after the queues were deleted", r, st);
	r = admin(c, (struct nvme_cmd){.opc = 0x09, .cdw10 = 7, .cdw11 = 0xffff}, &st, &dw0);
	fact_result(o, "Set Features NSQR FFFFh", r, st);
	/* A reset restores the driver's queues, and Set Features is allowed again in it. */
	r = nvme_ctrl_reset(c);
	fact(o, "reset %d", r);
	nvme_ctrl_close(c);
}

/* A reused body: the count of its failed checks and its summary line. */
static void reuse(const struct backend *b, struct outcome *o, unsigned (*body)(const struct t_nvme_target *),
		  bool compare_summary)
{
	char line[256] = "";
	struct t_nvme_target t = b->t;

	t.note = line;
	t.note_len = sizeof(line);
	unsigned fails = body(&t);
	fact(o, "failed checks: %u", fails);
	if (compare_summary)
		fact(o, "%s", line);
	else if (line[0])
		note(o, "%s", line);
}

static void sc_suite_identify(const struct backend *b, struct outcome *o) { reuse(b, o, t_nvme_identify, false); }
static void sc_io_sizes(const struct backend *b, struct outcome *o) { reuse(b, o, t_nvme_io_sizes, true); }
static void sc_ring_wrap(const struct backend *b, struct outcome *o) { reuse(b, o, t_nvme_ring_wrap, true); }
static void sc_batch(const struct backend *b, struct outcome *o) { reuse(b, o, t_nvme_batch, false); }
static void sc_bad_requests(const struct backend *b, struct outcome *o) { reuse(b, o, t_nvme_bad_requests, false); }
static void sc_reset(const struct backend *b, struct outcome *o) { reuse(b, o, t_nvme_reset, false); }

/*
 * A deep queue: 1024 entries (CAP.MQES allows 2048 on both), 1023 writes
 * of 8 KiB in one submit, then 1023 reads, data verified; and 100 admin
 * commands through the 32-entry admin queue (it wraps three times).
 */
static void sc_deep_queue(const struct backend *b, struct outcome *o)
{
	enum { DEPTH = 1024, N = DEPTH - 1, LEN = 8192 };
	static struct nvme_req reqs[N], *ptrs[N], *done[N];
	struct nvme_ctrl *c = open_ctrl(b, DEPTH, o);
	uint16_t st = 0;

	if (!c)
		return;
	fact(o, "queue depth %u", nvme_ctrl_info(c)->queue_depth);
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned k = 0; k < N; k++) {
			uint8_t *p = b->t.buf + (size_t)k * LEN;
			if (pass == 0)
				t_nvme_pattern(p, LEN, k, 11);
			else
				memset(p, 0, LEN);
			reqs[k] = (struct nvme_req){.op = pass ? NVME_OP_READ : NVME_OP_WRITE, .lba = 20000 + k * 16,
						    .nblocks = LEN / 512, .buf = p, .user = k};
			ptrs[k] = &reqs[k];
		}
		int taken = nvme_submit(c, ptrs, N);
		unsigned got = 0, bad = 0, max_batch = 0;
		time_t deadline = time(NULL) + 20;
		while (got < N && time(NULL) < deadline) {
			unsigned n = nvme_poll(c, done, N);
			for (unsigned k = 0; k < n; k++)
				bad += done[k]->status != 0;
			max_batch = n > max_batch ? n : max_batch;
			got += n;
		}
		fact(o, "%s: %d taken in one submit, %u back, %u failed", pass ? "reads" : "writes", taken, got, bad);
		note(o, "%s: up to %u completions in one poll", pass ? "reads" : "writes", max_batch);
	}
	unsigned wrong = 0;
	uint8_t *expect = b->t.buf + (size_t)N * LEN;
	for (unsigned k = 0; k < N; k++) {
		t_nvme_pattern(expect, LEN, k, 11);
		wrong += memcmp(expect, b->t.buf + (size_t)k * LEN, LEN) != 0;
	}
	fact(o, "%u of %d blocks read back wrong", wrong, N);
	unsigned ok = 0;
	for (unsigned k = 0; k < 100; k++) {
		uint32_t dw0 = 0;
		ok += admin(c, (struct nvme_cmd){.opc = 0x0a, .cdw10 = 7}, &st, &dw0) == 0;
	}
	fact(o, "%u of 100 admin commands through 32 entries", ok);
	nvme_ctrl_close(c);
}

/* Buffer offsets inside a page for 1 block .. 128 KiB, each read back into a second buffer. */
static void sc_offsets(const struct backend *b, struct outcome *o)
{
	struct nvme_ctrl *c = open_ctrl(b, 32, o);
	static const uint32_t offs[] = {0, 4, 508, 512, 2048, 4092};
	static const uint32_t sizes[] = {512, 3584, 4096, 4608, 8192, 65536, 126976, 131072};
	uint8_t *w = b->t.buf, *rd = b->t.buf + (1u << 20);
	unsigned good = 0, bad = 0;
	uint64_t lba = 4096;

	if (!c)
		return;
	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (unsigned k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
			uint32_t len = sizes[s], nb = len / 512;
			t_nvme_pattern(w + offs[k], len, lba, s);
			memset(rd, 0x5a, len + 8192);
			int r1 = nvme_write(c, lba, nb, w + offs[k]);
			int r2 = nvme_read(c, lba, nb, rd + offs[(k + 1) % 6]);
			bool ok = !r1 && !r2 && !memcmp(w + offs[k], rd + offs[(k + 1) % 6], len);
			/* Nothing lands past the buffer's end. */
			ok = ok && rd[offs[(k + 1) % 6] + len] == 0x5a;
			good += ok;
			if (!ok && bad++ < 3)
				fact(o, "%u bytes, write offset %u: write %d read %d", len, offs[k], r1, r2);
			lba += nb;
		}
	fact(o, "%u of %u transfers verified", good, good + bad);
	nvme_ctrl_close(c);
}

static void sc_flush(const struct backend *b, struct outcome *o)
{
	struct nvme_ctrl *c = open_ctrl(b, 16, o);
	uint16_t st = 0;

	if (!c)
		return;
	fact(o, "nvme_flush %d", nvme_flush(c));
	int r = raw_io(c, (struct nvme_cmd){.opc = 0x00, .nsid = 0xffffffffu}, &st, NULL);
	fact_result(o, "Flush NSID FFFFFFFFh", r, st);
	r = raw_io(c, (struct nvme_cmd){.opc = 0x00, .nsid = 0}, &st, NULL);
	fact_result(o, "Flush NSID 0", r, st);
	nvme_ctrl_close(c);
}

/* Out-of-range LBAs: the driver refuses them before the device; by hand, the device answers. */
static void sc_lba_range(const struct backend *b, struct outcome *o)
{
	struct nvme_ctrl *c = open_ctrl(b, 16, o);
	uint8_t *buf = b->t.buf;
	uint16_t st = 0;

	if (!c)
		return;
	uint64_t n = nvme_ctrl_info(c)->nblocks;
	uint32_t mx = nvme_ctrl_info(c)->max_transfer / 512;
	fact(o, "driver: read at end %d, write over end %d, wrapping %d, over MDTS %d", nvme_read(c, n, 1, buf),
	     nvme_write(c, n - 1, 2, buf), nvme_read(c, ~0ull, 2, buf), nvme_read(c, 0, mx + 1, buf));
	struct {
		const char *what;
		uint8_t opc;
		uint64_t slba;
		uint32_t nlb; /* blocks, 1-based */
	} cases[] = {
		{"Read SLBA = NSZE", 0x02, n, 1},
		{"Write SLBA = NSZE", 0x01, n, 1},
		{"Read last block + 1", 0x02, n - 1, 2},
		{"Read SLBA 2^64-1", 0x02, ~0ull, 1},
		{"Read SLBA 2^64-1, 2 blocks (wraps)", 0x02, ~0ull, 2},
		{"Read over MDTS", 0x02, 0, mx + 1},
		{"Read over MDTS and out of range", 0x02, n, mx + 1},
		{"Read last block", 0x02, n - 1, 1},
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		/* The data pointer must cover the transfer even when the command is refused: a PRP list. */
		uint64_t *list = (uint64_t *)(buf + (8u << 20));
		for (unsigned p = 0; p < 512; p++)
			list[p] = bus(buf + (16u << 20) + (size_t)(p + 1) * 4096);
		struct nvme_cmd cmd = {.opc = cases[k].opc, .nsid = 1, .prp1 = bus(buf + (16u << 20)),
				       .prp2 = cases[k].nlb * 512 > 8192 ? bus(list) : bus(buf + (16u << 20) + 4096),
				       .cdw10 = (uint32_t)cases[k].slba, .cdw11 = (uint32_t)(cases[k].slba >> 32),
				       .cdw12 = cases[k].nlb - 1};
		int r = raw_io(c, cmd, &st, NULL);
		fact_result(o, cases[k].what, r, st);
	}
	nvme_ctrl_close(c);
}

/* Blocks never written read as zeroes (both namespaces start as sparse files). */
static void sc_unwritten(const struct backend *b, struct outcome *o)
{
	struct nvme_ctrl *c = open_ctrl(b, 16, o);
	uint8_t *buf = b->t.buf;

	if (!c)
		return;
	uint64_t n = nvme_ctrl_info(c)->nblocks;
	memset(buf, 0xa5, 65536);
	int r = nvme_read(c, n - 128, 128, buf);
	unsigned nonzero = 0;
	for (unsigned k = 0; k < 65536; k++)
		nonzero += buf[k] != 0;
	fact(o, "read of 128 unwritten blocks: %d, %u non-zero bytes", r, nonzero);
	nvme_ctrl_close(c);
}

/* Get Log Page, section 5.14: the mandatory pages, and what is refused. */
static void sc_log_pages(struct nvme_ctrl *c, const struct backend *b, struct outcome *o)
{
	uint8_t *buf = b->t.buf;
	uint16_t st = 0;
	struct nvme_cmd glp = {.opc = 0x02, .nsid = 0xffffffffu, .prp1 = bus(buf)};

	memset(buf, 0xee, 4096);
	glp.cdw10 = 0x02 | 127u << 16; /* SMART / Health, 512 bytes */
	FACT_RESULT(o, "Get Log Page SMART", admin(c, glp, &st, NULL));
	note(o, "SMART: temperature %u K, spare %u%%", buf[1] | buf[2] << 8, buf[3]);
	glp.cdw10 = 0x01 | 15u << 16; /* Error Information, one entry */
	FACT_RESULT(o, "Get Log Page Error Information", admin(c, glp, &st, NULL));
	glp.cdw10 = 0x03 | 127u << 16;
	FACT_RESULT(o, "Get Log Page Firmware Slot", admin(c, glp, &st, NULL));
	glp.cdw10 = 0x02 | 127u << 16;
	glp.cdw12 = 2;
	FACT_RESULT(o, "Get Log Page offset 2", admin(c, glp, &st, NULL));
	glp.cdw12 = 4096;
	FACT_RESULT(o, "Get Log Page offset past the page", admin(c, glp, &st, NULL));
	glp.cdw12 = 0;
	glp.cdw10 = 0x02 | 0xffffu << 16;
	glp.cdw11 = 3; /* NUMD 3FFFFh: 1 MiB, over MDTS */
	FACT_RESULT(o, "Get Log Page of 1 MiB (over MDTS)", admin(c, glp, &st, NULL));
	glp.cdw11 = 0xffff; /* NUMD FFFFFFFFh: 16 GiB; QEMU's 32-bit length wraps to 0 */
	int r = admin(c, glp, &st, NULL);
	known(o, b, "Get Log Page of 16 GiB", r, st, "0/02h+DNR", "ok");
	glp.cdw11 = 0;
	glp.cdw10 = 0x7e | 127u << 16;
	r = admin(c, glp, &st, NULL);
	/* Section 5.14: an unknown log page is Invalid Log Page (SCT 1h, SC 09h). */
	known(o, b, "Get Log Page 7Eh", r, st, "1/09h+DNR", "0/02h+DNR");
}

/* Admin commands both should answer the same way (section 5). */
static void sc_admin_status(const struct backend *b, struct outcome *o)
{
	struct nvme_ctrl *c = open_ctrl(b, 16, o);
	uint8_t *buf = b->t.buf;
	uint16_t st = 0;
	uint32_t dw0;
	int r;

	if (!c)
		return;
	uint32_t nn = identify_nn(c, buf);
	struct nvme_cmd id = {.opc = 0x06, .prp1 = bus(buf)};
	id.cdw10 = 0x7f;
	FACT_RESULT(o, "Identify CNS 7Fh", admin(c, id, &st, NULL));
	id.cdw10 = 0;
	id.nsid = nn + 1;
	FACT_RESULT(o, "Identify namespace NN+1", admin(c, id, &st, NULL));
	id.nsid = 0xffffffffu;
	FACT_RESULT(o, "Identify namespace FFFFFFFFh", admin(c, id, &st, NULL));
	id.nsid = 0;
	FACT_RESULT(o, "Identify namespace 0", admin(c, id, &st, NULL));
	id.nsid = 0xfffffffeu;
	id.cdw10 = 2;
	FACT_RESULT(o, "CNS 02h from NSID FFFFFFFEh", admin(c, id, &st, NULL));
	id.nsid = 1;
	id.cdw10 = 3;
	memset(buf, 0xee, 4096);
	FACT_RESULT(o, "Identify CNS 03h (NS descriptors)", admin(c, id, &st, NULL));
	/* Which descriptors differs (docs/storage.md); that there is a well-formed one must not. */
	fact(o, "a descriptor: %s", descriptors(buf)[0] ? "yes" : "no");
	note(o, "descriptors (NIDT/NIDL):%s, a UUID: %s", descriptors(buf), find_descriptor(buf, 3, 16) ? "yes" : "no");
	id.nsid = nn + 1;
	FACT_RESULT(o, "Identify CNS 03h of NSID NN+1", admin(c, id, &st, NULL));
	FACT_RESULT(o, "unknown admin opcode 7Fh", admin(c, (struct nvme_cmd){.opc = 0x7f}, &st, NULL));
	FACT_RESULT(o, "Get Features FID 0", admin(c, (struct nvme_cmd){.opc = 0x0a, .cdw10 = 0}, &st, NULL));
	dw0 = 0xdead;
	r = admin(c, (struct nvme_cmd){.opc = 0x08, .cdw10 = 1 | 5u << 16}, &st, &dw0);
	fact_result(o, "Abort SQ 1", r, st);
	fact(o, "Abort DW0 bit 0 %u", dw0 & 1);
	r = admin(c, (struct nvme_cmd){.opc = 0x08, .cdw10 = 9}, &st, &dw0);
	fact_result(o, "Abort SQ 9 (none)", r, st);
	r = admin(c, (struct nvme_cmd){.opc = 0x06, .flags = 1, .cdw10 = 1, .prp1 = bus(buf)}, &st, NULL);
	fact_result(o, "Identify with FUSE 01b", r, st);
	sc_log_pages(c, b, o);
	nvme_ctrl_close(c);
}

/* Queue creation and deletion errors, sections 5.3-5.6: status and precedence. */
static void sc_queue_status(const struct backend *b, struct outcome *o)
{
	struct nvme_ctrl *c = open_ctrl(b, 16, o);
	uint8_t *spare = (uint8_t *)b->t.qmem + SPARE_OFF;
	uint64_t sp = bus(spare);
	uint16_t st = 0;

	if (!c)
		return;
	memset(spare, 0, 2 * 65536);
	struct {
		const char *what;
		uint8_t opc;
		uint64_t prp1;
		uint32_t cdw10, cdw11;
	} cases[] = {
		{"Create SQ 2 on CQ 5 (no such CQ)", 0x01, sp, 2 | 15 << 16, 1 | 5 << 16},
		{"Create SQ 2 on CQ 0", 0x01, sp, 2 | 15 << 16, 1},
		{"Create SQ 1 (exists) on CQ 1", 0x01, sp, 1 | 15 << 16, 1 | 1 << 16},
		{"Create SQ 1 (exists) on CQ 5 (no such CQ)", 0x01, sp, 1 | 15 << 16, 1 | 5 << 16},
		{"Create SQ 0", 0x01, sp, 0 | 15 << 16, 1 | 1 << 16},
		{"Create SQ 2 of 1 entry", 0x01, sp, 2, 1 | 1 << 16},
		{"Create SQ 2 over MQES", 0x01, sp, 2 | 0xffffu << 16, 1 | 1 << 16},
		{"Create SQ 2 misaligned", 0x01, sp + 64, 2 | 15 << 16, 1 | 1 << 16},
		{"Create SQ 2 not contiguous", 0x01, sp, 2 | 15 << 16, 0 | 1 << 16},
		{"Create CQ 0", 0x05, sp, 0 | 15 << 16, 1},
		{"Create CQ 1 (exists)", 0x05, sp, 1 | 15 << 16, 1},
		{"Create CQ 2 of 1 entry", 0x05, sp, 2, 1},
		{"Create CQ 2 over MQES", 0x05, sp, 2 | 0xffffu << 16, 1},
		{"Create CQ 2 misaligned", 0x05, sp + 64, 2 | 15 << 16, 1},
		{"Create CQ 2 not contiguous", 0x05, sp, 2 | 15 << 16, 0},
		{"Create CQ 2 with interrupt vector 3", 0x05, sp, 2 | 15 << 16, 1 | 3u << 16},
		{"Create CQ 2 over MQES and misaligned", 0x05, sp + 64, 2 | 0xffffu << 16, 1},
		{"Delete SQ 0", 0x00, 0, 0, 0},
		{"Delete SQ 9 (none)", 0x00, 0, 9, 0},
		{"Delete CQ 1 with SQ 1 on it", 0x04, 0, 1, 0},
	};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct nvme_cmd cmd = {.opc = cases[k].opc, .prp1 = cases[k].prp1, .cdw10 = cases[k].cdw10,
				       .cdw11 = cases[k].cdw11};
		int r = admin(c, cmd, &st, NULL);
		fact_result(o, cases[k].what, r, st);
	}
	/* Section 5.5 lists Invalid Queue Identifier for a CQ that does not exist; QEMU says CQ Invalid. */
	int r = admin(c, (struct nvme_cmd){.opc = 0x04, .cdw10 = 9}, &st, NULL);
	known(o, b, "Delete CQ 9 (none)", r, st, "1/01h+DNR", "1/00h+DNR");
	r = admin(c, (struct nvme_cmd){.opc = 0x04, .cdw10 = 0}, &st, NULL);
	known(o, b, "Delete CQ 0", r, st, "1/01h+DNR", "1/00h+DNR");
	/* And the driver's queues still work. */
	fact(o, "read afterwards %d", nvme_read(c, 0, 1, b->t.buf));
	nvme_ctrl_close(c);
}

/* I/O command statuses beyond the LBA range (section 6). */
static void sc_io_status(const struct backend *b, struct outcome *o)
{
	struct nvme_ctrl *c = open_ctrl(b, 16, o);
	uint8_t *buf = b->t.buf;
	uint16_t st = 0;

	if (!c)
		return;
	uint32_t nn = identify_nn(c, buf);
	struct nvme_cmd rd = {.opc = 0x02, .nsid = 1, .prp1 = bus(buf)};
	FACT_RESULT(o, "Read NSID 1", raw_io(c, rd, &st, NULL));
	rd.nsid = 0;
	FACT_RESULT(o, "Read NSID 0", raw_io(c, rd, &st, NULL));
	rd.nsid = nn + 1;
	FACT_RESULT(o, "Read NSID NN+1", raw_io(c, rd, &st, NULL));
	rd.nsid = 0xffffffffu;
	/* Section 6.1: the broadcast value names no namespace for Read (QEMU: Invalid Field). */
	int r = raw_io(c, rd, &st, NULL);
	known(o, b, "Read NSID FFFFFFFFh", r, st, "0/0bh+DNR", "0/02h+DNR");
	rd.opc = 0x7e;
	rd.nsid = 0;
	FACT_RESULT(o, "I/O opcode 7Eh NSID 0", raw_io(c, rd, &st, NULL));
	rd.nsid = 1;
	FACT_RESULT(o, "I/O opcode 7Eh", raw_io(c, rd, &st, NULL));
	rd.opc = 0x02;
	rd.flags = 1;
	FACT_RESULT(o, "Read with FUSE 01b", raw_io(c, rd, &st, NULL));
	rd.flags = 0;
	/* PRP2 of a two-page transfer must be page aligned (section 4.3). */
	rd.cdw12 = 15;
	rd.prp2 = bus(buf + 8192 + 512);
	FACT_RESULT(o, "Read 8 KiB, PRP2 with an offset", raw_io(c, rd, &st, NULL));
	/* A PRP list entry with an offset. */
	uint64_t *list = (uint64_t *)(buf + 65536);
	list[0] = bus(buf + 8192);
	list[1] = bus(buf + 12288 + 8);
	list[2] = bus(buf + 16384);
	rd.cdw12 = 31;
	rd.prp2 = bus(list);
	FACT_RESULT(o, "Read 16 KiB, a list entry with an offset", raw_io(c, rd, &st, NULL));
	/* PRP1 not dword aligned: section 4.3 requires bits 1:0 clear; QEMU takes it. */
	rd = (struct nvme_cmd){.opc = 0x02, .nsid = 1, .prp1 = bus(buf + 2)};
	r = raw_io(c, rd, &st, NULL);
	known(o, b, "Read, PRP1 not dword aligned", r, st, "0/13h+DNR", "ok");
	/* A tail doorbell beyond the queue (section 4.1: an invalid value) is ignored; I/O goes on. */
	rl_dev_write32(b->t.dev, doorbell(b->t.dev, 1, false), 4096);
	fact(o, "read after a bad doorbell %d", nvme_read(c, 0, 1, buf));
	fact(o, "read afterwards %d", nvme_read(c, 0, 1, buf));
	nvme_ctrl_close(c);
}

/*
 * Completion entries (section 4.6) of a hand-made queue pair: DW0, DW1,
 * SQ head, SQ ID, CID, phase, status; and a CQ of 4 entries that fills up
 * (section 4.1.1: full when tail + 1 = head), then drains as the head moves.
 */
static void sc_completions(const struct backend *b, struct outcome *o)
{
	struct nvme_ctrl *c = open_ctrl(b, 16, o);
	struct rl_dev *d = b->t.dev;
	uint8_t *area = (uint8_t *)b->t.qmem + SPARE_OFF;
	volatile uint32_t *cq = (volatile uint32_t *)area;
	struct nvme_cmd *sq = (struct nvme_cmd *)(area + 65536);
	enum { CQ_SIZE = 4, SQ_SIZE = 16, COUNT = 10 };
	uint16_t st = 0;

	if (!c)
		return;
	int r1 = admin(c, (struct nvme_cmd){.opc = 0x00, .cdw10 = 1}, &st, NULL);
	int r2 = admin(c, (struct nvme_cmd){.opc = 0x04, .cdw10 = 1}, &st, NULL);
	memset(area, 0, 2 * 65536); /* phase tags start at 0 */
	int r3 = admin(c, (struct nvme_cmd){.opc = 0x05, .prp1 = bus(area), .cdw10 = 1 | (CQ_SIZE - 1) << 16,
					    .cdw11 = 1}, &st, NULL);
	int r4 = admin(c, (struct nvme_cmd){.opc = 0x01, .prp1 = bus(sq), .cdw10 = 1 | (SQ_SIZE - 1) << 16,
					    .cdw11 = 1 | 1 << 16}, &st, NULL);
	fact(o, "queues: %d %d %d %d", r1, r2, r3, r4);
	for (unsigned k = 0; k < COUNT; k++) {
		/* Command 7 fails (LBA out of range): its status must show in its entry. */
		uint64_t lba = k == 7 ? ~0ull >> 1 : k;
		sq[k] = (struct nvme_cmd){.opc = 0x02, .cid = (uint16_t)(0x100 + k), .nsid = 1,
					  .cdw10 = (uint32_t)lba, .cdw11 = (uint32_t)(lba >> 32),
					  .prp1 = bus(b->t.buf + (size_t)k * 4096)};
	}
	rl_dev_write32(d, doorbell(d, 1, false), COUNT);
	unsigned head = 0, got = 0, seen[COUNT] = {0}, posted_full = 0;
	bool phase = true, fields_ok = true;
	struct timespec pause = {.tv_nsec = 50000000};
	time_t deadline = time(NULL) + 5;
	while (got < COUNT && time(NULL) < deadline) {
		uint32_t dw3 = __atomic_load_n(&cq[head * 4 + 3], __ATOMIC_ACQUIRE);
		if (((dw3 >> 16) & 1) != phase)
			continue;
		if (got == 0) {
			/* Give the device time to fill the queue before anything is consumed. */
			nanosleep(&pause, NULL);
			for (unsigned k = 0; k < CQ_SIZE; k++)
				posted_full += ((cq[k * 4 + 3] >> 16) & 1) == 1;
		}
		unsigned cid = (dw3 & 0xffff) - 0x100;
		uint32_t dw2 = cq[head * 4 + 2];
		uint16_t status = (uint16_t)(dw3 >> 17);
		bool ok = cid < COUNT && cq[head * 4] == 0 && cq[head * 4 + 1] == 0 && (dw2 >> 16) == 1 &&
			  (dw2 & 0xffff) <= COUNT && (dw2 & 0xffff) > cid;
		ok = ok && (cid == 7 ? NVME_SC(status) == 0x80 : status == 0);
		if (!ok && fields_ok) {
			fact(o, "entry %u: DW0 %#x DW1 %#x DW2 %#x DW3 %#x", got, cq[head * 4], cq[head * 4 + 1], dw2, dw3);
			fields_ok = false;
		}
		if (cid < COUNT)
			seen[cid]++;
		got++;
		if (++head == CQ_SIZE) {
			head = 0;
			phase = !phase;
		}
		rl_dev_write32(d, doorbell(d, 1, true), head);
	}
	unsigned once = 0;
	for (unsigned k = 0; k < COUNT; k++)
		once += seen[k] == 1;
	fact(o, "%u entries posted into a CQ of %d before the head moved", posted_full, CQ_SIZE);
	fact(o, "%u completions, %u CIDs exactly once, fields %s", got, once, fields_ok ? "right" : "wrong");
	/* A reset brings the driver's own queues back (two statements: the order matters). */
	int r5 = nvme_ctrl_reset(c);
	fact(o, "reset %d, read %d", r5, nvme_read(c, 0, 1, b->t.buf));
	nvme_ctrl_close(c);
}

/* Waits up to 2 s for (CSTS & mask) != 0 (want_set) or == 0; returns the last CSTS read. */
static uint32_t wait_csts(struct rl_dev *d, uint32_t mask, bool want_set)
{
	struct timespec pause = {.tv_nsec = 1000000};
	uint32_t csts = 0;

	for (int k = 0; k < 2000; k++) {
		csts = rl_dev_read32(d, 0x1c);
		if (((csts & mask) != 0) == want_set)
			break;
		nanosleep(&pause, NULL);
	}
	return csts;
}

/*
 * An enable the controller cannot honour (section 3.1.5: MPS above
 * CAP.MPSMAX; an admin SQ of one entry, AQA.ASQS 0): CSTS.CFS, then a
 * disable clears it and a good bring-up works.
 */
static void sc_bad_enable(const struct backend *b, struct outcome *o)
{
	struct rl_dev *d = b->t.dev;
	uint64_t base = bus((uint8_t *)b->t.qmem + SPARE_OFF);
	const struct {
		const char *what;
		uint32_t aqa, cc;
	} cases[] = {
		{"MPS 15", 31 | 31u << 16, 1 | 15u << 7 | 6u << 16 | 4u << 20},
		{"AQA.ASQS 0", 0 | 31u << 16, 1 | 6u << 16 | 4u << 20},
	};

	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		rl_dev_write32(d, 0x14, 0);
		uint32_t before = wait_csts(d, 1, false);
		rl_dev_write32(d, 0x24, cases[k].aqa);
		rl_dev_write64(d, 0x28, base);
		rl_dev_write64(d, 0x30, base + 4096);
		rl_dev_write32(d, 0x14, cases[k].cc);
		uint32_t failed = wait_csts(d, 2, true);
		note(o, "%s: CSTS %#x, CC %#x", cases[k].what, failed, rl_dev_read32(d, 0x14));
		fact(o, "%s: CSTS before %#x, CFS %u", cases[k].what, before, (failed >> 1) & 1);
		/* The model keeps RDY set with CFS until the host disables it: docs/storage.md says why. */
		known_text(o, b, "CSTS.RDY with CFS", failed & 1 ? "1" : "0", "1", "0");
		rl_dev_write32(d, 0x14, 0);
		fact(o, "after disable CSTS %#x", wait_csts(d, 3, false));
	}
	struct nvme_ctrl *c = open_ctrl(b, 16, o);
	if (c) {
		fact(o, "bring-up afterwards ok, read %d", nvme_read(c, 0, 1, b->t.buf));
		nvme_ctrl_close(c);
	}
}

/* What a block holds, in a word: zeroes, ones, the given pattern, or something else. */
static const char *block_kind(const uint8_t *p, const uint8_t *pattern, size_t len)
{
	bool zero = true, ones = true;

	if (!memcmp(p, pattern, len))
		return "unchanged";
	for (size_t k = 0; k < len; k++) {
		zero &= p[k] == 0;
		ones &= p[k] == 0xff;
	}
	return zero ? "zeroes" : ones ? "all ones" : "other data";
}

/*
 * DMA to and from an address in no region (for QEMU: no guest RAM there).
 * A real controller behind an IOMMU sees the transfer fail: Data Transfer
 * Error (section 4.6.1.2.1), which the model answers. QEMU 7.2 completes
 * these commands successfully (docs/storage.md).
 */
static void sc_outside_dma(const struct backend *b, struct outcome *o)
{
	struct nvme_ctrl *c = open_ctrl(b, 16, o);
	const uint64_t nowhere = 0x400000000000ull;
	uint8_t *buf = b->t.buf, *back = b->t.buf + 65536;
	uint16_t st = 0;

	if (!c)
		return;
	t_nvme_pattern(buf, 512, 5, 5);
	int r = nvme_write(c, 5, 1, buf);
	fact(o, "write block 5: %d", r);
	struct nvme_cmd rd = {.opc = 0x02, .nsid = 1, .prp1 = nowhere, .cdw10 = 5};
	r = raw_io(c, rd, &st, NULL);
	known(o, b, "Read into nowhere", r, st, "0/04h", "ok");
	rd.opc = 0x01;
	r = raw_io(c, rd, &st, NULL);
	known(o, b, "Write from nowhere", r, st, "0/04h", "ok");
	memset(back, 0xa5, 512);
	r = nvme_read(c, 5, 1, back);
	char kind[64];
	snprintf(kind, sizeof(kind), "%d, %s", r, block_kind(back, buf, 512));
	known_text(o, b, "block 5 afterwards", kind, "0, unchanged", "0, zeroes");
	struct nvme_cmd id = {.opc = 0x06, .cdw10 = 1, .prp1 = nowhere};
	r = admin(c, id, &st, NULL);
	known(o, b, "Identify into nowhere", r, st, "0/04h", "ok");
	fact(o, "read afterwards %d", nvme_read(c, 0, 1, buf));
	nvme_ctrl_close(c);
}

/* ---- running ---- */

struct scenario {
	const char *name;
	void (*run)(const struct backend *b, struct outcome *o);
	bool by_name_only;
};

static const struct scenario scenarios[] = {
	{"registers", sc_registers, false},
	{"identify", sc_identify, false},
	{"suite-identify", sc_suite_identify, false},
	{"queue-count", sc_queue_count, false},
	{"io-sizes", sc_io_sizes, false},
	{"offsets", sc_offsets, false},
	{"ring-wrap", sc_ring_wrap, false},
	{"deep-queue", sc_deep_queue, false},
	{"batch", sc_batch, false},
	{"flush", sc_flush, false},
	{"bad-requests", sc_bad_requests, false},
	{"lba-range", sc_lba_range, false},
	{"unwritten", sc_unwritten, false},
	{"admin-status", sc_admin_status, false},
	{"queue-status", sc_queue_status, false},
	{"io-status", sc_io_status, false},
	{"completions", sc_completions, false},
	{"bad-enable", sc_bad_enable, false},
	{"reset", sc_reset, false},
	{"outside-dma", sc_outside_dma, false},
};

static bool wanted(const struct scenario *s, int argc, char **argv)
{
	if (argc < 2)
		return !s->by_name_only;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], s->name))
			return true;
	return false;
}

/* Runs one scenario on both back ends: true when their facts agree. */
static bool run_scenario(const struct scenario *s, unsigned *documented, unsigned *nfacts)
{
	static struct outcome out[NBACKENDS];

	for (int k = 0; k < NBACKENDS; k++) {
		memset(&out[k], 0, sizeof(out[k]));
		fflush(stdout);
		s->run(&backends[k], &out[k]);
	}
	if (!rl_mpqemu_alive(qemu))
		fact(&out[QEMU], "QEMU died: %s", rl_mpqemu_error(qemu));
	if (!t_model_alive(&model))
		fact(&out[MODEL], "the model died");
	bool agree = !strcmp(out[MODEL].facts, out[QEMU].facts);
	for (int k = 0; k < NBACKENDS; k++) {
		printf("[%s] %-5s: %s\n", s->name, backends[k].name, out[k].facts);
		if (out[k].note[0])
			printf("[%s] %-5s  (may differ) %s\n", s->name, backends[k].name, out[k].note);
	}
	printf("[%s] %s\n", s->name, agree ? "agree" : "DISAGREE");
	*documented += out[MODEL].documented;
	*nfacts += out[MODEL].nfacts;
	return agree;
}

int main(int argc, char **argv)
{
	unsigned ran = 0, agreed = 0, documented = 0, nfacts = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	install_cleanup();
	need_qemu();
	start_model();
	start_qemu();
	for (size_t k = 0; k < sizeof(scenarios) / sizeof(scenarios[0]); k++) {
		if (!wanted(&scenarios[k], argc, argv))
			continue;
		ran++;
		agreed += run_scenario(&scenarios[k], &documented, &nfacts);
	}
	stop_all();
	if (ran == 0) {
		fprintf(stderr, "no such scenario\n");
		return 2;
	}
	if (agreed == ran)
		printf("%u scenarios agree (%u facts compared, %u documented differences met as documented)\n",
		       agreed, nfacts, documented);
	else
		printf("FAIL: %u of %u scenarios disagree\n", ran - agreed, ran);
	return agreed == ran ? 0 : 1;
}
