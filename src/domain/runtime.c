// SPDX-License-Identifier: MIT
/*
 * The domain runtime: calls, serving, the heap fast path. Single-threaded
 * by design (one thread per domain process), so it keeps its state in one
 * private struct and takes no locks.
 *
 * A domain that waits for a completion keeps serving invocations meanwhile:
 * a callee may call back into its caller, and a shadow is both at once.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "channel.h"
#include "graph_copy.h"
#include "redleaf/domain.h"
#include "heap.h"
#include "registry.h"
#include "redleaf/idl.h"
#include "runtime.h"

#define SYNC_TAG (1ULL << 63)
#define MAG_MAX 64
#define MAG_REFILL 32
#define DONE_MAX 32
#define SERVE_NEST_MAX 16 /* below DONE_MAX: one pending completion per level */
#define STASH_MAX 2048
#define DEFER_MAX RL_RING_UNITS
#define REPLY_GROUP 8 /* replies held back at most, while invocations wait (serve_invoke) */
#define RX_RELEASE_GROUP 16 /* rx units consumed before they go back to the broker (rx_take) */

struct export {
	uint16_t iface;
	rl_dispatch_fn fn;
	const void *ops;
	void *self;
};

struct done {
	uint64_t tag;
	int32_t status;
	uint8_t flags;
	uint64_t ret;
};

static struct {
	struct rl_heap heap;
	struct rl_chan *chan;
	struct rl_bell *bell;
	struct rl_ring_prod tx;
	struct rl_ring_cons rx;
	uint16_t id;
	uint32_t spin_ns;
	bool spin_yield;
	char name[RL_NAME_MAX];
	struct export exports[RL_MAX_EXPORTS];
	uint64_t next_tag;
	int last_from_broker;
	/* Completions of synchronous calls that arrived while a nested wait ran. */
	struct done done[DONE_MAX];
	unsigned ndone;
	/* Completions of asynchronous calls not yet collected by rl_call_poll(). */
	struct rl_completion stash[STASH_MAX];
	unsigned stash_head, stash_tail;
	/* Invocations that arrived before their export was registered. */
	struct rl_msg defer[DEFER_MAX];
	unsigned ndefer;
	uint32_t mag[RL_NCLASSES][MAG_MAX];
	unsigned mag_n[RL_NCLASSES];
	uint64_t give_back[RL_GRANT_MAX];
	unsigned ngive_back;
	/*
	 * Set while a heap-service call (refill, give back) waits for the
	 * broker. The grant and give-back lists live in the control page, one
	 * of each, and the magazines are being changed: a call served in that
	 * wait could start a second heap-service call over the first. Its
	 * invocations wait in held (oldest first) and are served after it.
	 */
	bool in_heap_call;
	/*
	 * Calls being served, one inside the other's wait. Each level waits
	 * for a synchronous call of its own; past SERVE_NEST_MAX new
	 * invocations are held too, until the levels above return.
	 */
	unsigned serve_depth;
	struct rl_msg *held;
	uint32_t held_head, held_tail, held_size; /* size: 0 or a power of two */
} runtime;

struct rl_chan *__rl_channel(void)
{
	return runtime.chan;
}

const struct rl_heap_hdr *__rl_registry_hdr(void)
{
	return runtime.heap.hdr;
}

const char *rl_domain_name(void)
{
	return runtime.name;
}

unsigned rl_domain_id(void)
{
	return runtime.id;
}

void __rl_runtime_init(struct rl_chan *chan, struct rl_bell *bell, const struct rl_heap *heap)
{
	runtime.chan = chan;
	runtime.bell = bell;
	runtime.heap = *heap;
	runtime.id = chan->ctl.domain_id;
	runtime.spin_ns = chan->ctl.spin_ns;
	runtime.spin_yield = chan->ctl.spin_yield != 0;
	memcpy(runtime.name, chan->ctl.name, sizeof(runtime.name));
	runtime.name[sizeof(runtime.name) - 1] = 0;
	rl_ring_prod_init(&runtime.tx, &chan->tx);
	rl_ring_cons_init(&runtime.rx, &chan->rx);
}

void rl_log(const char *fmt, ...)
{
	char buf[512];
	int n = 0; /* the broker prefixes the line with this domain's name */
	va_list ap;

	va_start(ap, fmt);
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)!write(2, buf, (size_t)n);
}

static void tx_publish(void);

