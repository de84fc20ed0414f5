// SPDX-License-Identifier: MIT
/*
 * `redleaf dev`: the devices a driver domain can take over, and handing
 * them to vfio-pci and back (what dpdk-devbind does, for NVMe controllers and
 * Intel 82599 ports only). Everything goes through sysfs:
 *   list    /sys/bus/pci/devices/BDF/{class,vendor,device,numa_node} and the
 *           driver and iommu_group links;
 *   bind    BDF/driver_override := vfio-pci, BDF/driver/unbind := BDF,
 *           /sys/bus/pci/drivers_probe := BDF, then wait (2 s at most) for
 *           the driver link to name vfio-pci;
 *   unbind  the same with an empty override, so the default driver takes it.
 * $REDLEAF_SYSFS replaces /sys (the tests build a fake tree).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define PCI_CLASS_NVME 0x010802u
#define VENDOR_INTEL 0x8086u

/* Intel 82599 physical functions (the ixgbe driver's device ids). */
static const unsigned ids_82599[] = {
	0x10f7, 0x10f8, 0x10f9, 0x10fb, 0x10fc, 0x1507, 0x1514, 0x1517, 0x151c,
	0x1529, 0x152a, 0x154a, 0x154d, 0x154f, 0x1557, 0x1558,
};

struct pci_dev {
	char bdf[32];
	unsigned class, vendor, device;
	int numa;
	char driver[64]; /* "-" when none */
	char group[16];  /* IOMMU group, "-" when none */
	const char *kind; /* "nvme", "82599", or NULL for a device we do not drive */
};

static const char *sysfs(void)
{
	const char *s = getenv("REDLEAF_SYSFS");
	return s && *s ? s : "/sys";
}

static int read_hex(const char *dir, const char *name, unsigned *out)
{
	char path[PATH_MAX], buf[32];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	bool ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	char *end;
	unsigned long v = ok ? strtoul(buf, &end, 16) : 0;
	if (!ok || end == buf)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* The last component of the symlink dir/name, or "-" when there is none. */
static void link_base(const char *dir, const char *name, char *out, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0) {
		snprintf(out, len, "-");
		return;
	}
	target[n] = 0;
	const char *slash = strrchr(target, '/'), *base = slash ? slash + 1 : target;
	size_t m = strlen(base) < len - 1 ? strlen(base) : len - 1; /* sysfs names are short */
	memcpy(out, base, m);
	out[m] = 0;
}

static const char *kind_of(const struct pci_dev *d)
{
	if (d->class == PCI_CLASS_NVME)
		return "nvme";
	if (d->vendor == VENDOR_INTEL)
		for (size_t i = 0; i < sizeof(ids_82599) / sizeof(ids_82599[0]); i++)
			if (d->device == ids_82599[i])
				return "82599";
	return NULL;
}

