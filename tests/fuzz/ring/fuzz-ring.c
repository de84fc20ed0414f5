// SPDX-License-Identifier: MIT
/*
 * Ring message fuzz target. The broker validates every message a domain
 * writes into its tx ring, so one input here is a script of what hostile
 * domains do on the test bed (tests/broker/bed.h: the broker's real state
 * and call path, domains that are only channels): three domains, d1 and d2
 * exporting Test (idl/testpair.idl), capabilities granted both ways and to
 * d3, and heap objects owned by each up front. The script posts messages
 * (garbage, or built from real objects and capabilities so validation gets
 * past its first checks), plays callees that answer what they were
 * delivered (correctly or not), writes into objects, publishes impossible
 * ring tails and kills a domain. After every step it checks what a hostile
 * domain must never break:
 *  - the registry audit (rl_ownership_audit) is consistent;
 *  - an object changes hands only when its owner sent a message (or died)
 *    and only to a domain that was sent one;
 *  - an INVOKE names an export its receiver has, a method in range and a
 *    call in flight to it and the method, arguments and export its caller
 *    sent; its RRefs (whole graphs) are the receiver's and lent to nobody,
 *    its loans are lent, its capabilities are in the receiver's table, its
 *    scalars in range and unused argument words zero;
 *  - a COMPLETE or SYS_DONE answers a tag its receiver used, or is the
 *    broker's own error; a callee's answer comes from a REPLY the callee
 *    wrote, its result has the method's kind, an RRef result is the
 *    caller's, and no call completes twice;
 *  - nothing reaches a dead domain; nothing but INVOKE, COMPLETE and
 *    SYS_DONE reaches anyone.
 * Then the bed is destroyed (LSan checks for leaks under ASan).
 *
 * The script, one step after another until the input ends (a step cut
 * short reads zeros). A step starts with a byte H: op = H & 7, domain
 * d = ((H >> 3) & 3) % 3 + 1, x = H >> 5.
 *   0 CALL   [kind if x&4] method cap mask arg...   x&1: flip the long flag,
 *            x&2: reuse d's previous tag; one arg descriptor per mask bit 0-4
 *   1 REPLY  sel mode [bytes]  d answers its pending INVOKE sel (mod count):
 *            mode&7 tag: 0,6,7 its own (consumed), 1 one bit flipped (next
 *            byte), 2 another domain's INVOKE, 3 an older generation, 4 its
 *            own but kept pending (a duplicate later), 5 8 raw bytes;
 *            (mode>>3)&3 status: 0, -byte, 1+byte, raw int32;
 *            mode>>5 result: 0 correct (a fresh object for an RRef result),
 *            1 pool[byte], 2 raw u64, 3 stale handle of pool[byte], 4 null,
 *            5 its own arg0, 6 a fresh object of another domain, 7 1<<40.
 *            x&1: post it long.
 *   2 RAW    64 bytes written into d's tx ring as they are: one unit, or two
 *            when flagged long, with no pad before the ring's end
 *   3 SYS    method cap mask arg...  as CALL (x&1, x&2) with kind SYS;
 *            for RL_SYS_FREE, arg1..4 also go to give_back[0..3]
 *   4 WRITE  obj word value    d writes a word into pool[obj] (any domain may)
 *   5 BATCH  x+1 steps of the other ops posted with no proxy pass between
 *   6 DEATH  when x == 7, once per input: d dies as the event thread says
 *            (death_pending); otherwise an idle step
 *   7 TAIL   t  d publishes a tail: t < 0x80 skips (t & 7) + 1 units ahead
 *            (the broker reads stale units), else an impossible one
 *            (t & 0x40: behind, else more than a ring ahead), restored after.
 * An arg descriptor byte: 0x00-0x7f pool[b] (an object handle), 0x80-0xbf
 * the literal b & 0x3f, 0xc0-0xcf d's capability b & 15, 0xd0-0xdf a
 * special (see special_word()), 0xe0-0xff 8 raw bytes follow. A cap byte:
 * 0x00-0x7f d's capability b, else a special (see bad_cap()).
 * The pool: 10 objects per domain set up in order (payload, payload, node
 * list n1->n2->n3, vec<u32>, deque<node,8> holding a node, that node,
 * [u8;1024], an untyped 64 bytes), then objects callees make for their
 * results and slots RL_SYS_REFILL grants, in the order they appear.
 * Capabilities: d1 [d2], d2 [d1], d3 [d1, d2], then those received with
 * call_null. make-corpus.py writes the corpus.
 *
 * Usage: fuzz-ring DIR|FILE...   (exit 0 pass, 1 fail)
 * Each file is replayed whole, cut short and with seeded mutations.
 * Environment: FUZZ_RING_SAVE=path keeps the failing input;
 * FUZZ_RING_ROUNDS=n and FUZZ_RING_SEED=s run other and more mutations
 * (a longer hunt than CI's); FUZZ_RING_TRACE=1 prints every message sent
 * and delivered in the whole replays. Built with -DRL_LIBFUZZER, only
 * LLVMFuzzerTestOneInput() is compiled.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../broker/bed.h"
#include "../../../src/broker/caps.h"
#include "../../../src/broker/conts.h"
#include "../../../src/broker/ownership.h"
#include "../corpus.h"
#include "redleaf_idl.h"

#define NDOM 3
#define HEAP_BYTES (4ull << 20)
#define MAX_STEPS 256
#define POOL_MAX 128
#define CAPS_MAX 16
#define PENDING_MAX 32
#define TAGS_MAX 4096
#define PER_DOMAIN 10 /* objects set up for each domain */

enum op { OP_CALL, OP_REPLY, OP_RAW, OP_SYS, OP_WRITE, OP_BATCH, OP_DEATH, OP_TAIL };

struct tag_rec {
	uint64_t tag;
	uint16_t method;
	uint8_t kind;
	bool unique;      /* posted once, by a structured step: answered at most once */
	uint16_t answers; /* COMPLETE/SYS_DONE seen for it */
	rl_cap cap;       /* what the call was sent through, and with */
	uint64_t arg[RL_MSG_ARGS];
	bool invoked;     /* its INVOKE was delivered: to callee, tagged invoke_tag */
	uint8_t callee;
	uint64_t invoke_tag;
};