void rl_panic(const char *fmt, ...)
{
	char msg[RL_PANIC_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (runtime.chan)
		memcpy(runtime.chan->ctl.panic_msg, msg, sizeof(msg));
	if (runtime.tx.ring)
		tx_publish(); /* replies held for a group were made: let them count */
	rl_log("panic: %s", msg);
	syscall(SYS_exit_group, RL_PANIC_STATUS);
	__builtin_unreachable();
}

/* ---- rings ---- */

/* Called right after rl_ring_publish(), whose full fence already orders the tail store first. */
static void ring_bell(void)
{
	if (atomic_load_explicit(&runtime.heap.hdr->broker_sleeping, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&runtime.bell->word, 1, memory_order_release);
		/* All of them: only the proxy thread that drains this ring may find work. */
		rl_futex_wake(&runtime.bell->word, INT_MAX);
	}
}

static void tx_publish(void)
{
	if (rl_ring_unpublished(&runtime.tx)) {
		rl_ring_publish(&runtime.tx);
		ring_bell();
	}
}

/* tx_reserve() when the ring is full: publishes and yields while the broker catches up. */
static __attribute__((noinline, cold)) struct rl_msg *tx_reserve_wait(unsigned units)
{
	struct rl_msg *m;

	while (!(m = rl_ring_reserve(&runtime.tx, units))) {
		tx_publish();
		sched_yield();
	}
	return m;
}

/*
 * Room on tx for a message of units units. The wait is out of line, so
 * the callers' fast paths make no call and save no registers.
 */
static inline struct rl_msg *tx_reserve(unsigned units)
{
	struct rl_msg *m = rl_ring_reserve(&runtime.tx, units);

	return __builtin_expect(m != NULL, 1) ? m : tx_reserve_wait(units);
}

static void hold_invocation(const struct rl_msg *m)
{
	if (runtime.held_tail - runtime.held_head == runtime.held_size) {
		uint32_t nsize = runtime.held_size ? runtime.held_size * 2 : 64;
		struct rl_msg *q = malloc(sizeof(*q) * nsize);
		if (!q)
			rl_panic("out of memory holding %u invocations", runtime.held_size);
		for (uint32_t i = 0; i < runtime.held_tail - runtime.held_head; i++)
			q[i] = runtime.held[(runtime.held_head + i) & (runtime.held_size - 1)];
		runtime.held_tail -= runtime.held_head;
		runtime.held_head = 0;
		free(runtime.held);
		runtime.held = q;
		runtime.held_size = nsize;
	}
	runtime.held[runtime.held_tail++ & (runtime.held_size - 1)] = *m;
}

/* Takes one message into *out if there is one: held invocations first, then rx. */
static inline __attribute__((always_inline)) bool rx_take(struct rl_msg *out)
{
	if (runtime.held_head != runtime.held_tail && !runtime.in_heap_call && runtime.serve_depth < SERVE_NEST_MAX) {
		*out = runtime.held[runtime.held_head++ & (runtime.held_size - 1)];
		return true;
	}
	int n = rl_ring_take(&runtime.rx, out);
	if (n < 0)
		rl_panic("broker wrote an impossible rx index");
	if (!n) {
		rl_ring_release(&runtime.rx); /* before anyone waits: the broker may be waiting for room */
		tx_publish(); /* nothing left to serve: no reply waits for company */
		return false;
	}
	/*
	 * Slots go back in groups: the head's line moves to the broker's CPU
	 * whenever it checks for room, and a store per message would fetch it
	 * back each time.
	 */
	if (runtime.rx.head - runtime.rx.released >= RX_RELEASE_GROUP)
		rl_ring_release(&runtime.rx);
	return true;
}

/* Takes one message off rx into *out; spins up to spin_ns, then sleeps. */
static void rx_wait(struct rl_msg *out)
{
	uint64_t deadline = 0;
	unsigned spins = 0;

	for (;;) {
		if (rx_take(out))
			return;
		if ((spins++ & 63) == 0 && runtime.spin_ns != UINT32_MAX) { /* UINT32_MAX: poll, never sleep */
			uint64_t now = rl_now_ns();
			if (!deadline)
				deadline = now + runtime.spin_ns;
			else if (now >= deadline)
				break;
		}
		rl_spin_step(runtime.spin_yield);
	}
	for (;;) {
		struct rl_ring *r = &runtime.chan->rx;
		atomic_store_explicit(&r->consumer_sleeping, 1, memory_order_relaxed);
		atomic_thread_fence(memory_order_seq_cst);
		uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (t == runtime.rx.head)
			rl_futex_wait(&r->tail, t, NULL);
		atomic_store_explicit(&r->consumer_sleeping, 0, memory_order_relaxed);
		if (rx_take(out))
			return;
	}
}

static inline struct export *export_for(const struct rl_msg *m)
{
	if (m->cap >= RL_MAX_EXPORTS)
		return NULL;
	struct export *e = &runtime.exports[m->cap];
	return e->fn && e->iface == m->aux ? e : NULL;
}

/* Crash injection armed by the broker: panic at the chosen point of the Nth call. */
static void __attribute__((noinline)) inject_step(uint32_t point)
{
	struct rl_chan_ctl *c = &runtime.chan->ctl;
	uint32_t n = c->inject_countdown;

	if (!n || c->inject_point != point)
		return;
	c->inject_countdown = n - 1;
	if (n != 1)
		return;
	tx_publish(); /* "after replying" means the reply was sent */
	const char *where = point == RL_INJECT_BEFORE ? "before reading"
			    : point == RL_INJECT_AFTER ? "after replying to" : "during";
	uint32_t sig = c->inject_signal;
	if (sig && sig < 65) {
		rl_log("raising signal %u as injected (%s the call)", sig, where);
		syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), (int)sig);
	}
	rl_panic("crash injected from the CLI (%s the call)", where);
}

