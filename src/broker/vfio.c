// SPDX-License-Identifier: MIT
/*
 * The vfio-pci back end, broker side (vfio.h). For a domain whose manifest
 * entry says `device: {vfio: ADDRESS}`:
 *
 *   sysfs      /sys/bus/pci/devices/ADDRESS exists, has an iommu_group link
 *              and its driver link names vfio-pci ($REDLEAF_SYSFS replaces
 *              /sys, as for `redleaf dev`);
 *   container  /dev/vfio/vfio: VFIO_GET_API_VERSION, the type1 IOMMU;
 *   group      /dev/vfio/GROUP: viable (every device of the group bound to
 *              vfio-pci or to no driver), put into the container;
 *   IOMMU      type1 (v2 when the kernel has it); the shared heap mapped at
 *              IOVA RL_HEAP_BASE and the domain's device memory at
 *              RL_DEVMEM_DEVICE_ADDR, where the domain maps them, so an
 *              RRef's address is its bus address as with the models;
 *   device     VFIO_GROUP_GET_DEVICE_FD; its config region's offset is kept
 *              for stopping the device's DMA when the driver dies.
 *
 * One container per device: a driver's device reaches the heap and its own
 * device memory, never another driver's. The mappings stay for the life of
 * the system (the pages are pinned), as the models do: a driver's restart
 * does not touch them. linux/vfio.h has the ioctls and structures
 * (Documentation/driver-api/vfio.rst describes the sequence).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfio.h"

struct vfio_dev {
	int container; /* -1 when unused */
	int group;
	int device;
	uint64_t config_offset; /* the config region's offset in the device descriptor */
	void *devmem;           /* the domain's device memory, mapped for VFIO_IOMMU_MAP_DMA */
	size_t devmem_len;
};

static struct vfio_dev devs[RL_MAX_DOMAINS + 1];
static bool devs_init;

static void devs_reset(void)
{
	if (devs_init)
		return;
	for (unsigned i = 0; i <= RL_MAX_DOMAINS; i++)
		devs[i] = (struct vfio_dev){ .container = -1, .group = -1, .device = -1 };
	devs_init = true;
}

static const char *sysfs(void)
{
	const char *s = getenv("REDLEAF_SYSFS");
	return s && *s ? s : "/sys";
}

/* The last component of the link dir/name into out; false when there is no such link. */
static bool link_name(const char *dir, const char *name, char *out, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = 0;
	const char *slash = strrchr(target, '/'), *base = slash ? slash + 1 : target;
	size_t m = strlen(base) < len - 1 ? strlen(base) : len - 1; /* sysfs names are short */
	memcpy(out, base, m);
	out[m] = 0;
	return true;
}

#define say(d, fmt, ...)                                                                              \
	fprintf(stderr, "redleaf: domain '%s': device vfio %s: " fmt "\n", (d)->name, (d)->m->device.vfio, \
		##__VA_ARGS__)

/* Whether the IOMMU can address [iova, iova + len): 1 yes, 0 no, -1 it does not say. */
static int iova_fits(int container, uint64_t iova, uint64_t len, char *ranges, size_t ranges_len)
{
	struct vfio_iommu_type1_info probe = { .argsz = sizeof(probe) };
	int fits = -1;

	if (ioctl(container, VFIO_IOMMU_GET_INFO, &probe) < 0 || !(probe.flags & VFIO_IOMMU_INFO_CAPS) ||
	    probe.argsz <= sizeof(probe))
		return -1;
	struct vfio_iommu_type1_info *info = calloc(1, probe.argsz);
	if (!info)
		return -1;
	info->argsz = probe.argsz;
	if (ioctl(container, VFIO_IOMMU_GET_INFO, info) < 0 || !info->cap_offset)
		goto out;
	/*
	 * The capability chain: offsets from the start of info, 0 ends it. The
	 * kernel packs capabilities at 4-byte offsets, so each piece is copied
	 * out before it is read.
	 */
	const uint8_t *base = (const uint8_t *)info;
	for (uint32_t off = info->cap_offset; off && off + sizeof(struct vfio_info_cap_header) <= info->argsz;) {
		struct vfio_info_cap_header h;
		memcpy(&h, base + off, sizeof(h));
		if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE &&
		    off + sizeof(struct vfio_iommu_type1_info_cap_iova_range) <= info->argsz) {
			size_t used = 0;
			uint32_t nr;
			memcpy(&nr, base + off + offsetof(struct vfio_iommu_type1_info_cap_iova_range, nr_iovas), sizeof(nr));
			fits = 0;
			ranges[0] = 0;
			for (uint32_t i = 0; i < nr; i++) {
				size_t at = off + offsetof(struct vfio_iommu_type1_info_cap_iova_range, iova_ranges) +
					    i * sizeof(struct vfio_iova_range);
				struct vfio_iova_range v;
				if (at + sizeof(v) > info->argsz)
					break;
				memcpy(&v, base + at, sizeof(v));
				if (iova >= v.start && len && iova + len - 1 <= v.end)
					fits = 1;
				if (used < ranges_len)
					used += (size_t)snprintf(ranges + used, ranges_len - used, "%s%#llx-%#llx",
								 i ? ", " : "", (unsigned long long)v.start,
								 (unsigned long long)v.end);
			}
			break;
		}
		if (h.next <= off)
			break;
		off = h.next;
	}
out:
	free(info);
	return fits;
}