struct fuzz {
	struct t_bed bed;
	struct broker *b;
	const uint8_t *p, *end;
	unsigned step;

	uint64_t pool[POOL_MAX];
	unsigned npool;
	rl_cap caps[NDOM + 1][CAPS_MAX];
	unsigned ncaps[NDOM + 1];
	struct rl_msg pending[NDOM + 1][PENDING_MAX]; /* INVOKEs delivered, not answered */
	unsigned npending[NDOM + 1];
	struct tag_rec tags[NDOM + 1][TAGS_MAX];
	unsigned ntags[NDOM + 1];
	uint64_t replies[NDOM + 1][TAGS_MAX]; /* tags of every REPLY each domain wrote */
	unsigned nreplies[NDOM + 1];
	uint64_t seq[NDOM + 1], last_tag[NDOM + 1];
	bool replayed[NDOM + 1]; /* a skipped-ahead tail: the broker may read old units again */
	bool untracked[NDOM + 1]; /* more tags than the tables hold: answers to it go unchecked */
	unsigned deaths;

	/* This step. */
	bool posted[NDOM + 1], received[NDOM + 1], died[NDOM + 1];
	bool restore_tail[NDOM + 1];
	/* What the domains owned before the proxy passes: slots, and per slot its owner and generation. */
	uint32_t *owned, nowned;
	uint8_t *owner_before;
	uint32_t *gen_before;

	/* Dead domains: the broker's rx producer then; it must never move again. */
	bool buried[NDOM + 1];
	uint32_t dead_rx_tail[NDOM + 1], dead_backlog_tail[NDOM + 1];
};

static struct fuzz fz;
static const char *current;  /* the corpus file being replayed */
static char variant[64];     /* whole, cut at N, mutation K */
static const uint8_t *input; /* the bytes being replayed, saved on failure */
static size_t input_len;
static bool trace;           /* FUZZ_RING_TRACE: print what each whole replay sends and gets */

static void __attribute__((noreturn, format(printf, 1, 2))) broken(const char *fmt, ...)
{
	va_list ap;
	const char *save = getenv("FUZZ_RING_SAVE");

	fprintf(stderr, "FAIL: %s (%s): step %u: ", current ? current : "input", variant, fz.step);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (save && input) {
		FILE *f = fopen(save, "wb");
		if (f && fwrite(input, 1, input_len, f) == input_len)
			fprintf(stderr, "failing input (%zu bytes) saved to %s\n", input_len, save);
		if (f)
			fclose(f);
	}
#ifdef RL_LIBFUZZER
	abort();
#else
	exit(1);
#endif
}

/* ---- reading the script ---- */

static uint8_t byte(struct fuzz *f)
{
	return f->p < f->end ? *f->p++ : 0;
}

static uint64_t raw_word(struct fuzz *f, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)byte(f) << (8 * i);
	return v;
}

/* ---- the world the script names ---- */

static uint64_t handle_of(struct fuzz *f, uint32_t slot)
{
	return rl_rref_to_wire((rl_rref){ .slot = slot, .gen = f->b->heap.objs[slot].gen });
}

static void pool_add(struct fuzz *f, uint64_t h)
{
	for (unsigned i = 0; i < f->npool; i++)
		if (f->pool[i] == h)
			return;
	if (f->npool < POOL_MAX)
		f->pool[f->npool++] = h;
}

static uint64_t pool_at(struct fuzz *f, uint8_t i)
{
	return f->npool ? f->pool[i % f->npool] : 0;
}

static void cap_add(struct fuzz *f, unsigned d, rl_cap c)
{
	for (unsigned i = 0; i < f->ncaps[d]; i++)
		if (f->caps[d][i] == c)
			return;
	if (f->ncaps[d] < CAPS_MAX)
		f->caps[d][f->ncaps[d]++] = c;
}

static rl_cap cap_at(struct fuzz *f, unsigned d, unsigned i)
{
	return f->ncaps[d] ? f->caps[d][i % f->ncaps[d]] : RL_CAP_INVALID;
}

static unsigned other(unsigned d)
{
	return d % NDOM + 1;
}

/* A capability handle a domain should not be able to use. */
static rl_cap bad_cap(struct fuzz *f, unsigned d, uint8_t c)
{
	switch (c & 7) {
	case 0: return RL_CAP_INVALID;
	case 1: return 63 | 1u << 16;                      /* a slot never granted */
	case 2: return cap_at(f, d, 0) + (1u << 16);       /* a newer generation */
	case 3: return 0;                                  /* generation 0 */
	case 4: return cap_at(f, other(d), 0);             /* another domain's handle */
	case 5: return 40 | 1u << 16;
	case 6: return RL_MAX_CAPS | 1u << 16;             /* past the table */
	default: return (rl_cap)raw_word(f, 4);
	}
}

static uint64_t stale(struct fuzz *f, uint8_t i, int delta)
{
	rl_rref r = rl_rref_from_wire(pool_at(f, i));

	r.gen = (uint32_t)((int64_t)r.gen + delta);
	return rl_rref_to_wire(r);
}

static uint64_t special_word(struct fuzz *f, unsigned d, uint8_t k)
{
	switch (k & 15) {
	case 0: return rl_rref_to_wire(RL_RREF_NULL);
	case 1: return stale(f, byte(f), 1);                  /* a generation not reached yet */
	case 2: return stale(f, byte(f), -1);                 /* freed and reused */
	case 3: return rl_rref_to_wire((rl_rref){ f->b->heap.hdr->nslots, 1 }); /* past the registry */
	case 4: return UINT64_MAX;
	case 5: return 1ull << 40;
	case 6: return f->npool ? f->pool[f->npool - 1] : 0; /* the newest object */
	case 7: return cap_at(f, other(d), 0);
	case 8: return cap_at(f, d, 0) + (1u << 16);
	case 9: return 63 | 1u << 16;
	case 10: return RL_CAP_INVALID;
	case 11: return (uint32_t)pool_at(f, byte(f));       /* slot with generation 0 */
	default: return 0;
	}
}