/*
 * Whether the broker armed a crash injection, read once per invocation: the
 * common case, nothing armed, costs one load and then a register test at
 * each of the three points.
 */
static inline bool inject_armed(void)
{
	return __builtin_expect(runtime.chan->ctl.inject_countdown != 0, 0);
}

static inline void maybe_inject(bool armed, uint32_t point)
{
	if (__builtin_expect(armed, 0))
		inject_step(point);
}

/* The next message rx_take() gives is an invocation already in our ring. */
static bool invoke_follows(void)
{
	if (runtime.held_head != runtime.held_tail || runtime.rx.head == runtime.rx.tail_cache)
		return false;
	return rl_ring_peek(&runtime.rx)->kind == RL_MSG_INVOKE; /* published: read like any entry */
}

static inline __attribute__((always_inline)) void serve_invoke(const struct rl_msg *in, bool armed)
{
	struct export *e = export_for(in);
	uint64_t ret = 0;
	int status;

	if (!e) {
		if (in->cap < RL_MAX_EXPORTS && runtime.ndefer < DEFER_MAX) {
			runtime.defer[runtime.ndefer++] = *in; /* served once rl_export() registers it */
			return;
		}
		status = -ENOSYS;
	} else {
		maybe_inject(armed, RL_INJECT_DURING);
		runtime.serve_depth++;
		status = e->fn(e->ops, e->self, in->method, in->arg, &ret);
		runtime.serve_depth--;
	}
	struct rl_msg *r = tx_reserve(1); /* short: the result is one word */
	r->kind = RL_MSG_REPLY;
	r->flags = 0;
	r->method = in->method;
	r->cap = 0;
	r->tag = in->tag;
	r->status = status;
	r->aux = 0;
	r->arg[0] = status ? 0 : ret;
	rl_ring_commit(&runtime.tx, 1);
	/*
	 * A reply goes out at once unless the very next message is another
	 * invocation already in our ring, which we serve next: then up to
	 * REPLY_GROUP replies go out with one store. Each publish moves the
	 * tail's line to the broker, which polls it; a stream of small calls
	 * costs the broker a quarter less per message this way. The price: a
	 * reply waits for the methods of the invocations queued behind it (at
	 * most REPLY_GROUP - 1), never for anything else -- every other path
	 * publishes first (rx_take finding nothing, wait_for and rl_call_poll
	 * returning, outgoing calls, injected crashes).
	 */
	if (rl_ring_unpublished(&runtime.tx) >= REPLY_GROUP || !invoke_follows())
		tx_publish();
	maybe_inject(armed, RL_INJECT_AFTER);
}

/* What the broker sent that is not an invocation. */
static void handle_other(const struct rl_msg *m)
{
	switch (m->kind) {
	case RL_MSG_COMPLETE:
	case RL_MSG_SYS_DONE:
		if (m->tag & SYNC_TAG) {
			if (runtime.ndone == DONE_MAX)
				rl_panic("too many nested synchronous calls");
			runtime.done[runtime.ndone++] = (struct done){ m->tag, m->status, m->flags, m->arg[0] };
		} else {
			if (runtime.stash_tail - runtime.stash_head == STASH_MAX)
				rl_panic("more than %d uncollected completions", STASH_MAX);
			runtime.stash[runtime.stash_tail++ % STASH_MAX] =
				(struct rl_completion){ m->tag, m->status, m->arg[0] };
		}
		break;
	default:
		rl_log("ignoring message of unknown kind %u from the broker", m->kind);
	}
}

/*
 * One message from the broker. Invocations, the serving loop's every
 * message, are tested for first; serve_invoke() is inlined twice, once
 * for an armed crash injection and once for none, so the common case
 * makes no injection test after the one flag load.
 */
