// SPDX-License-Identifier: MIT
/*
 * The vfio-pci back end's policy, without a device: the manifest key
 * `device: {vfio: ADDRESS}` (accepted forms, refusals with their message and
 * position) and the seccomp group vfio-device, which the broker adds for such
 * a driver. Probe children install the group and make calls whose verdict
 * is the exit status: allowed calls return (EBADF: descriptor 12 is not
 * open here), refused ones die by SIGSYS.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "manifest.h"
#include "rl_config.h"
#include "seccomp_policy.h"

static int failures;

static void __attribute__((format(printf, 2, 3))) t_check(bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("%s: ", ok ? "ok" : "FAIL");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	if (!ok)
		failures++;
}

/* ---- the manifest ---- */

#define DOM "system: s\ndomains:\n  - name: a\n    binary: x\n    devmem: 64K\n    device: "

static void test_manifest_good(void)
{
	static const struct {
		const char *text, *addr;
	} good[] = {
		{ DOM "{vfio: \"0000:00:03.0\"}\n", "0000:00:03.0" },
		{ DOM "{vfio: 0000:3B:1F.7}\n", "0000:3b:1f.7" }, /* upper case hex, kept as sysfs spells it */
		{ DOM "{vfio: \"ffff:ff:00.0\"}\n", "ffff:ff:00.0" },
	};
	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct rl_manifest *m = NULL;
		char err[512] = "";
		int r = rl_manifest_parse("vfio.yaml", good[i].text, strlen(good[i].text), &m, err, sizeof(err));
		t_check(r == 0 && m->domains[0].device.model == RL_DEVICE_VFIO &&
				!strcmp(m->domains[0].device.vfio, good[i].addr),
			"vfio %s accepted as %s (%s)", good[i].addr, r == 0 ? m->domains[0].device.vfio : "-", err);
		rl_manifest_free(m);
	}
}

static void test_manifest_bad(void)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ DOM "{vfio: \"00:03.0\"}\n", "vfio.yaml:6:20: error: device vfio must be a PCI address "
		  "DOMAIN:BUS:DEVICE.FUNCTION like 0000:00:03.0 (device 00-1f, function 0-7), got '00:03.0'" },
		{ DOM "{vfio: \"0000:00:20.0\"}\n", "vfio.yaml:6:20: error: device vfio must be a PCI address "
		  "DOMAIN:BUS:DEVICE.FUNCTION like 0000:00:03.0 (device 00-1f, function 0-7), got '0000:00:20.0'" },
		{ DOM "{vfio: \"0000:00:03.8\"}\n", "vfio.yaml:6:20: error: device vfio must be a PCI address "
		  "DOMAIN:BUS:DEVICE.FUNCTION like 0000:00:03.0 (device 00-1f, function 0-7), got '0000:00:03.8'" },
		{ DOM "{vfio: \"0000:0g:03.0\"}\n", "vfio.yaml:6:20: error: device vfio must be a PCI address "
		  "DOMAIN:BUS:DEVICE.FUNCTION like 0000:00:03.0 (device 00-1f, function 0-7), got '0000:0g:03.0'" },
		{ DOM "{vfio: \"0000:00:03.0 \"}\n", "vfio.yaml:6:20: error: device vfio must be a PCI address "
		  "DOMAIN:BUS:DEVICE.FUNCTION like 0000:00:03.0 (device 00-1f, function 0-7), got '0000:00:03.0 '" },
		{ DOM "{vfio: [0000:00:03.0]}\n",
		  "vfio.yaml:6:20: error: device vfio must be a PCI address like 0000:00:03.0, got a sequence" },
		{ DOM "{vfio: \"0000:00:03.0\", blocks: 8}\n",
		  "vfio.yaml:6:36: error: unknown key 'blocks' in a vfio device (allowed: vfio)" },
		{ DOM "{model: nvme, vfio: \"0000:00:03.0\"}\n",
		  "vfio.yaml:6:14: error: unknown key 'model' in a vfio device (allowed: vfio)" },
		{ "system: s\ndomains:\n  - {name: a, binary: x, device: {vfio: \"0000:00:03.0\"}}\n",
		  "vfio.yaml:3:34: error: device: the domain needs devmem (its driver's queues live there)" },
		/* The group only the broker adds cannot be asked for. */
		{ "system: s\ndomains:\n  - {name: a, binary: x, syscalls: [vfio-device]}\n",
		  "vfio.yaml:3:37: error: unknown seccomp group 'vfio-device' (known: base, io_uring, af_xdp, vfio, "
		  "sanitizer)" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rl_manifest *m = NULL;
		char err[512] = "";
		int r = rl_manifest_parse("vfio.yaml", bad[i].text, strlen(bad[i].text), &m, err, sizeof(err));
		t_check(r == -EINVAL && !strcmp(err, bad[i].want), "refused: %s%s%s", err,
			strcmp(err, bad[i].want) ? "\n      wanted: " : "", strcmp(err, bad[i].want) ? bad[i].want : "");
		rl_manifest_free(m);
	}
}

/* ---- the seccomp group ---- */

#define FD RL_SECCOMP_DEVICE_FD

enum probe {
	P_GET_INFO,
	P_REGION_INFO,
	P_PREAD,
	P_PWRITE,
	P_MMAP,
	P_REGION_INFO_OTHER_FD,
	P_RESET,
	P_SET_IRQS,
	P_GET_DEVICE_FD,
	P_SET_IOMMU,
	P_TCGETS,
	P_PREAD_OTHER_FD,
	P_PWRITE_STDERR,
	P_MMAP_EXEC,
	P_MMAP_OTHER_FD,
	P_MMAP_ANON_SHARED,
	P_OPENAT,
};