static uint64_t arg_word(struct fuzz *f, unsigned d)
{
	uint8_t a = byte(f);

	if (a < 0x80)
		return pool_at(f, a);
	if (a < 0xc0)
		return a & 0x3f;
	if (a < 0xd0)
		return cap_at(f, d, a & 15);
	if (a < 0xe0)
		return special_word(f, d, a);
	return raw_word(f, 8);
}

static struct tag_rec *tag_find(struct fuzz *f, unsigned d, uint64_t tag)
{
	for (unsigned i = f->ntags[d]; i-- > 0;)
		if (f->tags[d][i].tag == tag)
			return &f->tags[d][i];
	return NULL;
}

/* Remembers a tag d used; structured steps' tags are unique and answered once. */
static void tag_record(struct fuzz *f, unsigned d, const struct rl_msg *m, bool unique)
{
	struct tag_rec *t = tag_find(f, d, m->tag);

	if (t) {
		t->unique = false;
		return;
	}
	if (f->ntags[d] == TAGS_MAX) {
		f->untracked[d] = true;
		return;
	}
	t = &f->tags[d][f->ntags[d]++];
	*t = (struct tag_rec){ .tag = m->tag, .kind = m->kind, .method = m->method, .unique = unique, .cap = m->cap };
	memcpy(t->arg, m->arg, sizeof(t->arg));
}

static bool replied(struct fuzz *f, unsigned d, uint64_t tag)
{
	for (unsigned i = 0; i < f->nreplies[d]; i++)
		if (f->replies[d][i] == tag)
			return true;
	return false;
}

/*
 * What d just wrote, as the broker may parse it: the message, and when it
 * is long, its second unit read as a message of its own (a pad flagged
 * long, a tail skipped into the middle), whose kind is arg[1]'s low byte
 * and tag arg[2]. Answers to any of these tags are answers to d.
 */
static void note_written(struct fuzz *f, unsigned d, const struct rl_msg *m, bool unique)
{
	struct rl_msg second = { .kind = (uint8_t)m->arg[1], .tag = m->arg[2] };

	f->posted[d] = true;
	tag_record(f, d, m, unique);
	if (m->kind == RL_MSG_REPLY) {
		if (f->nreplies[d] < TAGS_MAX)
			f->replies[d][f->nreplies[d]++] = m->tag;
		else
			f->untracked[d] = true;
	}
	if (m->flags & RL_MSG_F_LONG)
		note_written(f, d, &second, false);
}

/* Writes m into d's tx ring with the flags it has (a pad first where a long one would wrap). */
static void post(struct fuzz *f, unsigned d, struct rl_msg *m, bool unique)
{
	struct rl_msg sent = *m;

	if (trace)
		fprintf(stderr, "step %u: d%u -> kind %u flags %#x method %u cap %#x tag %#llx status %d arg %#llx %#llx\n",
			f->step, d, m->kind, m->flags, m->method, m->cap, (unsigned long long)m->tag, m->status,
			(unsigned long long)m->arg[0], (unsigned long long)m->arg[1]);
	if (!(m->flags & RL_MSG_F_LONG)) /* a short message's arg[1..4] stay behind */
		memset(&sent.arg[1], 0, sizeof(sent.arg) - sizeof(sent.arg[0]));
	if (rl_ring_write(&f->bed.side[d].tx, m))
		note_written(f, d, &sent, unique);
}

static bool is_dead(struct fuzz *f, unsigned d)
{
	return atomic_load(&f->b->dom[d].state) != DOM_RUNNING || atomic_load(&f->b->dom[d].death_pending);
}

static const struct rl_method_desc *test_method(unsigned method)
{
	const struct rl_iface_desc *t = &rl_idl_ifaces[RL_IFACE_Test];

	return method < t->nmethods ? &t->methods[method] : NULL;
}

/* A fresh object of d's, as its runtime would take from its magazine (a dead domain has none). */
static uint64_t alloc_for(struct fuzz *f, unsigned d, size_t size)
{
	if (atomic_load(&f->b->dom[d].state) != DOM_RUNNING)
		return rl_rref_to_wire(RL_RREF_NULL);
	uint64_t h = t_bed_alloc(&f->bed, d, size);

	if (h)
		pool_add(f, h);
	return h;
}

/* ---- setting up ---- */

static void *obj_ptr(struct fuzz *f, uint64_t h)
{
	return rl_heap_slot_ptr(&f->b->heap, rl_rref_from_wire(h).slot);
}

static void put_word(struct fuzz *f, uint64_t h, uint32_t off, uint64_t v)
{
	memcpy((uint8_t *)obj_ptr(f, h) + off, &v, sizeof(v));
}

static void setup_objects(struct fuzz *f, unsigned d)
{
	const struct rl_type_desc *node = &rl_idl_types[RL_TYPE_node];
	const struct rl_type_desc *deque = &rl_idl_types[RL_TYPE_deque_node_8];
	uint32_t next = node->rrefs[0].offset;
	uint64_t h[PER_DOMAIN];
	/* payload, payload, n1, n2, n3, vec<u32>, deque<node,8>, a node, [u8;1024], untyped */
	const uint32_t size[PER_DOMAIN] = { 64, 64, 16, 16, 16, 64, deque->size, 16, 1024, 64 };

	for (unsigned i = 0; i < PER_DOMAIN; i++) {
		h[i] = t_bed_alloc(&f->bed, d, size[i]);
		if (!h[i])
			broken("setup: heap full");
		/* Every byte not set below is a recognisable pattern: garbage handles where a header says more. */
		uint32_t bytes = rl_class_size(f->b->heap.objs[rl_rref_from_wire(h[i]).slot].cls);
		memset(obj_ptr(f, h[i]), (int)(0x10 * d + i), bytes);
		f->pool[f->npool++] = h[i];
	}
	/* The list n1 -> n2 -> n3. */
	for (unsigned i = 2; i <= 4; i++) {
		put_word(f, h[i], 0, i - 1);
		put_word(f, h[i], next, i < 4 ? h[i + 1] : rl_rref_to_wire(RL_RREF_NULL));
	}
	/* vec<u32> of 4. */
	put_word(f, h[5], 0, 4 | (uint64_t)4 << 32);
	/* deque<node,8>: head 0, tail 2; element 0 points at the node h[7], element 1 at nothing. */
	put_word(f, h[6], 0, (uint64_t)2 << 32);
	put_word(f, h[6], RL_CONTAINER_HDR + next, h[7]);
	put_word(f, h[6], RL_CONTAINER_HDR + deque->elem_size + next, rl_rref_to_wire(RL_RREF_NULL));
	put_word(f, h[7], 0, 4);
	put_word(f, h[7], next, rl_rref_to_wire(RL_RREF_NULL));
}