static inline __attribute__((always_inline)) void handle_message(const struct rl_msg *m)
{
	if (__builtin_expect(m->kind != RL_MSG_INVOKE, 0))
		return handle_other(m);
	if (runtime.in_heap_call || runtime.serve_depth >= SERVE_NEST_MAX)
		return hold_invocation(m);
	if (__builtin_expect(inject_armed(), 0)) {
		maybe_inject(true, RL_INJECT_BEFORE);
		serve_invoke(m, true);
	} else {
		serve_invoke(m, false);
	}
}

static int take_done(uint64_t tag, struct done *out)
{
	for (unsigned i = 0; i < runtime.ndone; i++) {
		if (runtime.done[i].tag == tag) {
			*out = runtime.done[i];
			runtime.done[i] = runtime.done[--runtime.ndone];
			return 1;
		}
	}
	return 0;
}

static struct done wait_for(uint64_t tag)
{
	struct done d;
	struct rl_msg m;

	while (!take_done(tag, &d)) {
		rx_wait(&m);
		handle_message(&m);
	}
	tx_publish(); /* back to the caller's code: no reply stays held */
	return d;
}

/*
 * Inlined, with one store per argument word: it runs once per call a
 * domain makes. A call with at most one argument word goes short (one
 * ring unit), any other long (two).
 */
static void post_wait(uint8_t kind, uint32_t cap, uint16_t method, const uint64_t *args, unsigned nargs,
		      uint64_t tag);

static inline __attribute__((always_inline)) void post(uint8_t kind, uint32_t cap, uint16_t method,
						       const uint64_t *args, unsigned nargs, uint64_t tag)
{
	unsigned units = nargs > 1 ? 2 : 1;
	struct rl_msg *m = rl_ring_reserve(&runtime.tx, units);
	if (__builtin_expect(!m, 0)) /* the whole post out of line: nothing kept across a call here */
		return post_wait(kind, cap, method, args, nargs, tag);
	m->kind = kind;
	m->flags = units == 2 ? RL_MSG_F_LONG : 0;
	m->method = method;
	m->cap = cap;
	m->tag = tag;
	m->status = 0;
	m->aux = 0;
	static_assert(RL_MSG_ARGS == 5, "one store per argument word below");
	m->arg[0] = nargs > 0 ? args[0] : 0;
	if (units == 2) {
		m->arg[1] = args[1];
		m->arg[2] = nargs > 2 ? args[2] : 0;
		m->arg[3] = nargs > 3 ? args[3] : 0;
		m->arg[4] = nargs > 4 ? args[4] : 0;
	}
	rl_ring_commit(&runtime.tx, units);
}

/* post() when tx is full: waits for room, then posts. */
static __attribute__((noinline, cold)) void post_wait(uint8_t kind, uint32_t cap, uint16_t method,
						      const uint64_t *args, unsigned nargs, uint64_t tag)
{
	tx_reserve_wait(nargs > 1 ? 2 : 1);
	post(kind, cap, method, args, nargs, tag);
}

rpc_result rl_call(rl_cap cap, uint16_t method, const uint64_t *args, unsigned nargs, uint64_t *ret)
{
	if (nargs > RL_MSG_ARGS)
		return -EINVAL;
	uint64_t tag = SYNC_TAG | ++runtime.next_tag;
	post(RL_MSG_CALL, cap, method, args, nargs, tag);
	tx_publish();
	struct done d = wait_for(tag);
	runtime.last_from_broker = (d.flags & RL_MSG_F_BROKER) != 0;
	if (!d.status && ret)
		*ret = d.ret;
	return d.status;
}

int rl_rpc_from_broker(void)
{
	return runtime.last_from_broker;
}

int rl_call_submit(rl_cap cap, uint16_t method, const uint64_t *args, unsigned nargs, uint64_t tag)
{
	if (nargs > RL_MSG_ARGS || (tag & SYNC_TAG))
		return -EINVAL;
	post(RL_MSG_CALL, cap, method, args, nargs, tag);
	return 1;
}

int rl_call_flush(void)
{
	uint32_t n = rl_ring_unpublished(&runtime.tx);
	tx_publish();
	return (int)n;
}

