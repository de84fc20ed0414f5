// SPDX-License-Identifier: MIT
/*
 * The NVMe driver domain's device back ends (nvmedev.h): the project's
 * device model, whose file the launcher mapped, or a real controller bound
 * to vfio-pci, whose VFIO device descriptor the broker handed over (the
 * launcher names it in the environment). The broker has already mapped the
 * heap and the device memory into the device's IOMMU domain at the
 * addresses this process sees them, so IOVA = virtual address here too.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "model.h"
#include "nvmedev.h"
#include "redleaf/domain.h"

static void model_kick(struct rl_dev *d, uint32_t off)
{
	(void)off;
	rl_model_kick(d->priv);
}

/*
 * The device layer's view of the model file the launcher mapped: BAR0, then
 * the control page, whose header (written by the model before it said it
 * was ready) gives BAR0's length and which stores must wake the model.
 */
static int dev_from_model_file(struct rl_dev *dev)
{
	size_t len;
	uint8_t *file = rl_device_bar(&len);

	if (!file)
		return -ENODEV;
	if (len < 2 * RL_MODEL_CTL_SIZE || len % RL_MODEL_CTL_SIZE)
		return -EINVAL;
	struct rl_model_ctl *ctl = (struct rl_model_ctl *)(file + len - RL_MODEL_CTL_SIZE);
	if (atomic_load_explicit(&ctl->magic, memory_order_acquire) != RL_MODEL_MAGIC ||
	    ctl->version != RL_MODEL_VERSION || ctl->bar_len != len - RL_MODEL_CTL_SIZE)
		return -ENODEV;
	memset(dev, 0, sizeof(*dev));
	dev->bar = file;
	dev->bar_len = ctl->bar_len;
	dev->kick = model_kick;
	dev->kick_from = ctl->kick_from;
	dev->priv = ctl;
	return 0;
}

/* The device may reach the heap (callers' blocks) and device memory (queues, PRP lists); nothing else. */
static int dev_regions(struct rl_dev *dev, void **qmem, size_t *qlen)
{
	size_t heap_len, devmem_len;
	void *heap = rl_heap_range(&heap_len);
	void *devmem = rl_devmem(&devmem_len);
	int r;

	if (!devmem)
		return -ENOMEM;
	if ((r = rl_dev_add_region(dev, heap, heap_len)) || (r = rl_dev_add_region(dev, devmem, devmem_len)))
		return r;
	*qmem = devmem;
	*qlen = devmem_len;
	return 0;
}

/*
 * BAR0 through the descriptor when it cannot be mapped (a kernel that will
 * not map a BAR holding the MSI-X table): every register access is a
 * pread or pwrite, slow but correct.
 */
struct vfio_bar {
	int fd;
	uint64_t offset; /* BAR0's region in the descriptor */
};

static struct vfio_bar bar_io;

static uint32_t bar_read32(struct rl_dev *d, uint32_t off)
{
	const struct vfio_bar *b = d->priv;
	uint32_t v = UINT32_MAX; /* what a read of a vanished device returns */

	(void)!pread(b->fd, &v, sizeof(v), (off_t)(b->offset + off));
	return v;
}

static void bar_write32(struct rl_dev *d, uint32_t off, uint32_t val)
{
	const struct vfio_bar *b = d->priv;

	(void)!pwrite(b->fd, &val, sizeof(val), (off_t)(b->offset + off));
}

/* NVMe 1.4, 3.1: the 64-bit registers (CAP, ASQ, ACQ) may be reached as two dwords, low first. */
static uint64_t bar_read64(struct rl_dev *d, uint32_t off)
{
	return bar_read32(d, off) | (uint64_t)bar_read32(d, off + 4) << 32;
}

static void bar_write64(struct rl_dev *d, uint32_t off, uint64_t val)
{
	bar_write32(d, off, (uint32_t)val);
	bar_write32(d, off + 4, (uint32_t)(val >> 32));
}

static const struct rl_dev_ops bar_ops = {
	.read32 = bar_read32,
	.write32 = bar_write32,
	.read64 = bar_read64,
	.write64 = bar_write64,
};

/* The VFIO descriptor the launcher left open, or -1 when the device is not a VFIO one. */
static int vfio_fd(void)
{
	const char *s = getenv(RL_DEVICE_VFIO_ENV);
	char *end;

	if (!s || !*s)
		return -1;
	long fd = strtol(s, &end, 10);
	/* The seccomp group admits this one descriptor: any other would kill the domain. */
	return *end || fd != RL_FD_DEVICE ? -1 : (int)fd;
}

