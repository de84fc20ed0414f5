// SPDX-License-Identifier: MIT
/*
 * What happens when a domain dies, on the proxy thread, once the proxy has
 * taken the replies it published before dying: every call in flight into
 * it completes at its caller with -ECONNRESET, calls it made are marked so
 * their replies are discarded (and returned objects freed), its
 * capabilities are revoked and its heap objects reclaimed -- lent-out ones
 * once their last loan ends. Later calls get -EHOSTDOWN. Then the restart
 * policy decides, and a restart re-wires every import from the domain.
 * Recovery calls only layers below it (delivery, capabilities,
 * continuations, spawning): never back into the call path.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#include "caps.h"
#include "conts.h"
#include "deliver.h"
#include "device.h"
#include "recovery.h"
#include "spawn.h"
#include "seccomp_policy.h"
#include "uring.h"

static void schedule_restart(struct broker *b, struct domain *d, uint64_t now);

void rl_describe_death(struct domain *d, int code, int status)
{
	d->exit_code = code;
	d->exit_status = status;
	if (d->kill_reason[0]) { /* the broker ended it, and says why */
		snprintf(d->cause, sizeof(d->cause), "killed by the broker: %s", d->kill_reason);
		return;
	}
	switch (code) {
	case CLD_EXITED:
		if (status == RL_PANIC_STATUS && d->chan->ctl.panic_msg[0]) {
			char msg[RL_PANIC_MAX];
			memcpy(msg, d->chan->ctl.panic_msg, sizeof(msg));
			msg[sizeof(msg) - 1] = 0;
			for (char *p = msg; *p; p++) /* the text is the domain's: keep it printable */
				if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
					*p = '?';
			snprintf(d->cause, sizeof(d->cause), "panic: %s", msg);
		} else {
			snprintf(d->cause, sizeof(d->cause), "exited with status %d", status);
		}
		break;
	case CLD_KILLED:
	case CLD_DUMPED:
		if (status == SIGSYS) {
			int nr = d->chan->ctl.violation;
			if (nr < 0) /* before its launcher's handler: the kernel does not say which */
				snprintf(d->cause, sizeof(d->cause),
					 "seccomp: refused a syscall before its launcher ran");
			else
				snprintf(d->cause, sizeof(d->cause), "seccomp: refused syscall %s (%d)",
					 rl_seccomp_syscall_name(nr), nr);
		} else {
			snprintf(d->cause, sizeof(d->cause), "killed by signal %s", sigabbrev_np(status)
				 ? sigabbrev_np(status) : "?");
		}
		break;
	default:
		snprintf(d->cause, sizeof(d->cause), "ended (code %d, status %d)", code, status);
	}
}

void rl_recovery_handle_death(struct broker *b, struct domain *d)
{
	unsigned failed = 0, orphaned = 0;
	char inflight[160] = "";
	size_t used = 0;

	atomic_store(&d->death_pending, 0);
	atomic_store(&d->state, DOM_DEAD);
	d->died_ns = rl_now_ns();
	d->awaiting_service = false;

	for (uint32_t i = 0; i < RL_MAX_CONTS; i++) {
		struct cont *c = &b->conts[i];
		if (!c->used)
			continue;
		if (c->callee == d->id) {
			if (failed < 3 && used < sizeof(inflight)) {
				const struct rl_iface_desc *in = &rl_idl_ifaces[c->iface];
				int n = snprintf(inflight + used, sizeof(inflight) - used, "%s%s.%s from %s",
						 failed ? ", " : " (", in->name, in->methods[c->method].name,
						 b->dom[c->caller].name);
				used += n > 0 ? (size_t)n : 0;
			}
			if (!c->caller_dead) {
				struct domain *caller = &b->dom[c->caller];
				rl_deliver_complete(b, caller, c->caller_tag, -ECONNRESET, 0, RL_MSG_F_BROKER);
				if (caller->outstanding)
					caller->outstanding--;
			}
			rl_conts_free(b, i);
			failed++;
		} else if (c->caller == d->id) {
			c->caller_dead = 1;
			orphaned++;
		}
	}
	free(d->backlog.q);
	memset(&d->backlog, 0, sizeof(d->backlog));
	rl_caps_revoke_all(d);
	d->outstanding = 0;
	bool device_stopped = rl_device_quiesce(b, d); /* its device's commands stop before its objects change hands */
	unsigned left;
	bool had_ring = d->ring;
	bool ring_drained = rl_uring_drain(d->ring, 5000, &left); /* so do its direct I/O transfers */
	d->ring = NULL;
	if (!ring_drained)
		rl_broker_log(b, "%s: %u direct I/O request(s) of its ring still running after 5 s; reclaiming anyway",
			      d->name, left);
	unsigned freed = rl_registry_reclaim(&b->heap, d->id);

	if (failed && used < sizeof(inflight))
		snprintf(inflight + used, sizeof(inflight) - used, "%s)", failed > 3 ? ", ..." : "");
	rl_broker_log(b, "%s: %s; %u call(s) in flight failed%s, %u outstanding call(s) abandoned, "
		      "%u heap object(s) reclaimed%s%s", d->name, d->cause, failed, inflight, orphaned, freed,
		      device_stopped ? " after its device stopped" : "",
		      had_ring && ring_drained ? " after its ring drained" : "");

	schedule_restart(b, d, d->died_ns);
	/* A waiter on a domain that is itself the one dying is dropped with it. */
	for (unsigned i = 1; i <= b->ndom; i++) {
		struct domain *t = &b->dom[i];
		unsigned keep = 0;
		for (unsigned k = 0; k < t->nwaiters; k++)
			if (t->waiters[k] != d->id) {
				t->waiters[keep] = t->waiters[k];
				t->waiter_deadline_ns[keep] = t->waiter_deadline_ns[k];
				t->waiter_tags[keep++] = t->waiter_tags[k];
			}
		t->nwaiters = keep;
	}

	if (b->until[d->id]) {
		int status = d->exit_code == CLD_EXITED ? d->exit_status : 128 + d->exit_status;
		b->until[d->id] = false;
		if (status && !b->exit_status)
			b->exit_status = status;
		if (!--b->until_left)
			rl_broker_request_stop(b);
	}
}