int rl_call_poll(struct rl_completion *out, unsigned max, int wait)
{
	unsigned n = 0;
	struct rl_msg m;

	tx_publish();
	for (;;) {
		while (n < max && runtime.stash_head != runtime.stash_tail)
			out[n++] = runtime.stash[runtime.stash_head++ % STASH_MAX];
		if (n == max)
			break;
		/*
		 * The common case: completions for this caller at the head of rx,
		 * nothing stashed or held. They are read where the broker wrote
		 * them (three fields, no copy of the message) and their slots go
		 * back with one store.
		 */
		if (runtime.held_head == runtime.held_tail && runtime.stash_head == runtime.stash_tail) {
			int ready = rl_ring_ready(&runtime.rx);
			unsigned took = 0;
			if (ready < 0)
				rl_panic("broker wrote an impossible rx index");
			while (ready-- > 0 && n < max) {
				const struct rl_msg *c = rl_ring_peek(&runtime.rx);
				/* A completion is short; anything else (a pad, too) goes the long way. */
				if (c->kind != RL_MSG_COMPLETE || (c->flags & RL_MSG_F_LONG) ||
				    (c->tag & SYNC_TAG))
					break;
				out[n++] = (struct rl_completion){ c->tag, c->status, c->arg[0] };
				rl_ring_pop(&runtime.rx, 1);
				took++;
			}
			if (took) {
				rl_ring_release(&runtime.rx);
				continue;
			}
		}
		/* Anything else, in order: a completion behind it is stashed, then collected above. */
		if (rx_take(&m)) {
			handle_message(&m);
			continue;
		}
		if (n || !wait)
			break;
		rx_wait(&m);
		handle_message(&m);
	}
	tx_publish(); /* back to the caller's code: no reply stays held */
	return (int)n;
}

/* ---- serving ---- */

int rl_export(uint16_t iface_id, rl_dispatch_fn dispatch, const void *ops, void *self)
{
	const struct rl_chan_ctl *c = &runtime.chan->ctl;

	for (unsigned i = 0; i < c->nexports && i < RL_MAX_EXPORTS; i++) {
		if (c->export_iface[i] != iface_id || runtime.exports[i].fn)
			continue;
		runtime.exports[i] = (struct export){ iface_id, dispatch, ops, self };
		/* Serve whatever arrived for it before it was registered, in order. */
		unsigned keep = 0;
		for (unsigned k = 0; k < runtime.ndefer; k++) {
			struct rl_msg m = runtime.defer[k];
			if (m.cap == i)
				serve_invoke(&m, inject_armed());
			else
				runtime.defer[keep++] = m;
		}
		runtime.ndefer = keep;
		return 0;
	}
	return -ENOENT;
}

int rl_serve_pending(void)
{
	int served = 0;

	struct rl_msg m;

	while (rx_take(&m)) {
		handle_message(&m);
		served++;
	}
	return served;
}

void rl_serve(void)
{
	struct rl_msg m;

	for (;;) {
		rx_wait(&m);
		handle_message(&m);
	}
}

rl_cap rl_cap_lookup(const char *import_name)
{
	const struct rl_chan_ctl *c = &runtime.chan->ctl;

	for (unsigned i = 0; i < c->nimports && i < RL_MAX_IMPORTS; i++)
		if (!strncmp(c->imports[i].name, import_name, RL_NAME_MAX))
			return c->imports[i].cap;
	return RL_CAP_INVALID;
}

/* ---- heap ---- */

static int sys_call(uint16_t op, uint64_t a0, uint64_t a1)
{
	uint64_t args[2] = { a0, a1 };
	uint64_t tag = SYNC_TAG | ++runtime.next_tag;

	post(RL_MSG_SYS, 0, op, args, 2, tag);
	tx_publish();
	return wait_for(tag).status;
}

/* A heap-service call: nothing is served until the broker answers (see runtime.in_heap_call). */
static int heap_call(uint16_t op, uint64_t a0, uint64_t a1)
{
	runtime.in_heap_call = true;
	int r = sys_call(op, a0, a1);
	runtime.in_heap_call = false;
	return r;
}

static int owned_by_me(uint32_t slot)
{
	const struct rl_obj *o = &runtime.heap.objs[slot];
	return o->state == RL_OBJ_OWNED && o->owner == runtime.id;
}

static int refill(unsigned cls)
{
	int n = heap_call(RL_SYS_REFILL, cls, MAG_REFILL);
	if (n < 0)
		return n;
	for (int i = 0; i < n && i < RL_GRANT_MAX; i++) {
		uint32_t slot = runtime.chan->ctl.grant[i];
		/* Trust the registry, not the grant list: only slots really ours go in. */
		if (slot < runtime.heap.hdr->nslots && owned_by_me(slot) && runtime.heap.objs[slot].cls == cls &&
		    runtime.mag_n[cls] < MAG_MAX)
			runtime.mag[cls][runtime.mag_n[cls]++] = slot;
	}
	return runtime.mag_n[cls] ? 0 : -ENOMEM;
}

int rl_rref_alloc(uint16_t type_id, size_t size, rl_rref *out)
{
	int cls = rl_class_for(size);
	(void)type_id; /* the broker stamps the type when the object first crosses a boundary */

	if (cls < 0)
		return -EMSGSIZE;
	if (!runtime.mag_n[cls]) {
		int ret = refill((unsigned)cls);
		if (ret)
			return ret;
	}
	uint32_t slot = runtime.mag[cls][--runtime.mag_n[cls]];
	*out = (rl_rref){ slot, runtime.heap.objs[slot].gen };
	return 0;
}