static void setup(struct fuzz *f)
{
	int err;

	memset(f, 0, sizeof(*f));
	if ((err = t_bed_create(&f->bed, NDOM, HEAP_BYTES)))
		broken("cannot create the bed: %s", strerror(-err));
	f->b = f->bed.b;
	t_bed_export(&f->bed, 1, RL_IFACE_Test);
	t_bed_export(&f->bed, 2, RL_IFACE_Test);
	cap_add(f, 1, t_bed_grant(&f->bed, 1, 2, RL_IFACE_Test));
	cap_add(f, 2, t_bed_grant(&f->bed, 2, 1, RL_IFACE_Test));
	cap_add(f, 3, t_bed_grant(&f->bed, 3, 1, RL_IFACE_Test));
	cap_add(f, 3, t_bed_grant(&f->bed, 3, 2, RL_IFACE_Test));
	for (unsigned d = 1; d <= NDOM; d++)
		setup_objects(f, d);
	size_t n = f->b->heap.hdr->nslots;
	f->owned = malloc(n * sizeof(*f->owned));
	f->owner_before = calloc(n, sizeof(*f->owner_before));
	f->gen_before = malloc(n * sizeof(*f->gen_before));
	if (!f->owned || !f->owner_before || !f->gen_before)
		broken("out of memory");
}

static void teardown(struct fuzz *f)
{
	free(f->owned);
	free(f->owner_before);
	free(f->gen_before);
	t_bed_destroy(&f->bed);
}

/* ---- the ops ---- */

static void op_call(struct fuzz *f, unsigned d, unsigned x, uint8_t kind)
{
	struct rl_msg m = { .kind = kind };
	uint8_t c, mask;

	m.method = byte(f);
	c = byte(f);
	m.cap = c < 0x80 ? cap_at(f, d, c) : bad_cap(f, d, c);
	mask = byte(f);
	for (unsigned i = 0; i < RL_MSG_ARGS; i++)
		if (mask & (1u << i))
			m.arg[i] = arg_word(f, d);
	bool unique = !(x & 2) || !f->last_tag[d];
	if (unique)
		f->last_tag[d] = (uint64_t)(0xa0 + d) << 56 | ++f->seq[d];
	m.tag = f->last_tag[d];
	if (m.arg[1] | m.arg[2] | m.arg[3] | m.arg[4])
		m.flags = RL_MSG_F_LONG;
	if (x & 1)
		m.flags ^= RL_MSG_F_LONG;
	if (kind == RL_MSG_SYS && m.method == RL_SYS_FREE)
		for (unsigned i = 0; i < RL_GRANT_MAX; i++)
			f->b->dom[d].chan->ctl.give_back[i] = i < 4 ? m.arg[1 + i] : 0;
	post(f, d, &m, unique);
}

/* The result a well-behaved callee returns for inv. */
static uint64_t correct_result(struct fuzz *f, unsigned d, const struct rl_msg *inv)
{
	const struct rl_method_desc *md = test_method(inv->method);

	if (!md)
		return 0;
	switch (md->result.kind) {
	case RL_PARAM_NONE:
		return 0;
	case RL_PARAM_RREF:
		return alloc_for(f, d, rl_idl_types[md->result.id].size);
	case RL_PARAM_CAP:
		return cap_at(f, d, 0);
	case RL_PARAM_U64:
	case RL_PARAM_I64:
		return inv->arg[0] + inv->arg[1];
	case RL_PARAM_I32:
		return (uint32_t)-(int32_t)inv->arg[0];
	default:
		return inv->arg[0] & 1;
	}
}

static void op_reply(struct fuzz *f, unsigned d, unsigned x)
{
	uint8_t sel = byte(f), mode = byte(f);
	struct rl_msg m = { .kind = RL_MSG_REPLY };
	struct rl_msg inv = { .tag = (uint64_t)1 << 32 | sel }; /* with nothing pending: a reply to nothing */
	unsigned n = f->npending[d], i = n ? sel % n : 0;
	bool consume = false;

	if (n)
		inv = f->pending[d][i];
	m.tag = inv.tag;
	switch (mode & 7) {
	case 1:
		m.tag ^= 1ull << (byte(f) % 64);
		break;
	case 2: {
		unsigned o = other(d);
		if (!f->npending[o])
			o = other(o);
		m.tag = f->npending[o] ? f->pending[o][0].tag : inv.tag + 1;
		break;
	}
	case 3:
		m.tag -= 1ull << 32;
		break;
	case 4:
		break;
	case 5:
		m.tag = raw_word(f, 8);
		break;
	default:
		consume = true;
	}
	switch ((mode >> 3) & 3) {
	case 1: m.status = -(int32_t)byte(f); break;
	case 2: m.status = 1 + byte(f); break;
	case 3: m.status = (int32_t)raw_word(f, 4); break;
	}
	switch (mode >> 5) {
	case 0: m.arg[0] = correct_result(f, d, &inv); break;
	case 1: m.arg[0] = pool_at(f, byte(f)); break;
	case 2: m.arg[0] = raw_word(f, 8); break;
	case 3: m.arg[0] = stale(f, byte(f), 1); break;
	case 4: m.arg[0] = rl_rref_to_wire(RL_RREF_NULL); break;
	case 5: m.arg[0] = inv.arg[0]; break;
	case 6: m.arg[0] = alloc_for(f, other(d), 64); break;
	default: m.arg[0] = 1ull << 40;
	}
	if (x & 1) {
		m.flags = RL_MSG_F_LONG;
		m.arg[1] = m.tag; /* a long reply's extra words mean nothing */
	}
	if (consume && n) {
		memmove(&f->pending[d][i], &f->pending[d][i + 1], (n - i - 1) * sizeof(inv));
		f->npending[d]--;
	}
	post(f, d, &m, false);
}