/* ---- restarts ---- */

/*
 * A quick death: within 1 s of a start and before serving a single call,
 * not injected from the CLI -- a domain failing to come up. A domain that
 * served, or whose crash was injected, is restarted at once, every time.
 */
#define QUICK_DEATH_NS 1000000000ull
#define BACKOFF_FIRST_NS 10000000ull   /* 10 ms, doubling */
#define BACKOFF_MAX_NS 5000000000ull   /* 5 s */
#define GIVE_UP_AFTER 8               /* consecutive quick deaths */
#define ALWAYS_GRACE 5                 /* `always` restarts at once this many quick deaths in a row */

static void fail_waiters(struct broker *b, struct domain *d, int status)
{
	for (unsigned i = 0; i < d->nwaiters; i++) {
		struct domain *w = &b->dom[d->waiters[i]];
		if (atomic_load(&w->state) == DOM_RUNNING)
			rl_deliver_sys_done(b, w, d->waiter_tags[i], status);
	}
	d->nwaiters = 0;
}

/* After a death: decide whether and when the policy restarts d. */
static void schedule_restart(struct broker *b, struct domain *d, uint64_t now)
{
	uint64_t uptime = now - d->started_ns;
	uint64_t delay = 0;

	if (d->m->restart == RL_RESTART_NEVER || atomic_load(&b->stop) || b->until[d->id]) {
		fail_waiters(b, d, -EHOSTDOWN);
		return;
	}
	bool own_failure = !atomic_load(&d->injected); /* crashes injected from the CLI do not count */
	d->quick_deaths = uptime < QUICK_DEATH_NS && !d->served && own_failure ? d->quick_deaths + 1 : 0;
	if (d->quick_deaths >= GIVE_UP_AFTER) {
		d->gave_up = true;
		rl_broker_log(b, "%s: died %u times in a row before serving; not restarting it again "
			      "('redleaf restart %s' tries once more)", d->name, d->quick_deaths, d->name);
		fail_waiters(b, d, -EHOSTDOWN);
		return;
	}
	unsigned backoffs = d->m->restart == RL_RESTART_BACKOFF ? d->quick_deaths
			    : d->quick_deaths > ALWAYS_GRACE ? d->quick_deaths - ALWAYS_GRACE : 0;
	if (backoffs) {
		delay = BACKOFF_FIRST_NS << (backoffs - 1 < 20 ? backoffs - 1 : 20);
		if (delay > BACKOFF_MAX_NS)
			delay = BACKOFF_MAX_NS;
		rl_broker_log(b, "%s: crash loop (%u quick deaths in a row): next restart in %llu ms",
			      d->name, d->quick_deaths, (unsigned long long)(delay / 1000000));
	}
	d->restart_at_ns = now + delay;
	b->restarts_pending++;
}

#define STANDBY_AFTER_NS 50000000ull     /* a successor's successor, if it never serves: 50 ms */
#define STANDBY_BACKOFF_NS 10000000ull   /* standbys dying in a row wait 10 ms, doubling ... */
#define STANDBY_BACKOFF_MAX_NS 5000000000ull /* ... up to 5 s */

void rl_recovery_schedule_standby(struct broker *b, struct domain *d, uint64_t at)
{
	if (d->standby_at_ns) {
		if (at < d->standby_at_ns)
			d->standby_at_ns = at;
		return;
	}
	d->standby_at_ns = at;
	b->restarts_pending++;
}

