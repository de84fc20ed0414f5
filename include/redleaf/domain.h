/* SPDX-License-Identifier: MIT */
/*
 * The domain runtime: what a domain's own code and the IDL-generated stubs
 * and dispatchers call. It is linked into every domain binary; its main()
 * is the trusted launcher, which maps the heap, the read-only registry and
 * the domain's channel, drops privileges, installs the seccomp filter last
 * and only then calls rl_domain_main().
 */
#ifndef REDLEAF_DOMAIN_H
#define REDLEAF_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

#include "redleaf/types.h"

/* Each domain defines this; its return value becomes the exit status. */
int rl_domain_main(int argc, char **argv);

/* This domain's name and id, as the manifest gave them. */
const char *rl_domain_name(void);
unsigned rl_domain_id(void);

/* ---- capabilities ---- */

/*
 * Looks up an import of the manifest by its name. Returns the handle, or
 * RL_CAP_INVALID if the manifest gave this domain no import of that name.
 */
rl_cap rl_cap_lookup(const char *import_name);

/*
 * Waits until the domain behind cap runs (again): returns 0 at once if it
 * does, 0 when its restart policy has brought it back (look the import up
 * again: the old handle is stale), -EHOSTDOWN if it will not come back.
 */
int rl_cap_wait_alive(rl_cap cap);

/*
 * rl_cap_wait_alive() that gives up at deadline_ns (on rl_now_ns()'s
 * clock; 0 = never): -ETIMEDOUT then, with the domain still down.
 */
int rl_cap_wait_alive_until(rl_cap cap, uint64_t deadline_ns);

/* ---- calls ---- */

/*
 * Synchronous call: posts one CALL and waits for its completion, serving
 * incoming calls to this domain's exports meanwhile (so call-backs and
 * shadows cannot deadlock). nargs words of args are sent; on success the
 * result word is stored in *ret (when ret is not NULL).
 * Returns 0 or a negative errno (see rpc_result in types.h).
 */
rpc_result rl_call(rl_cap cap, uint16_t method, const uint64_t *args, unsigned nargs,
		   uint64_t *ret);

/* True when the last failed rl_call()'s status came from the broker rather than the callee. */
int rl_rpc_from_broker(void);

/*
 * Asynchronous calls for data paths: rl_call_submit() queues a call without
 * ringing the doorbell; rl_call_flush() publishes everything queued with one
 * doorbell; rl_call_poll() collects up to max completions (waiting for at
 * least one when wait is non-zero). Each completion carries the tag given at
 * submission. Returns the number queued/collected or a negative errno.
 */
struct rl_completion {
	uint64_t tag;
	int32_t status;
	uint64_t ret;
};
int rl_call_submit(rl_cap cap, uint16_t method, const uint64_t *args, unsigned nargs,
		   uint64_t tag);
int rl_call_flush(void);
int rl_call_poll(struct rl_completion *out, unsigned max, int wait);

/* ---- serving ---- */

/*
 * A callee dispatcher, as the IDL compiler generates one per interface:
 * unpacks args, calls ops->method(self, ...), packs the result word into
 * *ret. Returns the method's status; -ENOSYS for an unknown method.
 */
typedef int (*rl_dispatch_fn)(const void *ops, void *self, uint16_t method,
			      const uint64_t *args, uint64_t *ret);

/*
 * Registers the implementation of the export with the given interface id.
 * The manifest decides which interfaces a domain exports; registering one
 * it does not export returns -ENOENT.
 */
int rl_export(uint16_t iface_id, rl_dispatch_fn dispatch, const void *ops, void *self);

/* Serves incoming calls until the broker shuts the domain down. Does not return. */
void rl_serve(void) __attribute__((noreturn));

/* Serves whatever calls are waiting, without blocking. Returns how many were served. */
int rl_serve_pending(void);

/* Ends the domain with a panic: logged by the broker as a crash. */
void rl_panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Logs one line to the broker's log (stderr), prefixed with the domain name. */
void rl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the shared heap ---- */

/*
 * Allocates a heap object of at least size bytes for IDL type type_id (0 for
 * untyped). The fast path pops a slot from this domain's magazine; refills
 * go to the broker in batches. Returns 0 or -ENOMEM / -EMSGSIZE.
 */
int rl_rref_alloc(uint16_t type_id, size_t size, rl_rref *out);

/* Gives an owned object back; later use of r is rejected everywhere. */
void rl_rref_drop(rl_rref r);

/*
 * The object's address if this domain owns r right now (checked against the
 * read-only registry), else NULL. Use this before following any RRef found
 * inside a heap object: its bytes may have been written by another domain.
 */
void *rl_rref_get(rl_rref r);

