/* SPDX-License-Identifier: MIT */
/*
 * The device layer: how a driver reaches its device, the same on every back
 * end. A driver sees BAR0 through 32- and 64-bit register accessors and
 * gets DMA addresses for memory the device may reach. Only the back end
 * differs:
 *
 *   - vfio-pci and the project's device models: BAR0 is mapped memory
 *     (bar != NULL) and the accessors are plain volatile loads and stores
 *     with the barriers below. A model also sets kick(): it runs after every
 *     store at or past kick_from (the doorbells), so a model can sleep while
 *     idle and be woken by the driver.
 *   - QEMU's NVMe over its multi-process protocol: BAR0 is not memory
 *     (bar == NULL); every access is a message, through ops.
 *
 * DMA: every region the device may reach is mapped at the same address in
 * the driver and in the device's view (IOVA = virtual address): the shared
 * heap at its fixed address, and a driver's queue memory. rl_dev_dma()
 * checks that a buffer lies inside one registered region and returns its
 * bus address, or 0 when it does not.
 */
#ifndef RL_DEVICE_DEV_H
#define RL_DEVICE_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RL_DEV_MAX_REGIONS 8

struct rl_dev;

struct rl_dev_ops {
	uint32_t (*read32)(struct rl_dev *d, uint32_t off);
	void (*write32)(struct rl_dev *d, uint32_t off, uint32_t val);
	uint64_t (*read64)(struct rl_dev *d, uint32_t off);
	void (*write64)(struct rl_dev *d, uint32_t off, uint64_t val);
};

struct rl_dev_region {
	uintptr_t start; /* virtual address = bus address */
	size_t len;
};

struct rl_dev {
	volatile uint8_t *bar; /* BAR0 mapped, or NULL: use ops */
	size_t bar_len;
	const struct rl_dev_ops *ops;
	void (*kick)(struct rl_dev *d, uint32_t off); /* after stores at or past kick_from, or NULL */
	uint32_t kick_from;
	struct rl_dev_region regions[RL_DEV_MAX_REGIONS];
	unsigned nregions;
	void *priv; /* the back end's */
};

/* Device reads of memory the CPU wrote before a doorbell store: stores in order (x86: compiler barrier). */
#define rl_dev_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
/* CPU reads of memory the device wrote after seeing a completion's phase bit. */
#define rl_dev_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)

static inline uint32_t rl_dev_read32(struct rl_dev *d, uint32_t off)
{
	if (!d->bar)
		return d->ops->read32(d, off);
	uint32_t v = *(volatile uint32_t *)(d->bar + off);
	rl_dev_rmb();
	return v;
}

static inline void rl_dev_write32(struct rl_dev *d, uint32_t off, uint32_t val)
{
	if (!d->bar) {
		d->ops->write32(d, off, val);
		return;
	}
	rl_dev_wmb();
	*(volatile uint32_t *)(d->bar + off) = val;
	if (d->kick && off >= d->kick_from)
		d->kick(d, off);
}

static inline uint64_t rl_dev_read64(struct rl_dev *d, uint32_t off)
{
	if (!d->bar)
		return d->ops->read64(d, off);
	uint64_t v = *(volatile uint64_t *)(d->bar + off);
	rl_dev_rmb();
	return v;
}

static inline void rl_dev_write64(struct rl_dev *d, uint32_t off, uint64_t val)
{
	if (!d->bar) {
		d->ops->write64(d, off, val);
		return;
	}
	rl_dev_wmb();
	*(volatile uint64_t *)(d->bar + off) = val;
	if (d->kick && off >= d->kick_from)
		d->kick(d, off);
}

/*
 * Registers [p, p + len) as reachable by the device (the back end has mapped it).
 * Returns 0 (also when exactly this region is registered already), -EINVAL for an
 * empty or wrapping range, -EEXIST when it overlaps another region, -ENOSPC when
 * RL_DEV_MAX_REGIONS are registered.
 */
int rl_dev_add_region(struct rl_dev *d, void *p, size_t len);

/* Forgets the region that starts at p: 0, or -ENOENT. */
int rl_dev_remove_region(struct rl_dev *d, void *p);

/* The bus address of [p, p + len), or 0 when it is not inside one registered region. */
static inline uint64_t rl_dev_dma(const struct rl_dev *d, const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;
	for (unsigned i = 0; i < d->nregions; i++) {
		const struct rl_dev_region *r = &d->regions[i];
		if (a >= r->start && len <= r->len && a - r->start <= r->len - len)
			return (uint64_t)a;
	}
	return 0;
}

#endif