static void give_back_flush(void)
{
	if (!runtime.ngive_back)
		return;
	memcpy(runtime.chan->ctl.give_back, runtime.give_back, runtime.ngive_back * sizeof(uint64_t));
	heap_call(RL_SYS_FREE, runtime.ngive_back, 0);
	runtime.ngive_back = 0;
}

void rl_rref_drop(rl_rref r)
{
	if (r.slot >= runtime.heap.hdr->nslots)
		return;
	const struct rl_obj *o = &runtime.heap.objs[r.slot];
	if (o->gen != r.gen || !owned_by_me(r.slot))
		return;
	/* Never seen by anyone else (untyped, never lent): reuse it locally. */
	if (!o->type_id && !o->borrows && runtime.mag_n[o->cls] < MAG_MAX) {
		runtime.mag[o->cls][runtime.mag_n[o->cls]++] = r.slot;
		return;
	}
	runtime.give_back[runtime.ngive_back++] = rl_rref_to_wire(r);
	if (runtime.ngive_back == RL_GRANT_MAX)
		give_back_flush();
}

void *rl_rref_get(rl_rref r)
{
	if (r.slot >= runtime.heap.hdr->nslots)
		return NULL;
	if (runtime.heap.objs[r.slot].gen != r.gen || !owned_by_me(r.slot))
		return NULL;
	return rl_heap_slot_ptr(&runtime.heap, r.slot);
}

const void *rl_rref_borrow(rl_rref r)
{
	if (r.slot >= runtime.heap.hdr->nslots)
		return NULL;
	const struct rl_obj *o = &runtime.heap.objs[r.slot];
	if (o->gen != r.gen || o->state == RL_OBJ_FREE)
		return NULL;
	if (!(o->owner == runtime.id && o->state == RL_OBJ_OWNED) && !o->borrows)
		return NULL;
	return rl_heap_slot_ptr(&runtime.heap, r.slot);
}

size_t rl_rref_capacity(rl_rref r)
{
	if (r.slot >= runtime.heap.hdr->nslots || runtime.heap.objs[r.slot].gen != r.gen)
		return 0;
	return rl_class_size(runtime.heap.objs[r.slot].cls);
}

unsigned long rl_heap_owned(void)
{
	unsigned long n = 0;

	for (uint32_t s = 0; s < runtime.heap.hdr->nslots; s++)
		n += owned_by_me(s);
	return n;
}

unsigned rl_rref_borrows(rl_rref r)
{
	if (r.slot >= runtime.heap.hdr->nslots || runtime.heap.objs[r.slot].gen != r.gen)
		return 0;
	return runtime.heap.objs[r.slot].borrows;
}

int rl_cap_wait_alive(rl_cap cap)
{
	return sys_call(RL_SYS_WAIT_ALIVE, cap, 0);
}

int rl_cap_wait_alive_until(rl_cap cap, uint64_t deadline_ns)
{
	return sys_call(RL_SYS_WAIT_ALIVE, cap, deadline_ns);
}

int rl_heap_audit(void)
{
	return sys_call(RL_SYS_AUDIT, 0, 0);
}

/* ---- device memory ---- */

static void *devmem;
static size_t devmem_size;

void __rl_runtime_devmem(void *mem, size_t size)
{
	devmem = mem;
	devmem_size = size;
}

void *rl_devmem(size_t *size)
{
	*size = devmem_size;
	return devmem;
}

void *rl_heap_range(size_t *size)
{
	*size = runtime.heap.size;
	return runtime.heap.base;
}

/* ---- the device (manifest `device:`), mapped by the launcher ---- */

static void *device_file;
static size_t device_size;

void __rl_runtime_device(void *file, size_t size)
{
	device_file = file;
	device_size = size;
}

void *rl_device_bar(size_t *size)
{
	*size = device_size;
	return device_file;
}

int rl_uring_fd(void *params, size_t len)
{
	const struct rl_chan_ctl *ctl = &runtime.chan->ctl;

	if (!ctl->has_uring)
		return -ENODEV;
	memcpy(params, ctl->uring_params, len < sizeof(ctl->uring_params) ? len : sizeof(ctl->uring_params));
	return RL_FD_URING;
}

/* ---- shadows ---- */

#define SHADOW_INIT_MAX 64

struct shadow_init {
	uint16_t method;
	unsigned nargs;
	uint64_t args[RL_MSG_ARGS];
};

struct rl_shadow {
	char import[RL_NAME_MAX];
	rl_cap target;
	unsigned long recoveries;
	struct shadow_init init[SHADOW_INIT_MAX];
	unsigned ninit;
	bool init_warned;
	rl_cap replayed_for; /* the target's handle for the incarnation whose init calls are done */
	uint64_t deadline_ns; /* per call, from its arrival (0 = none) */
	/*
	 * Copies of moved arguments, for re-issuing: one set per forward in
	 * progress, since a forward's wait serves nested calls into the shadow.
	 */
	unsigned depth, nlevels;
	struct graph_copy (*levels)[RL_MSG_ARGS];
};