/*
 * The object's address if r is lent to this domain by the call being served
 * right now (or owned by it), else NULL. Read-only by contract.
 */
const void *rl_rref_borrow(rl_rref r);

/* Usable bytes of the slot behind r (its size class), or 0 if r is not a valid handle. */
size_t rl_rref_capacity(rl_rref r);

/*
 * Where the shared heap lies (at the same address in every process, and in
 * a device model's: a driver registers it for DMA, so that an RRef's
 * address is its bus address). Returns its start; *size gets its length.
 */
void *rl_heap_range(size_t *size);

/* Heap objects this domain owns right now (magazines included). */
unsigned long rl_heap_owned(void);

/* Outstanding loans of r as the registry records them (0 for an invalid handle). */
unsigned rl_rref_borrows(rl_rref r);

/*
 * Asks the broker to audit the registry now. Returns 0 when every object has
 * exactly one owner and loan counts match the calls in flight, -EUCLEAN when
 * not (the broker logs the first violation).
 */
int rl_heap_audit(void);

/* ---- shadows (used by generated shadow dispatchers) ---- */

/*
 * A shadow wraps the domain behind one of its imports and exports the same
 * interface (generated <Iface>_export_shadow()). Every call goes through
 * rl_shadow_forward(): when the wrapped domain crashes, the shadow waits for
 * the broker to restart it (manifest restart policy), replays the calls the
 * IDL marks `init` that it recorded, and re-issues the failed call if the IDL
 * marks it `idempotent` -- so its clients see success.
 *
 * It keeps trying for as long as the restart policy does: a domain that dies
 * again during the replay or the re-issue is waited for again, however often,
 * and a call the broker refused before delivery (the domain was down) is sent
 * again whether idempotent or not. A client sees an error only when the
 * broker gives up on the domain (-EHOSTDOWN), when the shadow's deadline has
 * passed (-ETIMEDOUT), or when a call that is not idempotent reached the
 * domain and it died during it (-ECONNRESET: it may have run in part).
 */
struct rl_shadow;

/* A shadow of the domain behind import_name; NULL if there is no such import. */
struct rl_shadow *rl_shadow_new(const char *import_name);

/*
 * Exports a shadow of every interface the manifest lists for this domain:
 * table holds, by interface id (n entries), the generated shadow dispatcher
 * of each `shadow interface` (the IDL's rl_idl_shadow_dispatch). 0, or with
 * *iface set to the interface at fault: -ENOTSUP (not declared `shadow
 * interface`), -EPROTOTYPE (not the interface of the import it wraps);
 * -ENOENT when the manifest lists no export.
 */
int rl_shadow_export(struct rl_shadow *shadow, const rl_dispatch_fn *table, unsigned n, uint16_t *iface);

/*
 * Bounds how long one call may spend waiting out crashes of the wrapped
 * domain: after ms milliseconds from its arrival it fails with -ETIMEDOUT
 * (0, the default: no bound but the restart policy's).
 */
void rl_shadow_set_deadline(struct rl_shadow *shadow, uint64_t ms);

/* Crashes of the wrapped domain this shadow has hidden so far. */
unsigned long rl_shadow_recoveries(const struct rl_shadow *shadow);

/*
 * The domain's device memory (manifest `devmem:`): memory that survives the
 * domain's restarts, like a device's own RAM survives its driver. NULL (and
 * *size 0) when the manifest gives none.
 */
void *rl_devmem(size_t *size);

/*
 * The domain's device (manifest `device:`): the device model's shared file,
 * mapped before the domain's code runs. It holds BAR0 and, after it, the
 * model's control page (src/device/model.h: the page's header says where
 * BAR0 ends); a driver builds its struct rl_dev from it. The model process
 * outlives the domain's restarts, as a card outlives its driver. NULL (and
 * *size 0) when the manifest gives none.
 */
void *rl_device_bar(size_t *size);

/*
 * The io_uring the broker made for this domain (manifest `uring:`): its
 * descriptor, with its io_uring_params copied to params (len bytes at most;
 * pass a struct io_uring_params), ready for liburing's io_uring_queue_mmap().
 * The ring accepts reads, writes, fsync and no-ops on the manifest's files
 * only, named by index (IOSQE_FIXED_FILE), and registering buffers.
 * -ENODEV when the manifest gives none.
 */
int rl_uring_fd(void *params, size_t len);

/*
 * Forwards one call that a shadow received to the domain it wraps
 * (method_flags from the IDL tables decide whether it may be re-issued or
 * must be recorded for replay). Returns like rl_call().
 */
rpc_result rl_shadow_forward(void *shadow, uint16_t iface_id, uint16_t method,
			     const uint64_t *args, unsigned nargs, uint64_t *ret);

#endif /* REDLEAF_DOMAIN_H */