/* Reads device bdf; 0, -ENOENT when there is no such device. */
static int dev_read(const char *bdf, struct pci_dev *d)
{
	char dir[PATH_MAX];
	memset(d, 0, sizeof(*d));
	if (strlen(bdf) >= sizeof(d->bdf) || strchr(bdf, '/') || bdf[0] == '.')
		return -EINVAL;
	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", sysfs(), bdf);
	if (access(dir, F_OK) < 0)
		return -ENOENT;
	int r;
	if ((r = read_hex(dir, "class", &d->class)) || (r = read_hex(dir, "vendor", &d->vendor)) ||
	    (r = read_hex(dir, "device", &d->device)))
		return r;
	unsigned numa;
	d->numa = read_hex(dir, "numa_node", &numa) ? -1 : (int)numa;
	link_base(dir, "driver", d->driver, sizeof(d->driver));
	link_base(dir, "iommu_group", d->group, sizeof(d->group));
	d->kind = kind_of(d);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int rl_cmd_dev_list(bool json)
{
	char dir[PATH_MAX];
	struct dirent **names;
	unsigned shown = 0;

	snprintf(dir, sizeof(dir), "%s/bus/pci/devices", sysfs());
	int n = scandir(dir, &names, NULL, by_name);
	if (n < 0) {
		fprintf(stderr, "redleaf dev: cannot read %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (json)
		printf("{\"devices\":[");
	else
		printf("%-14s %-6s %-10s %-12s %-6s %s\n", "BDF", "KIND", "ID", "DRIVER", "IOMMU", "NUMA");
	for (int i = 0; i < n; i++) {
		struct pci_dev d;
		if (names[i]->d_name[0] != '.' && dev_read(names[i]->d_name, &d) == 0 && d.kind) {
			if (json)
				printf("%s{\"bdf\":\"%s\",\"kind\":\"%s\",\"vendor\":\"%04x\",\"device\":\"%04x\","
				       "\"driver\":\"%s\",\"iommu_group\":\"%s\",\"numa_node\":%d}",
				       shown ? "," : "", d.bdf, d.kind, d.vendor, d.device, d.driver, d.group, d.numa);
			else
				printf("%-14s %-6s %04x:%04x  %-12s %-6s %d\n", d.bdf, d.kind, d.vendor, d.device,
				       d.driver, d.group, d.numa);
			shown++;
		}
		free(names[i]);
	}
	free(names);
	if (json)
		printf("]}\n");
	else if (!shown)
		printf("(no NVMe controller or Intel 82599 port on this machine)\n");
	return 0;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	int r = fputs(text, f) < 0 ? -EIO : 0;
	if (fclose(f) != 0 && !r)
		r = -errno;
	return r;
}

/* Waits (2 s at most) until bdf's driver link names (is) or stops naming (!is) driver. */
static bool wait_driver(const char *bdf, const char *driver, bool is, struct pci_dev *d)
{
	for (int i = 0; i < 200; i++) {
		if (dev_read(bdf, d) == 0 && !strcmp(d->driver, driver) == is)
			return true;
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	return false;
}

/* Checks bdf for bind/unbind: a device of ours, and we may write sysfs. 0, or the exit status. */
static int dev_check(const char *bdf, struct pci_dev *d)
{
	int r = dev_read(bdf, d);
	if (r == -EINVAL) {
		fprintf(stderr, "redleaf dev: '%s' is not a PCI address (like 0000:03:00.0)\n", bdf);
		return 2;
	}
	if (r) {
		fprintf(stderr, "redleaf dev: no PCI device %s (see 'redleaf dev list')\n", bdf);
		return 1;
	}
	if (!d->kind) {
		fprintf(stderr, "redleaf dev: %s (%04x:%04x, class %06x) is neither an NVMe controller nor an Intel "
			"82599 port; not touching it\n", bdf, d->vendor, d->device, d->class);
		return 1;
	}
	if (geteuid() != 0 && !getenv("REDLEAF_SYSFS")) {
		fprintf(stderr, "redleaf dev: changing a device's driver needs root\n");
		return 1;
	}
	return 0;
}

/* Detaches bdf from its driver, sets its override and asks the kernel to probe it again. */
static int rebind(const struct pci_dev *d, const char *override)
{
	char path[PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/driver_override", sysfs(), d->bdf);
	if ((r = write_file(path, override))) {
		fprintf(stderr, "redleaf dev: cannot write %s: %s\n", path, strerror(-r));
		return r;
	}
	if (strcmp(d->driver, "-")) {
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/driver/unbind", sysfs(), d->bdf);
		if ((r = write_file(path, d->bdf))) {
			fprintf(stderr, "redleaf dev: cannot unbind %s from %s: %s\n", d->bdf, d->driver, strerror(-r));
			return r;
		}
	}
	snprintf(path, sizeof(path), "%s/bus/pci/drivers_probe", sysfs());
	if ((r = write_file(path, d->bdf)) && r != -ENODEV && r != -EINVAL) {
		fprintf(stderr, "redleaf dev: cannot probe %s: %s\n", d->bdf, strerror(-r));
		return r;
	}
	return 0;
}

int rl_cmd_dev_bind(const char *bdf)
{
	struct pci_dev d;
	char path[PATH_MAX];
	int st = dev_check(bdf, &d);

	if (st)
		return st;
	if (!strcmp(d.driver, "vfio-pci")) {
		printf("%s is bound to vfio-pci already (/dev/vfio/%s)\n", bdf, d.group);
		return 0;
	}
	if (!strcmp(d.group, "-")) {
		fprintf(stderr, "redleaf dev: %s has no IOMMU group: the IOMMU is off. Turn it on (intel_iommu=on "
			"or amd_iommu=on on the kernel command line, and VT-d/AMD-Vi in the firmware), reboot, "
			"and try again\n", bdf);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/bus/pci/drivers/vfio-pci", sysfs());
	if (access(path, F_OK) < 0) {
		fprintf(stderr, "redleaf dev: the vfio-pci driver is not loaded (modprobe vfio-pci; this kernel "
			"may not have it)\n");
		return 1;
	}
	if (rebind(&d, "vfio-pci"))
		return 1;
	if (!wait_driver(bdf, "vfio-pci", true, &d)) {
		fprintf(stderr, "redleaf dev: %s did not come to vfio-pci (its driver is %s); see the kernel log\n",
			bdf, d.driver);
		return 1;
	}
	printf("%s (%s) bound to vfio-pci: /dev/vfio/%s\n", bdf, d.kind, d.group);
	return 0;
}

int rl_cmd_dev_unbind(const char *bdf)
{
	struct pci_dev d;
	int st = dev_check(bdf, &d);

	if (st)
		return st;
	if (strcmp(d.driver, "vfio-pci")) {
		fprintf(stderr, "redleaf dev: %s is not bound to vfio-pci (its driver is %s)\n", bdf, d.driver);
		return 1;
	}
	if (rebind(&d, "\n"))
		return 1;
	/* The default driver (nvme, ixgbe) takes it, if the kernel has one loaded ("-" otherwise). */
	if (!wait_driver(bdf, "vfio-pci", false, &d)) {
		fprintf(stderr, "redleaf dev: %s is still bound to vfio-pci; see the kernel log\n", bdf);
		return 1;
	}
	printf("%s (%s) released from vfio-pci; its driver is now %s\n", bdf, d.kind, d.driver);
	return 0;
}