struct rl_shadow *rl_shadow_new(const char *import_name)
{
	rl_cap c = rl_cap_lookup(import_name);
	if (c == RL_CAP_INVALID)
		return NULL;
	struct rl_shadow *sh = calloc(1, sizeof(*sh));
	if (!sh)
		return NULL;
	snprintf(sh->import, sizeof(sh->import), "%s", import_name);
	sh->target = c;
	sh->replayed_for = c; /* the first incarnation gets its init calls from the clients */
	return sh;
}

int rl_shadow_export(struct rl_shadow *sh, const rl_dispatch_fn *table, unsigned n, uint16_t *iface)
{
	const struct rl_chan_ctl *c = &runtime.chan->ctl;
	uint16_t wrapped = 0;

	for (unsigned i = 0; i < c->nimports && i < RL_MAX_IMPORTS; i++)
		if (!strncmp(c->imports[i].name, sh->import, RL_NAME_MAX))
			wrapped = c->imports[i].iface_id;
	if (!c->nexports)
		return -ENOENT;
	for (unsigned i = 0; i < c->nexports && i < RL_MAX_EXPORTS; i++) {
		uint16_t id = c->export_iface[i];
		*iface = id;
		if (id >= n || !table[id])
			return -ENOTSUP;
		if (id != wrapped)
			return -EPROTOTYPE;
		int r = rl_export(id, table[id], NULL, sh);
		if (r)
			return r;
	}
	return 0;
}

void rl_shadow_set_deadline(struct rl_shadow *sh, uint64_t ms)
{
	sh->deadline_ns = ms > UINT64_MAX / 1000000 ? 0 : ms * 1000000;
}

unsigned long rl_shadow_recoveries(const struct rl_shadow *sh)
{
	return sh->recoveries;
}

/* The call failed because the wrapped domain died or was restarted under us. */
static bool shadow_lost(int r)
{
	return (r == -ECONNRESET || r == -EHOSTDOWN || r == -ESTALE) && rl_rpc_from_broker();
}

/*
 * Waits until the broker runs the wrapped domain again, takes the fresh
 * capability and replays the recorded init calls; a death during the replay
 * is waited out the same way, however often it happens. 0; -EHOSTDOWN when
 * the domain is not coming back (restart policy never, or it gave up);
 * -ETIMEDOUT at deadline_ns (0 = none).
 */
static int shadow_recover(struct rl_shadow *sh, uint64_t deadline_ns)
{
	for (;;) {
		/* The broker refreshes the import at every restart: always ask with the newest handle. */
		sh->target = rl_cap_lookup(sh->import);
		int r = rl_cap_wait_alive_until(sh->target, deadline_ns);
		if (r == -EAGAIN) { /* the broker's table of waiters is full: ask again */
			sched_yield();
			continue;
		}
		if (r)
			return r;
		sh->target = rl_cap_lookup(sh->import);
		/* A nested forward may have recovered this incarnation already: replay init once. */
		if (sh->target == sh->replayed_for)
			return 0;
		bool replayed = true;
		for (unsigned i = 0; i < sh->ninit && replayed; i++) {
			r = rl_call(sh->target, sh->init[i].method, sh->init[i].args, sh->init[i].nargs, NULL);
			replayed = !shadow_lost(r);
		}
		if (replayed) {
			sh->replayed_for = sh->target;
			sh->recoveries++;
			return 0;
		}
		if (deadline_ns && rl_now_ns() >= deadline_ns)
			return -ETIMEDOUT;
	}
}

static void shadow_record_init(struct rl_shadow *sh, const struct rl_method_desc *md, uint16_t method,
			       const uint64_t *args, unsigned nargs)
{
	for (unsigned i = 0; i < md->nparams; i++) {
		uint8_t k = md->params[i].kind;
		if (k == RL_PARAM_RREF || k == RL_PARAM_RREF_BORROW) {
			if (!sh->init_warned)
				rl_log("shadow: init method %s carries an RRef; it cannot be replayed", md->name);
			sh->init_warned = true;
			return;
		}
	}
	if (sh->ninit == SHADOW_INIT_MAX) {
		if (!sh->init_warned)
			rl_log("shadow: more than %d init calls; later ones are not replayed", SHADOW_INIT_MAX);
		sh->init_warned = true;
		return;
	}
	struct shadow_init *in = &sh->init[sh->ninit++];
	in->method = method;
	in->nargs = nargs;
	memcpy(in->args, args, nargs * sizeof(uint64_t));
}