/* A hostile runtime's write: units as they come, a long message on the last unit wrapping to the first. */
static void op_raw(struct fuzz *f, unsigned d)
{
	struct rl_ring_prod *tx = &f->bed.side[d].tx;
	uint8_t raw[sizeof(struct rl_msg)];
	struct rl_msg m;
	unsigned units;

	for (unsigned i = 0; i < sizeof(raw); i++)
		raw[i] = byte(f);
	memcpy(&m, raw, sizeof(m));
	units = rl_msg_units(m.flags);
	if (rl_ring_room(tx, units) < units)
		return;
	memcpy(rl_ring_at(tx->ring, tx->tail), raw, RL_UNIT_BYTES);
	if (units == 2)
		memcpy(rl_ring_at(tx->ring, tx->tail + 1), raw + RL_UNIT_BYTES, RL_UNIT_BYTES);
	rl_ring_commit(tx, units);
	if (units == 1)
		memset(&m.arg[1], 0, sizeof(m.arg) - sizeof(m.arg[0]));
	note_written(f, d, &m, false);
}

static void op_write(struct fuzz *f, unsigned d)
{
	uint64_t h = pool_at(f, byte(f));
	uint8_t word = byte(f);
	uint64_t v = arg_word(f, d);
	rl_rref r = rl_rref_from_wire(h);

	if (!f->npool || r.slot >= f->b->heap.hdr->nslots)
		return;
	uint32_t words = rl_class_size(f->b->heap.objs[r.slot].cls) / 8;
	put_word(f, h, (word % words) * 8, v);
}

static void op_death(struct fuzz *f, unsigned d)
{
	if (f->deaths || is_dead(f, d))
		return;
	f->deaths++;
	f->died[d] = true;
	f->npending[d] = 0;
	atomic_store(&f->b->dom[d].death_pending, 1); /* what the event thread does; the next pass runs it */
}

static void op_tail(struct fuzz *f, unsigned d)
{
	struct rl_ring_prod *tx = &f->bed.side[d].tx;
	uint8_t t = byte(f);

	f->posted[d] = true;
	if (t < 0x80) {
		/* Units never written this lap, or written before: the broker must cope with either. */
		tx->tail += (t & 7) + 1;
		f->replayed[d] = true;
		return;
	}
	rl_ring_publish(tx);
	uint32_t bad = t & 0x40 ? tx->tail - 1 - (t & 0x3f) : tx->tail + RL_RING_UNITS + 1 + (t & 0x3f);
	atomic_store(&tx->ring->tail, bad);
	f->restore_tail[d] = true;
}

static void op(struct fuzz *f, uint8_t h, bool in_batch)
{
	unsigned d = ((h >> 3) & 3) % NDOM + 1, x = h >> 5;

	switch (h & 7) {
	case OP_CALL:
		op_call(f, d, x, x & 4 ? byte(f) : RL_MSG_CALL);
		break;
	case OP_REPLY:
		op_reply(f, d, x);
		break;
	case OP_RAW:
		op_raw(f, d);
		break;
	case OP_SYS:
		op_call(f, d, x & 3, RL_MSG_SYS);
		break;
	case OP_WRITE:
		op_write(f, d);
		break;
	case OP_BATCH:
		if (!in_batch)
			for (unsigned i = 0; i <= x && f->p < f->end; i++)
				op(f, byte(f), true);
		break;
	case OP_DEATH:
		if (x == 7)
			op_death(f, d);
		break;
	case OP_TAIL:
		op_tail(f, d);
		break;
	}
}

/* ---- the checks ---- */

/* Is the graph of type `type` rooted at wire handle h wholly owner's? NULL or what is wrong. */
static const char *graph_owned(struct fuzz *f, uint64_t h, uint16_t type, uint16_t owner)
{
	struct rl_heap *heap = &f->b->heap;
	uint32_t stack_slot[RL_MAX_GRAPH], seen[RL_MAX_GRAPH];
	uint16_t stack_type[RL_MAX_GRAPH];
	unsigned sp = 0, nseen = 0;
	int err;

	if (!rl_registry_resolve(heap, rl_rref_from_wire(h), &err))
		return "an RRef that names no live object";
	stack_slot[sp] = rl_rref_from_wire(h).slot;
	stack_type[sp++] = type;
	while (sp) {
		uint32_t slot = stack_slot[--sp];
		const struct rl_type_desc *t = &rl_idl_types[stack_type[sp]];
		const struct rl_obj *o = &heap->objs[slot];
		const uint8_t *base = rl_heap_slot_ptr(heap, slot);

		if (o->state != RL_OBJ_OWNED || o->owner != owner)
			return "an object the receiver does not own";
		if (o->borrows)
			return "an object moved while lent out";
		if (o->type_id != t->id)
			return "an object not stamped with its type";
		for (unsigned i = 0; i < nseen; i++)
			if (seen[i] == slot)
				return "an object reachable twice";
		if (nseen == RL_MAX_GRAPH)
			return "a graph over RL_MAX_GRAPH objects";
		seen[nseen++] = slot;
		uint64_t count = 1, first = 0, wrap = 0, at = 0, stride = 0;
		if (t->kind != RL_TYPE_PLAIN) {
			/* vec: len, capacity; deque: head, tail (idl.h); clamped as the broker does. */
			uint32_t hdr[2];
			uint64_t fits = t->elem_size ? (rl_class_size(o->cls) - RL_CONTAINER_HDR) / t->elem_size : 0;
			memcpy(hdr, base, sizeof(hdr));
			at = RL_CONTAINER_HDR;
			stride = t->elem_size;
			if (t->kind == RL_TYPE_VEC) {
				count = hdr[0] < fits ? hdr[0] : fits;
			} else {
				uint32_t live = hdr[1] - hdr[0];
				count = live < t->capacity ? live : t->capacity;
				first = hdr[0];
				wrap = t->capacity;
			}
		}
		for (uint64_t i = 0; i < count && t->n_rrefs; i++) {
			uint64_t e = wrap ? (first + i) % wrap : i;
			for (unsigned k = 0; k < t->n_rrefs; k++) {
				uint64_t w;
				memcpy(&w, base + at + e * stride + t->rrefs[k].offset, sizeof(w));
				if (rl_rref_is_null(rl_rref_from_wire(w)))
					continue;
				if (!rl_registry_resolve(heap, rl_rref_from_wire(w), &err))
					return "a nested RRef that names no live object";
				if (sp == RL_MAX_GRAPH)
					return "a graph over RL_MAX_GRAPH objects";
				stack_slot[sp] = rl_rref_from_wire(w).slot;
				stack_type[sp++] = t->rrefs[k].type_id;
			}
		}
	}
	return NULL;
}