/* Spawns d's next standby and watches its pidfd (one shot, under its standby tag). */
static void prepare_standby(struct broker *b, struct domain *d)
{
	if (d->standby.pidfd >= 0)
		return;
	int ret = rl_spawn_standby(b, d);
	if (ret) {
		rl_broker_log(b, "%s: cannot prepare a standby: %s", d->name, strerror(-ret));
		return;
	}
	if (d->standbys_started == 1)
		rl_broker_log(b, "%s: standby ready, pid %d", d->name, d->standby.pid);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u32 = RL_EV_STANDBY | d->id };
	if (b->epoll_fd >= 0)
		epoll_ctl(b->epoll_fd, EPOLL_CTL_ADD, d->standby.pidfd, &ev);
}

/* d's standby's pidfd was readable: if it died, it is replaced (after a backoff when that repeats). */
static unsigned standby_event(struct broker *b, struct domain *d)
{
	siginfo_t si;

	if (!atomic_exchange(&d->standby_event, 0) || d->standby.pidfd < 0)
		return 0; /* activated meanwhile: its death is the domain's now */
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)d->standby.pidfd, &si, WEXITED | WNOHANG) < 0 || !si.si_pid) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u32 = RL_EV_STANDBY | d->id };
		epoll_ctl(b->epoll_fd, EPOLL_CTL_MOD, d->standby.pidfd, &ev);
		return 0;
	}
	int code = si.si_code, status = si.si_status;
	rl_spawn_reaped(&d->standby.status_fd, &code, &status);
	epoll_ctl(b->epoll_fd, EPOLL_CTL_DEL, d->standby.pidfd, NULL);
	uint64_t delay = STANDBY_BACKOFF_NS << (d->standby_deaths < 9 ? d->standby_deaths : 9);
	if (delay > STANDBY_BACKOFF_MAX_NS)
		delay = STANDBY_BACKOFF_MAX_NS;
	char why[256];
	if (rl_spawn_failure(d, &d->standby.start_pipe, why, sizeof(why)))
		rl_broker_log(b, "%s: its standby (pid %d) %s; another in %llu ms", d->name, d->standby.pid, why,
			      (unsigned long long)(delay / 1000000));
	else
		rl_broker_log(b, "%s: its standby (pid %d) %s %d before it was needed; another in %llu ms", d->name,
			      d->standby.pid, code == CLD_EXITED ? "exited with status" : "was killed by signal", status,
			      (unsigned long long)(delay / 1000000));
	rl_spawn_close_proc(&d->standby);
	d->standby_deaths++;
	rl_recovery_schedule_standby(b, d, rl_now_ns() + delay);
	return 1;
}

unsigned rl_recovery_standby_events(struct broker *b)
{
	unsigned work = 0;

	if (!atomic_exchange(&b->standby_events, 0))
		return 0;
	for (unsigned i = 1; i <= b->ndom; i++)
		work += standby_event(b, &b->dom[i]);
	return work;
}

int rl_recovery_restart(struct broker *b, struct domain *d)
{
	int ret;

	if (atomic_load(&d->state) == DOM_RUNNING)
		return -EBUSY;
	if (d->restart_at_ns) {
		d->restart_at_ns = 0;
		b->restarts_pending--;
	}
	d->incarnation++;
	d->chan->ctl.inject_countdown = 0;
	rl_caps_revoke_all(d); /* its own capabilities start afresh */
	rl_caps_wire(b, d, NULL);
	/* A warm standby is already running, confined and mapped: activating it is a futex wake. */
	bool warm = rl_spawn_activate(b, d) == 0;
	ret = warm ? 0 : rl_spawn_domain(b, d, false);
	if (ret) {
		rl_broker_log(b, "%s: restart failed: %s", d->name, strerror(-ret));
		atomic_store(&d->state, DOM_DEAD);
		d->started_ns = rl_now_ns();
		schedule_restart(b, d, d->started_ns);
		return ret;
	}
	if (b->epoll_fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = d->id };
		/* A standby's pidfd is in the set already, one shot under its standby tag. */
		epoll_ctl(b->epoll_fd, warm ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, d->pidfd, &ev);
		ev.data.u32 = RL_EV_OUTPUT | d->id;
		epoll_ctl(b->epoll_fd, EPOLL_CTL_ADD, d->out_fd, &ev);
	}
	/* Everyone importing from d gets a fresh handle; the old one now says -ESTALE. */
	for (unsigned i = 1; i <= b->ndom; i++)
		if (&b->dom[i] != d)
			rl_caps_wire(b, &b->dom[i], d);
	if (d->died_ns) { /* a first start (start: false in the manifest) is no restart */
		d->awaiting_service = true;
		atomic_fetch_add(&d->restarts, 1);
	}
	d->gave_up = false;
	rl_broker_log(b, "%s: %s%s, pid %d (incarnation %u)", d->name, d->died_ns ? "restarted" : "started",
		      warm ? " from its standby" : "", d->pid, d->incarnation);
	if (warm)
		d->standby_deaths = 0;
	/* The next standby once this one serves (rl_recovery_serving), or soon in any case. */
	if (d->m->standby)
		rl_recovery_schedule_standby(b, d, rl_now_ns() + STANDBY_AFTER_NS);
	for (unsigned i = 0; i < d->nwaiters; i++) {
		struct domain *w = &b->dom[d->waiters[i]];
		if (atomic_load(&w->state) == DOM_RUNNING)
			rl_deliver_sys_done(b, w, d->waiter_tags[i], 0);
	}
	d->nwaiters = 0;
	return 0;
}