static int map_dma(struct domain *d, int container, void *vaddr, uint64_t iova, uint64_t len, const char *what)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = len,
	};
	char ranges[256] = "";
	int fits = iova_fits(container, iova, len, ranges, sizeof(ranges));

	if (fits == 0) {
		say(d, "the IOMMU cannot address %s at IOVA %#llx-%#llx (it can: %s); on an emulated Intel IOMMU "
		    "give it aw-bits=48", what, (unsigned long long)iova, (unsigned long long)(iova + len - 1), ranges);
		return -ERANGE;
	}
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map) < 0) {
		int err = errno;
		say(d, "cannot map %s for DMA at IOVA %#llx (%llu bytes): %s%s", what, (unsigned long long)iova,
		    (unsigned long long)len, strerror(err),
		    err == ENOMEM ? " (pinned memory counts against RLIMIT_MEMLOCK without CAP_IPC_LOCK)" : "");
		return -err;
	}
	return 0;
}

/* The sysfs checks, each failure with what to do about it; the IOMMU group's number into group. */
static int check_sysfs(struct domain *d, char *group, size_t group_len)
{
	const char *addr = d->m->device.vfio;
	char dir[PATH_MAX], driver[64];

	snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", sysfs(), addr);
	if (access(dir, F_OK) < 0) {
		say(d, "no such PCI device (%s is missing; `redleaf dev list` shows the NVMe devices)", dir);
		return -ENODEV;
	}
	if (!link_name(dir, "iommu_group", group, group_len)) {
		say(d, "it is in no IOMMU group: the IOMMU is off (boot with intel_iommu=on or amd_iommu=on)");
		return -ENODEV;
	}
	if (!link_name(dir, "driver", driver, sizeof(driver)))
		snprintf(driver, sizeof(driver), "no driver");
	if (strcmp(driver, "vfio-pci")) {
		say(d, "it is not bound to vfio-pci (its driver: %s); run `redleaf dev bind %s` first", driver, addr);
		return -EBUSY;
	}
	return 0;
}

static int open_container(struct domain *d, const char *group, struct vfio_dev *v)
{
	char path[64];

	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0) {
		int err = errno;
		say(d, "cannot open /dev/vfio/vfio: %s%s", strerror(err),
		    err == ENOENT ? " (load the vfio-pci module: modprobe vfio-pci)" : "");
		return -err;
	}
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		say(d, "/dev/vfio/vfio speaks another VFIO API version than %d", VFIO_API_VERSION);
		return -EPROTO;
	}
	if (ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) <= 0) {
		say(d, "this kernel's VFIO has no type1 IOMMU");
		return -ENOTSUP;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	v->group = open(path, O_RDWR | O_CLOEXEC);
	if (v->group < 0) {
		int err = errno;
		say(d, "cannot open %s: %s%s", path, strerror(err),
		    err == EBUSY ? " (another process, or another domain of this system, holds the group)" : "");
		return -err;
	}
	struct vfio_group_status status = { .argsz = sizeof(status) };
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &status) < 0) {
		int err = errno;
		say(d, "cannot read the status of IOMMU group %s: %s", group, strerror(err));
		return -err;
	}
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		say(d, "IOMMU group %s is not viable: every device in it (%s/kernel/iommu_groups/%s/devices) must be "
		    "bound to vfio-pci or to no driver", group, sysfs(), group);
		return -EPERM;
	}
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) < 0) {
		int err = errno;
		say(d, "cannot put IOMMU group %s into a VFIO container: %s", group, strerror(err));
		return -err;
	}
	/* v2 unmaps exactly what was mapped; either serves a mapping made once. */
	unsigned long type = ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0 ? VFIO_TYPE1v2_IOMMU
											    : VFIO_TYPE1_IOMMU;
	if (ioctl(v->container, VFIO_SET_IOMMU, type) < 0) {
		int err = errno;
		say(d, "cannot set the type1 IOMMU: %s", strerror(err));
		return -err;
	}
	return 0;
}