/*
 * The INVOKE of a call the script made: the method and arguments the caller
 * sent (capabilities are the callee's own handles), through the export its
 * capability names. Remembered, so the completion can be traced to a reply.
 */
static void check_forwarded(struct fuzz *f, unsigned d, const struct rl_msg *m, const struct cont *c,
			    const struct rl_method_desc *md)
{
	struct tag_rec *t = tag_find(f, c->caller, c->caller_tag);

	if (!t || !t->unique || t->kind != RL_MSG_CALL)
		return;
	t->invoked = true;
	t->callee = (uint8_t)d;
	t->invoke_tag = m->tag;
	if (m->method != t->method)
		broken("d%u got method %u for d%u's call of method %u", d, m->method, c->caller, t->method);
	for (unsigned i = 0; i < md->nparams; i++)
		if (md->params[i].kind != RL_PARAM_CAP && m->arg[i] != t->arg[i])
			broken("d%u got %s() with argument %u %#llx, d%u sent %#llx", d, md->name, i,
			       (unsigned long long)m->arg[i], c->caller, (unsigned long long)t->arg[i]);
	const struct cap_entry *ce = rl_caps_lookup(&f->b->dom[c->caller], t->cap);
	if (ce && (ce->target != d || ce->export_index != m->cap))
		broken("d%u got d%u's call through a capability for export %u of d%u", d, c->caller,
		       ce->export_index, ce->target);
}

static void check_invoke(struct fuzz *f, unsigned d, const struct rl_msg *m)
{
	struct domain *dom = &f->b->dom[d];
	/* What d sent in this step may have moved what it was just given: judge only what it cannot have touched. */
	bool settled = !f->posted[d];
	uint32_t ci;

	if (m->cap >= dom->nexports || dom->exports[m->cap] != m->aux)
		broken("d%u got an INVOKE of export %u (interface %u) it does not have", d, m->cap, m->aux);
	if (!m->aux || m->aux >= rl_idl_nifaces || m->method >= rl_idl_ifaces[m->aux].nmethods)
		broken("d%u got an INVOKE of method %u of interface %u", d, m->method, m->aux);
	const struct rl_method_desc *md = &rl_idl_ifaces[m->aux].methods[m->method];
	struct cont *c = rl_conts_from_tag(f->b, m->tag, &ci);
	if (settled && (!c || c->callee != d))
		broken("d%u got an INVOKE tagged %#llx, which names no call in flight to it", d,
		       (unsigned long long)m->tag);
	if (c && c->callee == d && c->caller >= 1 && c->caller <= NDOM)
		check_forwarded(f, d, m, c, md);
	for (unsigned i = md->nparams; i < RL_MSG_ARGS; i++)
		if (m->arg[i])
			broken("d%u got %s() with argument word %u set past its %u parameters", d, md->name, i,
			       md->nparams);
	for (unsigned i = 0; i < md->nparams; i++) {
		const struct rl_param_desc *p = &md->params[i];
		uint64_t v = m->arg[i];
		const char *why;
		int err;

		switch (p->kind) {
		case RL_PARAM_RREF:
			if (settled && (why = graph_owned(f, v, p->id, (uint16_t)d)))
				broken("d%u got %s() with argument %u (%#llx) carrying %s", d, md->name, i,
				       (unsigned long long)v, why);
			break;
		case RL_PARAM_RREF_BORROW: {
			struct rl_obj *o = rl_registry_resolve(&f->b->heap, rl_rref_from_wire(v), &err);
			if (settled && (!o || !o->borrows))
				broken("d%u got %s() with loan %u (%#llx) that is not lent", d, md->name, i,
				       (unsigned long long)v);
			break;
		}
		case RL_PARAM_CAP: {
			struct cap_entry *ce = rl_caps_lookup(dom, (rl_cap)v);
			if (v > UINT32_MAX || !ce || ce->iface != p->id)
				broken("d%u got %s() with capability %#llx not in its table", d, md->name,
				       (unsigned long long)v);
			cap_add(f, d, (rl_cap)v);
			break;
		}
		default:
			if (rl_check_scalar(p->kind, v))
				broken("d%u got %s() with argument %u out of range: %#llx", d, md->name, i,
				       (unsigned long long)v);
		}
	}
	if (f->npending[d] == PENDING_MAX) { /* forget the oldest: it stays in flight */
		memmove(&f->pending[d][0], &f->pending[d][1], (PENDING_MAX - 1) * sizeof(*m));
		f->npending[d]--;
	}
	f->pending[d][f->npending[d]++] = *m;
}

