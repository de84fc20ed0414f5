// SPDX-License-Identifier: MIT
/* The NVMe driver domain's device back ends (nvmedev.h). */
#include <errno.h>
#include <string.h>

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

int nvmedrv_dev_open(struct rl_dev *dev, void **qmem, size_t *qlen)
{
	int r = dev_from_model_file(dev);

	if (r) {
		rl_log("no NVMe device model mapped (manifest `device:`)");
		return r;
	}
	return dev_regions(dev, qmem, qlen);
}