/* A call the shadow gives up on consumes what was moved to it, like any failed call. */
static void shadow_drop_moved(const struct rl_method_desc *md, const uint64_t *args, unsigned nargs)
{
	for (unsigned i = 0; i < md->nparams && i < nargs; i++)
		if (md->params[i].kind == RL_PARAM_RREF)
			rl_rref_drop(rl_rref_from_wire(args[i])); /* a no-op unless still ours */
}

/* The shadow's view of the heap for its copies of moved graphs. */
static const struct graph_heap shadow_heap = {
	.get = rl_rref_get,
	.capacity = rl_rref_capacity,
	.alloc = rl_rref_alloc,
	.drop = rl_rref_drop,
};

static rpc_result shadow_forward_at(struct rl_shadow *sh, unsigned lvl, uint16_t iface_id, uint16_t method,
				    const uint64_t *args, unsigned nargs, uint64_t *ret)
{
	uint64_t a[RL_MSG_ARGS] = { 0 };

	if (iface_id >= rl_idl_nifaces || method >= rl_idl_ifaces[iface_id].nmethods ||
	    nargs > RL_MSG_ARGS)
		return -ENOSYS;
	const struct rl_method_desc *md = &rl_idl_ifaces[iface_id].methods[method];
	bool reissue = md->flags & RL_METHOD_IDEMPOTENT;
	memcpy(a, args, nargs * sizeof(uint64_t));

	/*
	 * A moved argument dies with the domain it was moved to, and with it
	 * every object it carries: keep the whole graph to send again.
	 */
	for (unsigned i = 0; reissue && i < md->nparams && i < nargs; i++) {
		if (md->params[i].kind != RL_PARAM_RREF)
			continue;
		/* sh->levels may move while a nested forward grows it: index it afresh. */
		int err = graph_save(&shadow_heap, &sh->levels[lvl][i], rl_rref_from_wire(a[i]), md->params[i].id);
		if (err)
			return err;
	}

	uint64_t deadline = sh->deadline_ns ? rl_now_ns() + sh->deadline_ns : 0;
	for (;;) {
		rl_cap used = sh->target;
		int r = rl_call(used, method, a, nargs, ret);
		if (!shadow_lost(r)) {
			if (!r && (md->flags & RL_METHOD_INIT))
				shadow_record_init(sh, md, method, a, nargs);
			return r;
		}
		/*
		 * -ECONNRESET: it reached the domain, which died during it. The others
		 * (-EHOSTDOWN, -ESTALE): the broker refused it before delivery, so
		 * nothing ran and its moved arguments are still ours: it can go again
		 * even when it is not idempotent.
		 */
		bool delivered = r == -ECONNRESET;
		int rr = shadow_recover(sh, deadline);
		/*
		 * Still the incarnation the call went to: it never went away, so the
		 * refusal was about the call itself (a nested RRef that died with an
		 * earlier incarnation says -ESTALE too). Sending it again would loop.
		 */
		if (!rr && sh->target == used)
			rr = r;
		if (!rr && deadline && rl_now_ns() >= deadline)
			rr = -ETIMEDOUT;
		if (rr || (delivered && !reissue)) {
			shadow_drop_moved(md, a, nargs);
			return rr ? rr : r; /* not coming back (why), or not safe to send twice */
		}
		for (unsigned i = 0; reissue && i < md->nparams && i < nargs; i++) {
			if (md->params[i].kind != RL_PARAM_RREF)
				continue;
			rl_rref fresh;
			/* Still ours if the broker refused before moving it: then it is unchanged. */
			if (rl_rref_get(rl_rref_from_wire(a[i])))
				continue;
			if ((rr = graph_restore(&shadow_heap, &sh->levels[lvl][i], md->params[i].id, &fresh)))
				return rr;
			a[i] = rl_rref_to_wire(fresh);
		}
	}
}

rpc_result rl_shadow_forward(void *shadow, uint16_t iface_id, uint16_t method, const uint64_t *args,
			     unsigned nargs, uint64_t *ret)
{
	struct rl_shadow *sh = shadow;

	if (sh->depth == sh->nlevels) {
		unsigned n = sh->nlevels ? sh->nlevels * 2 : 4;
		struct graph_copy (*l)[RL_MSG_ARGS] = realloc(sh->levels, n * sizeof(*l));
		if (!l)
			return -ENOMEM;
		memset(l + sh->nlevels, 0, (n - sh->nlevels) * sizeof(*l));
		sh->levels = l;
		sh->nlevels = n;
	}
	unsigned lvl = sh->depth++;
	rpc_result r = shadow_forward_at(sh, lvl, iface_id, method, args, nargs, ret);
	sh->depth--;
	return r;
}