/* NVMe 1.4, 3.1: CAP (TO: bits 31:24, in 500 ms units), CC.EN, CSTS.RDY. */
#define REG_CAP 0x00
#define REG_CC 0x14
#define REG_CSTS 0x1c
#define CC_EN 0x1u
#define CSTS_RDY 0x1u

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/*
 * A controller that a dead driver left enabled still holds that driver's
 * queues, and resumes fetching from them as soon as bus mastering is on
 * again: disable it first (section 7.6.1: CC.EN to 0, then CSTS.RDY follows
 * within CAP.TO). Registers are reachable with bus mastering off. The
 * driver library disables it again at its bring-up; that one is then quick.
 */
static int disable_before_dma(struct rl_dev *dev)
{
	uint32_t cc = rl_dev_read32(dev, REG_CC), csts = rl_dev_read32(dev, REG_CSTS);
	uint64_t timeout = ((rl_dev_read64(dev, REG_CAP) >> 24) & 0xff) * 500, t0 = now_ms();
	struct timespec pause = { 0, 100000 };

	if (csts == UINT32_MAX)
		return -ENODEV; /* every bit set: the device does not answer */
	if (cc & CC_EN)
		rl_dev_write32(dev, REG_CC, cc & ~CC_EN);
	while (rl_dev_read32(dev, REG_CSTS) & CSTS_RDY) {
		if (now_ms() - t0 > (timeout ? timeout : 500))
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
	return 0;
}

/*
 * A controller behind vfio-pci: BAR0 and config space located through
 * VFIO_DEVICE_GET_REGION_INFO (linux/vfio.h), memory space turned on in the
 * command register (PCI 3.0, 6.2.2), BAR0 mapped, the controller disabled,
 * and only then bus mastering turned on: the broker turns it off when a
 * driver dies, so each driver start turns it on again.
 */
static int dev_from_vfio(struct rl_dev *dev, int fd)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info bar = { .argsz = sizeof(bar), .index = VFIO_PCI_BAR0_REGION_INDEX };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	uint16_t cmd;

	if (ioctl(fd, VFIO_DEVICE_GET_INFO, &info) < 0 || !(info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		rl_log("the VFIO device is not a PCI device");
		return -ENODEV;
	}
	if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &bar) < 0 || ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &cfg) < 0) {
		int err = errno;
		rl_log("cannot locate BAR0 and config space of the VFIO device: %s", strerror(err));
		return -err;
	}
	/* NVMe 1.4, 3.1: the registers and the first doorbells take 0x1008 bytes at least. */
	if (bar.size < 0x1008 || bar.size > UINT32_MAX || cfg.size < PCI_STD_HEADER_SIZEOF) {
		rl_log("BAR0 of the VFIO device (%llu bytes) cannot hold an NVMe controller's registers",
		       (unsigned long long)bar.size);
		return -ENODEV;
	}
	if (pread(fd, &cmd, sizeof(cmd), (off_t)(cfg.offset + PCI_COMMAND)) != sizeof(cmd)) {
		rl_log("cannot read the VFIO device's command register");
		return -EIO;
	}
	/* Memory space first: the registers must answer before anything else. */
	cmd |= PCI_COMMAND_MEMORY;
	if (pwrite(fd, &cmd, sizeof(cmd), (off_t)(cfg.offset + PCI_COMMAND)) != sizeof(cmd)) {
		rl_log("cannot turn on memory space of the VFIO device");
		return -EIO;
	}
	memset(dev, 0, sizeof(*dev));
	dev->bar_len = (size_t)bar.size;
	void *p = MAP_FAILED;
	if (bar.flags & VFIO_REGION_INFO_FLAG_MMAP)
		p = mmap(NULL, (size_t)bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)bar.offset);
	if (p != MAP_FAILED) {
		dev->bar = p;
	} else {
		rl_log("BAR0 cannot be mapped; reaching its registers through the descriptor (slow)");
		bar_io = (struct vfio_bar){ .fd = fd, .offset = bar.offset };
		dev->ops = &bar_ops;
		dev->priv = &bar_io;
	}
	int r = disable_before_dma(dev);
	if (r) {
		rl_log("the controller did not stop its old queues: %s", strerror(-r));
		return r;
	}
	cmd |= PCI_COMMAND_MASTER;
	if (pwrite(fd, &cmd, sizeof(cmd), (off_t)(cfg.offset + PCI_COMMAND)) != sizeof(cmd)) {
		rl_log("cannot turn on bus mastering of the VFIO device");
		return -EIO;
	}
	return 0;
}

int nvmedrv_dev_open(struct rl_dev *dev, void **qmem, size_t *qlen)
{
	size_t len;
	int fd, r;

	if (rl_device_bar(&len))
		r = dev_from_model_file(dev);
	else if ((fd = vfio_fd()) >= 0)
		r = dev_from_vfio(dev, fd);
	else
		r = -ENODEV;
	if (r) {
		rl_log("no NVMe device (manifest `device:`): neither a device model mapped nor a VFIO device");
		return r;
	}
	return dev_regions(dev, qmem, qlen);
}