/* One event at time `at` (0 = none): due now, or the nearest ahead. */
static void next_event(uint64_t at, uint64_t now, uint64_t *next, bool *due)
{
	if (!at)
		return;
	if (at <= now)
		*due = true;
	else if (at - now < *next)
		*next = at - now;
}

uint64_t rl_recovery_next(const struct broker *b, uint64_t now, bool *due)
{
	uint64_t next = UINT64_MAX;

	*due = false;
	for (unsigned i = 1; i <= b->ndom; i++) {
		const struct domain *d = &b->dom[i];
		next_event(d->restart_at_ns, now, &next, due);
		next_event(d->standby_at_ns, now, &next, due);
		/* Waiters exist only while d is to be restarted: this loop runs when they can. */
		for (unsigned k = 0; k < d->nwaiters; k++)
			next_event(d->waiter_deadline_ns[k], now, &next, due);
	}
	return next;
}

/* Completes, with -ETIMEDOUT, the waits on d whose deadline has passed. */
static void expire_waiters(struct broker *b, struct domain *d, uint64_t now)
{
	unsigned keep = 0;

	for (unsigned k = 0; k < d->nwaiters; k++) {
		uint64_t at = d->waiter_deadline_ns[k];
		if (at && at <= now) {
			struct domain *w = &b->dom[d->waiters[k]];
			if (atomic_load(&w->state) == DOM_RUNNING)
				rl_deliver_sys_done(b, w, d->waiter_tags[k], -ETIMEDOUT);
			continue;
		}
		d->waiters[keep] = d->waiters[k];
		d->waiter_tags[keep] = d->waiter_tags[k];
		d->waiter_deadline_ns[keep++] = at;
	}
	d->nwaiters = keep;
}

uint64_t rl_recovery_tick(struct broker *b, uint64_t now)
{
	bool due;

	for (unsigned i = 1; i <= b->ndom; i++) {
		struct domain *d = &b->dom[i];
		if (d->restart_at_ns && d->restart_at_ns <= now)
			rl_recovery_restart(b, d);
		if (d->standby_at_ns && d->standby_at_ns <= now) {
			d->standby_at_ns = 0;
			b->restarts_pending--;
			prepare_standby(b, d);
		}
		expire_waiters(b, d, now);
	}
	return rl_recovery_next(b, now, &due);
}

void rl_recovery_serving(struct broker *b, struct domain *d)
{
	if (d->standby_at_ns) /* it serves again: its next successor may be prepared now */
		d->standby_at_ns = rl_now_ns();
	uint64_t ns = rl_now_ns() - d->died_ns;
	uint32_t n = atomic_load(&d->nrecoveries);

	d->awaiting_service = false;
	d->recovery_ns[n % RL_RECOVERY_LOG] = ns;
	atomic_store(&d->last_recovery_ns, ns);
	atomic_store(&d->nrecoveries, n + 1);
}

void rl_recovery_wait_alive(struct broker *b, struct domain *waiter, uint64_t tag, struct domain *target,
			    uint64_t deadline_ns)
{
	if (atomic_load(&target->state) == DOM_RUNNING && !atomic_load(&target->death_pending)) {
		rl_deliver_sys_done(b, waiter, tag, 0);
		return;
	}
	bool restarting = target->restart_at_ns || atomic_load(&target->death_pending);
	if (!restarting || target->gave_up || target->m->restart == RL_RESTART_NEVER) {
		rl_deliver_sys_done(b, waiter, tag, -EHOSTDOWN);
		return;
	}
	if (target->nwaiters == RL_MAX_DOMAINS) {
		rl_deliver_sys_done(b, waiter, tag, -EAGAIN);
		return;
	}
	if (deadline_ns && deadline_ns <= rl_now_ns()) {
		rl_deliver_sys_done(b, waiter, tag, -ETIMEDOUT);
		return;
	}
	target->waiters[target->nwaiters] = waiter->id;
	target->waiter_deadline_ns[target->nwaiters] = deadline_ns;
	target->waiter_tags[target->nwaiters++] = tag;
}