static int open_device(struct domain *d, struct vfio_dev *v)
{
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, d->m->device.vfio);
	if (v->device < 0) {
		int err = errno;
		v->device = -1;
		say(d, "cannot get the device from its group: %s", strerror(err));
		return -err;
	}
	/* VFIO descriptors come without close-on-exec: the models the broker starts must not inherit one. */
	fcntl(v->device, F_SETFD, FD_CLOEXEC);
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	if (ioctl(v->device, VFIO_DEVICE_GET_INFO, &info) < 0 || !(info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX || ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &cfg) < 0 ||
	    cfg.size < PCI_STD_HEADER_SIZEOF) {
		say(d, "it is not a PCI device with a config space VFIO lets us reach");
		return -ENODEV;
	}
	v->config_offset = cfg.offset;
	return 0;
}

int rl_vfio_open(struct broker *b, struct domain *d)
{
	struct vfio_dev *v;
	char group[32];
	int ret;

	devs_reset();
	if (d->id > RL_MAX_DOMAINS || d->devmem_fd < 0)
		return -EINVAL; /* the manifest parser requires devmem with a device */
	v = &devs[d->id];
	if ((ret = check_sysfs(d, group, sizeof(group))) || (ret = open_container(d, group, v)))
		return ret;
	v->devmem_len = d->m->devmem;
	v->devmem = mmap(NULL, v->devmem_len, PROT_READ | PROT_WRITE, MAP_SHARED, d->devmem_fd, 0);
	if (v->devmem == MAP_FAILED) {
		ret = -errno;
		v->devmem = NULL;
		say(d, "cannot map its device memory: %s", strerror(-ret));
		return ret;
	}
	if ((ret = map_dma(d, v->container, b->heap.base, RL_HEAP_BASE, b->heap.size, "the shared heap")) ||
	    (ret = map_dma(d, v->container, v->devmem, RL_DEVMEM_DEVICE_ADDR, v->devmem_len, "its device memory")) ||
	    (ret = open_device(d, v)))
		return ret;
	rl_broker_log(b, "%s: device vfio %s (IOMMU group %s): heap at IOVA %#lx, device memory at IOVA %#lx", d->name,
		      d->m->device.vfio, group, RL_HEAP_BASE, RL_DEVMEM_DEVICE_ADDR);
	return 0;
}

int rl_vfio_device_fd(const struct domain *d)
{
	return devs_init && d->id <= RL_MAX_DOMAINS ? devs[d->id].device : -1;
}

/* PCI 3.0, 6.2.2: the command register; bus master enable lets the device start memory transactions. */
static int bus_master_off(const struct vfio_dev *v)
{
	uint16_t cmd;

	if (pread(v->device, &cmd, sizeof(cmd), (off_t)(v->config_offset + PCI_COMMAND)) != sizeof(cmd))
		return -EIO;
	cmd &= (uint16_t)~PCI_COMMAND_MASTER;
	if (pwrite(v->device, &cmd, sizeof(cmd), (off_t)(v->config_offset + PCI_COMMAND)) != sizeof(cmd))
		return -EIO;
	return 0;
}

bool rl_vfio_quiesce(struct broker *b, struct domain *d)
{
	const struct vfio_dev *v = devs_init && d->id <= RL_MAX_DOMAINS ? &devs[d->id] : NULL;

	if (!v || v->device < 0)
		return false;
	/*
	 * The dead driver's commands may still be in the device. With bus
	 * mastering off it can reach no memory at all (a transaction it starts
	 * is refused), so the objects may change hands; the next driver resets
	 * the controller and turns bus mastering on again.
	 */
	if (bus_master_off(v)) {
		rl_broker_log(b, "%s: cannot turn bus mastering off on %s after its driver's death", d->name,
			      d->m->device.vfio);
		return false;
	}
	rl_broker_log(b, "%s: bus mastering off on %s (its driver died)", d->name, d->m->device.vfio);
	return true;
}

void rl_vfio_close_all(struct broker *b)
{
	if (!devs_init)
		return;
	for (unsigned i = 0; i <= RL_MAX_DOMAINS; i++) {
		struct vfio_dev *v = &devs[i];
		if (v->device >= 0) {
			(void)bus_master_off(v);
			close(v->device);
			if (i >= 1 && i <= b->ndom)
				rl_broker_log(b, "%s: device vfio %s released", b->dom[i].name, b->dom[i].m->device.vfio);
		}
		/* Closing the group and the container ends the IOMMU mappings and unpins the pages. */
		if (v->group >= 0)
			close(v->group);
		if (v->container >= 0)
			close(v->container);
		if (v->devmem)
			munmap(v->devmem, v->devmem_len);
		*v = (struct vfio_dev){ .container = -1, .group = -1, .device = -1 };
	}
}