static void check_answer(struct fuzz *f, unsigned d, const struct rl_msg *m)
{
	const char *what = m->kind == RL_MSG_COMPLETE ? "COMPLETE" : "SYS_DONE";
	struct tag_rec *t = tag_find(f, d, m->tag);

	if (t && ++t->answers > 1 && t->unique && !f->replayed[d])
		broken("d%u got a second %s for tag %#llx", d, what, (unsigned long long)m->tag);
	if (m->flags & RL_MSG_F_BROKER) {
		if (m->status >= 0)
			broken("d%u got a broker's %s with status %d", d, what, m->status);
		return;
	}
	if (!t && f->untracked[d])
		return;
	if (!t)
		broken("d%u got a %s (status %d) for tag %#llx, which it never used", d, what, m->status,
		       (unsigned long long)m->tag);
	if (m->kind == RL_MSG_SYS_DONE) {
		if (m->method == RL_SYS_AUDIT && m->status != 0)
			broken("d%u: the broker's audit answered %d", d, m->status);
		if (m->method == RL_SYS_REFILL && m->status > 0)
			for (int i = 0; i < m->status && i < RL_GRANT_MAX; i++) {
				uint32_t slot = f->b->dom[d].chan->ctl.grant[i];
				if (slot < f->b->heap.hdr->nslots)
					pool_add(f, handle_of(f, slot));
			}
		return;
	}
	if (m->status > 0 || m->status < -4095)
		broken("d%u got a callee's COMPLETE with status %d", d, m->status);
	if (t->unique && t->invoked && !f->replayed[d] && !f->untracked[t->callee] &&
	    !replied(f, t->callee, t->invoke_tag))
		broken("d%u got a COMPLETE for tag %#llx that its callee d%u never answered", d,
		       (unsigned long long)m->tag, t->callee);
	const struct rl_method_desc *md = t->kind == RL_MSG_CALL && t->unique ? test_method(t->method) : NULL;
	if (!md || m->status)
		return;
	switch (md->result.kind) {
	case RL_PARAM_NONE:
		if (m->arg[0])
			broken("d%u: %s() returns nothing, completed with %#llx", d, md->name,
			       (unsigned long long)m->arg[0]);
		break;
	case RL_PARAM_RREF: {
		const char *why;
		if (!f->posted[d] && (why = graph_owned(f, m->arg[0], md->result.id, (uint16_t)d)))
			broken("d%u: %s() returned %#llx carrying %s", d, md->name, (unsigned long long)m->arg[0], why);
		pool_add(f, m->arg[0]);
		break;
	}
	case RL_PARAM_CAP:
		if (!rl_caps_lookup(&f->b->dom[d], (rl_cap)m->arg[0]))
			broken("d%u: %s() returned capability %#llx not in its table", d, md->name,
			       (unsigned long long)m->arg[0]);
		cap_add(f, d, (rl_cap)m->arg[0]);
		break;
	default:
		if (rl_check_scalar(md->result.kind, m->arg[0]))
			broken("d%u: %s() completed with %#llx, out of its result's range", d, md->name,
			       (unsigned long long)m->arg[0]);
	}
}

static void check_deliveries(struct fuzz *f, unsigned d)
{
	struct domain *dom = &f->b->dom[d];
	struct rl_msg m;

	if (f->buried[d]) {
		if (dom->rx.tail != f->dead_rx_tail[d] || dom->backlog.tail != f->dead_backlog_tail[d] ||
		    t_bed_take(&f->bed, d, &m))
			broken("the broker delivered to dead d%u", d);
		return;
	}
	while (t_bed_take(&f->bed, d, &m)) {
		if (trace)
			fprintf(stderr, "step %u: d%u <- kind %u flags %#x method %u cap %u aux %u tag %#llx status %d arg %#llx %#llx\n",
				f->step, d, m.kind, m.flags, m.method, m.cap, m.aux, (unsigned long long)m.tag,
				m.status, (unsigned long long)m.arg[0], (unsigned long long)m.arg[1]);
		if (f->died[d])
			continue; /* delivered before its death was handled: it never reads them */
		f->received[d] = true;
		switch (m.kind) {
		case RL_MSG_INVOKE:
			check_invoke(f, d, &m);
			break;
		case RL_MSG_COMPLETE:
		case RL_MSG_SYS_DONE:
			check_answer(f, d, &m);
			break;
		default:
			broken("d%u got a message of kind %u", d, m.kind);
		}
	}
	if (atomic_load(&dom->state) == DOM_DEAD) {
		f->buried[d] = true;
		f->npending[d] = 0;
		f->dead_rx_tail[d] = dom->rx.tail;
		f->dead_backlog_tail[d] = dom->backlog.tail;
	}
}

/*
 * Before the proxy passes: what each domain owns, from the registry's owner
 * lists (the audit checks them against the slots every step).
 */
static void note_owners(struct fuzz *f)
{
	const struct rl_heap *h = &f->b->heap;

	f->nowned = 0;
	for (unsigned d = 1; d <= NDOM; d++)
		for (uint32_t s = h->own_head[d]; s != UINT32_MAX && f->nowned < h->hdr->nslots; s = h->own_next[s]) {
			f->owned[f->nowned++] = s;
			f->owner_before[s] = (uint8_t)d;
			f->gen_before[s] = h->objs[s].gen;
		}
}

/* Objects change hands only with messages: the old owner sent one (or died), the new one got one. */
static void check_moves(struct fuzz *f)
{
	const struct rl_heap *h = &f->b->heap;

	for (uint32_t i = 0; i < f->nowned; i++) {
		uint32_t s = f->owned[i];
		unsigned was = f->owner_before[s];
		const struct rl_obj *is = &h->objs[s];

		if (is->state == RL_OBJ_OWNED && is->owner == was && is->gen == f->gen_before[s])
			continue;
		if (!f->posted[was] && !f->died[was])
			broken("slot %u of d%u changed (now state %u, owner d%u) though d%u sent nothing", s, was,
			       is->state, is->owner, was);
	}
	for (unsigned d = 1; d <= NDOM; d++)
		for (uint32_t s = h->own_head[d], n = 0; s != UINT32_MAX && n < h->hdr->nslots; s = h->own_next[s], n++)
			if (f->owner_before[s] != d && !f->received[d] && !f->posted[d])
				broken("slot %u became d%u's though d%u was sent nothing", s, d, d);
	for (uint32_t i = 0; i < f->nowned; i++)
		f->owner_before[f->owned[i]] = 0;
}