static const struct {
	const char *name;
	bool allowed; /* with vfio-device */
} probes[] = {
	[P_GET_INFO] = { "ioctl(12, VFIO_DEVICE_GET_INFO)", true },
	[P_REGION_INFO] = { "ioctl(12, VFIO_DEVICE_GET_REGION_INFO)", true },
	[P_PREAD] = { "pread(12)", true },
	[P_PWRITE] = { "pwrite(12)", true },
	[P_MMAP] = { "mmap(12, shared, read-write)", true },
	[P_REGION_INFO_OTHER_FD] = { "ioctl(13, VFIO_DEVICE_GET_REGION_INFO)", false },
	[P_RESET] = { "ioctl(12, VFIO_DEVICE_RESET)", false },
	[P_SET_IRQS] = { "ioctl(12, VFIO_DEVICE_SET_IRQS)", false },
	[P_GET_DEVICE_FD] = { "ioctl(12, VFIO_GROUP_GET_DEVICE_FD)", false },
	[P_SET_IOMMU] = { "ioctl(12, VFIO_SET_IOMMU)", false },
	[P_TCGETS] = { "ioctl(12, TCGETS)", false },
	[P_PREAD_OTHER_FD] = { "pread(13)", false },
	[P_PWRITE_STDERR] = { "pwrite(2)", false },
	[P_MMAP_EXEC] = { "mmap(12, shared, executable)", false },
	[P_MMAP_OTHER_FD] = { "mmap(13, shared)", false },
	[P_MMAP_ANON_SHARED] = { "mmap(shared anonymous, fd 12)", false },
	[P_OPENAT] = { "openat(/dev/vfio/vfio)", false },
};

/* Raw system calls: a sanitizer's interceptors must not add calls of their own. */
static void probe_call(enum probe p)
{
	char buf[4] = { 0 };

	switch (p) {
	case P_GET_INFO: syscall(SYS_ioctl, FD, VFIO_DEVICE_GET_INFO, NULL); break;
	case P_REGION_INFO: syscall(SYS_ioctl, FD, VFIO_DEVICE_GET_REGION_INFO, NULL); break;
	case P_PREAD: syscall(SYS_pread64, FD, buf, 2, 4); break;
	case P_PWRITE: syscall(SYS_pwrite64, FD, buf, 2, 4); break;
	case P_MMAP: syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, FD, 0); break;
	case P_REGION_INFO_OTHER_FD: syscall(SYS_ioctl, FD + 1, VFIO_DEVICE_GET_REGION_INFO, NULL); break;
	case P_RESET: syscall(SYS_ioctl, FD, VFIO_DEVICE_RESET); break;
	case P_SET_IRQS: syscall(SYS_ioctl, FD, VFIO_DEVICE_SET_IRQS, NULL); break;
	case P_GET_DEVICE_FD: syscall(SYS_ioctl, FD, VFIO_GROUP_GET_DEVICE_FD, "0000:00:03.0"); break;
	case P_SET_IOMMU: syscall(SYS_ioctl, FD, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU); break;
	case P_TCGETS: syscall(SYS_ioctl, FD, TCGETS, NULL); break;
	case P_PREAD_OTHER_FD: syscall(SYS_pread64, FD + 1, buf, 2, 4); break;
	case P_PWRITE_STDERR: syscall(SYS_pwrite64, 2, buf, 2, 4); break;
	case P_MMAP_EXEC: syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, FD, 0); break;
	case P_MMAP_OTHER_FD: syscall(SYS_mmap, NULL, 4096, PROT_READ, MAP_SHARED, FD + 1, 0); break;
	case P_MMAP_ANON_SHARED:
		syscall(SYS_mmap, NULL, 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, FD, 0);
		break;
	case P_OPENAT: syscall(SYS_openat, AT_FDCWD, "/dev/vfio/vfio", O_RDWR); break;
	}
}

/* 0 when the call returned, SIGSYS when the filter refused it, -1 on anything else. */
static int probe(enum probe p, bool with_group)
{
	const char *groups[2];
	unsigned n = 0;
	int status;

	if (with_group)
		groups[n++] = RL_SECCOMP_VFIO_DEVICE_GROUP;
	if (RL_SANITIZED)
		groups[n++] = "sanitizer";
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (rl_seccomp_install(groups, n, NULL))
			_exit(3);
		probe_call(p);
		syscall(SYS_exit_group, 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status) == 0 ? 0 : -1;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS ? SIGSYS : -1;
}

static void test_seccomp(void)
{
	t_check(rl_seccomp_group_find(RL_SECCOMP_VFIO_DEVICE_GROUP) == NULL,
		"vfio-device is not a group a manifest can name");
	for (unsigned p = 0; p < sizeof(probes) / sizeof(probes[0]); p++) {
		int with = probe(p, true), without = probe(p, false);
		t_check(with == (probes[p].allowed ? 0 : SIGSYS) && without == SIGSYS, "%s: %s with vfio-device, %s without",
			probes[p].name, with == 0 ? "allowed" : with == SIGSYS ? "refused" : "error",
			without == 0 ? "allowed" : without == SIGSYS ? "refused" : "error");
	}
}

int main(void)
{
	/* The probes' descriptors must not be open, so that an allowed call is harmless. */
	close(FD);
	close(FD + 1);
	test_manifest_good();
	test_manifest_bad();
	test_seccomp();
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