static void run_step(struct fuzz *f)
{
	char why[256];

	memset(f->posted, 0, sizeof(f->posted));
	memset(f->received, 0, sizeof(f->received));
	memset(f->died, 0, sizeof(f->died));
	memset(f->restore_tail, 0, sizeof(f->restore_tail));
	op(f, byte(f), false);
	note_owners(f);
	if (trace && f->deaths && f->died[1] + f->died[2] + f->died[3])
		fprintf(stderr, "step %u: a death\n", f->step);
	t_bed_run(&f->bed);
	bool restored = false;
	for (unsigned d = 1; d <= NDOM; d++)
		if (f->restore_tail[d]) {
			atomic_store(&f->bed.side[d].tx.ring->tail, f->bed.side[d].tx.tail);
			restored = true;
		}
	if (restored)
		t_bed_run(&f->bed);
	why[0] = 0;
	if (rl_ownership_audit(f->b, why, sizeof(why)))
		broken("registry audit: %s", why);
	for (unsigned d = 1; d <= NDOM; d++)
		check_deliveries(f, d);
	check_moves(f);
}

static void replay(const uint8_t *data, size_t len)
{
	struct fuzz *f = &fz;

	input = data;
	input_len = len;
	setup(f);
	f->p = data;
	f->end = data + len;
	for (f->step = 0; f->p < f->end && f->step < MAX_STEPS; f->step++)
		run_step(f);
	teardown(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	snprintf(variant, sizeof(variant), "libFuzzer");
	replay(data, len);
	return 0;
}

#ifndef RL_LIBFUZZER

/* xorshift64: the same mutations on every run, so a failure reproduces. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	return t_corpus_rng(&rng_state);
}

/* Bytes that steer the script and the broker into their corners. */
static const uint8_t interesting[] = { 0x00, 0x01, 0x02, 0x03, 0x05, 0x07, 0x0d, 0x0e, 0x3f, 0x40,
				       0x7f, 0x80, 0xc0, 0xd0, 0xe0, 0xfe, 0xff };

/*
 * Mutations for a binary script: flip a bit, set an interesting byte,
 * delete a run, copy a run elsewhere (repeats steps), insert random bytes.
 */
static void mutate_and_replay(const uint8_t *data, size_t len, unsigned rounds)
{
	size_t cap = len * 2 + 64;
	uint8_t *buf = malloc(cap);

	if (!buf)
		broken("out of memory");
	for (unsigned round = 0; round < rounds; round++) {
		size_t n = len;

		memcpy(buf, data, len);
		for (unsigned edits = 1 + rng() % 4; edits > 0; edits--) {
			size_t at = n ? rng() % (n + 1) : 0, k = 1 + rng() % 16;

			switch (rng() % 5) {
			case 0:
				if (at < n)
					buf[at] ^= (uint8_t)(1u << (rng() % 8));
				break;
			case 1:
				if (at < n)
					buf[at] = interesting[rng() % sizeof(interesting)];
				break;
			case 2:
				if (at < n) {
					k = k > n - at ? n - at : k;
					memmove(buf + at, buf + at + k, n - at - k);
					n -= k;
				}
				break;
			case 3: { /* copy k bytes from elsewhere to at */
				size_t from = n ? rng() % n : 0;
				k = k > n - from ? n - from : k;
				if (n + k > cap)
					break;
				memmove(buf + at + k, buf + at, n - at);
				memmove(buf + at, buf + (from >= at ? from + k : from), k);
				n += k;
				break;
			}
			default:
				if (n + k > cap)
					break;
				memmove(buf + at + k, buf + at, n - at);
				for (size_t i = 0; i < k; i++)
					buf[at + i] = (uint8_t)rng();
				n += k;
			}
		}
		snprintf(variant, sizeof(variant), "mutation %u", round);
		replay(buf, n);
	}
	free(buf);
}

/*
 * A prefix cut at a step boundary replays steps the whole file replayed
 * already: a few cuts (mostly mid-step, ending in a zero-filled step) are
 * enough; the mutations find the new paths. Sized so the corpus replays in
 * well under 30 s under ASan, where every step's registry audit dominates.
 */
#define CUTS 8
#define ROUNDS 100

static unsigned rounds = ROUNDS; /* FUZZ_RING_ROUNDS: more for a longer hunt */
static uint64_t seed;            /* FUZZ_RING_SEED: other mutations */

static void replay_file(const char *path)
{
	size_t len;
	uint8_t *data = t_corpus_read(path, &len);

	if (!data) {
		fprintf(stderr, "FAIL: cannot read %s: %s\n", path, strerror(errno));
		exit(1);
	}
	current = path;
	snprintf(variant, sizeof(variant), "whole");
	trace = getenv("FUZZ_RING_TRACE") != NULL;
	replay(data, len);
	trace = false;
	for (size_t cut = 0; cut < len; cut += len / CUTS + 1) {
		snprintf(variant, sizeof(variant), "cut at %zu", cut);
		replay(data, cut);
	}
	rng_state = (0x9e3779b97f4a7c15ull ^ len) + seed;
	mutate_and_replay(data, len, rounds);
	free(data);
}

int main(int argc, char **argv)
{
	unsigned files = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 1;
	}
	if (getenv("FUZZ_RING_ROUNDS"))
		rounds = (unsigned)strtoul(getenv("FUZZ_RING_ROUNDS"), NULL, 0);
	if (getenv("FUZZ_RING_SEED"))
		seed = strtoull(getenv("FUZZ_RING_SEED"), NULL, 0) * 0x2545f4914f6cdd1dull;
	files = t_corpus_walk(argc - 1, argv + 1, replay_file);
	if (!files)
		return 1;
	printf("replayed %u corpus files\n", files);
	return 0;
}

#endif /* RL_LIBFUZZER */
