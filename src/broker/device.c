// SPDX-License-Identifier: MIT
/*
 * Devices (manifest `device:`): the broker's trusted half of a driver domain.
 *
 * For each domain with a device the broker creates the model file (a memfd
 * the model sizes: BAR0, then its control page, src/device/model.h) and
 * starts the device model, `redleaf-nvme-model`, as its own child, found
 * beside `redleaf` as domains are. The model gets three memfds: the model
 * file, the shared heap (mapped at RL_HEAP_BASE, so an RRef's address is its
 * bus address) and the domain's device memory (mapped at
 * RL_DEVMEM_DEVICE_ADDR in the model and, by the launcher, in the driver:
 * the queues live there). The model is trusted code, like the broker: it is
 * the hardware, not a domain, so it is not confined.
 *
 * A model lives as long as the system: a driver's crash and restart leave
 * it running with its namespace, as a card keeps its disk while its driver
 * reloads. The driver re-initialises the controller (CC.EN 1 -> 0 -> 1)
 * at each start. A thread sleeps in poll() on the models' pidfds and logs a
 * model's death; the driver then sees a controller that stops answering
 * and fails its callers' requests. Teardown kills and reaps every model.
 *
 * A real device (`device: {vfio: ADDRESS}`) has no model: vfio.c opens it
 * through VFIO and the domain gets the device descriptor at RL_FD_DEVICE.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "device.h"
#include "model.h"
#include "seccomp_policy.h"
#include "vfio.h"

static_assert(RL_DEVMEM_DEVICE_ADDR >= RL_HEAP_BASE + RL_HEAP_MAX, "device memory lies above the largest heap");
static_assert(RL_DEVMEM_DEVICE_ADDR + RL_MANIFEST_DEVMEM_MAX <= 0x7f0000000000UL,
	      "device memory lies below the kernel's default mappings");

#define MODEL_BINARY "redleaf-nvme-model"
/* A model serves within milliseconds; this only bounds a model that hangs at start. */
#define MODEL_READY_MS 10000
/*
 * CAP.TO for the model, in 500 ms units: how long a driver waits for
 * CSTS.RDY to follow CC.EN. The model answers in microseconds, so this is
 * only how long a driver takes to give up on a model that died.
 */
#define MODEL_CAP_TO "2"

/*
 * One per domain id. One system per process (run.c's broker is static),
 * so the table is too; only the event thread starts and stops models, and
 * the watcher thread alone closes a pidfd between the two.
 */
struct model {
	int file_fd;    /* the model file: BAR0 and control page; -1 when the domain has no device */
	int backing_fd; /* the namespace's file (`file:`), or -1 */
	pid_t pid;
	int pidfd;      /* -1 once reaped */
	uint8_t *map;   /* the model file, mapped (rl_device_quiesce()), or NULL */
	size_t map_len;
};

static struct model models[RL_MAX_DOMAINS + 1];
static bool models_init;
static pthread_t watcher;
static bool watching;
static int watch_stop = -1; /* eventfd: ends the watcher */

static void models_reset(void)
{
	if (models_init)
		return;
	for (unsigned i = 0; i <= RL_MAX_DOMAINS; i++)
		models[i] = (struct model){ .file_fd = -1, .backing_fd = -1, .pidfd = -1 };
	models_init = true;
}

/* A VFIO device's driver gets the group that lets it work that descriptor (vfio.c), listed once. */
static void name_vfio_group(struct rl_chan_ctl *ctl)
{
	unsigned n = ctl->ngroups < RL_MAX_GROUPS ? ctl->ngroups : RL_MAX_GROUPS;

	for (unsigned i = 0; i < n; i++)
		if (!strncmp(ctl->groups[i], RL_SECCOMP_VFIO_DEVICE_GROUP, RL_NAME_MAX))
			return;
	if (n < RL_MAX_GROUPS) { /* a manifest names at most the 5 other groups */
		snprintf(ctl->groups[n], RL_NAME_MAX, "%s", RL_SECCOMP_VFIO_DEVICE_GROUP);
		ctl->ngroups = (uint16_t)(n + 1);
	}
}

int rl_device_fd(struct domain *d)
{
	bool vfio = d->m->device.model == RL_DEVICE_VFIO;
	int fd = vfio ? rl_vfio_device_fd(d) : models_init && d->id <= RL_MAX_DOMAINS ? models[d->id].file_fd : -1;

	/* The domain can write its control page: what its last incarnation left there is not trusted. */
	d->chan->ctl.has_device = fd < 0 ? RL_DEVICE_KIND_NONE : vfio ? RL_DEVICE_KIND_VFIO : RL_DEVICE_KIND_MODEL;
	d->chan->ctl.devmem_addr = fd >= 0 ? RL_DEVMEM_DEVICE_ADDR : 0;
	if (fd >= 0 && vfio)
		name_vfio_group(&d->chan->ctl);
	return fd;
}

/* The model binary: beside redleaf (installed), in the build tree, or in libexec. */
static int model_binary(char out[PATH_MAX])
{
	static const char *const rel[] = { "", "/broker/devices", "/../libexec/redleaf" };
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return -errno;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	for (unsigned i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		int len = snprintf(out, PATH_MAX, "%s%s/%s", self, rel[i], MODEL_BINARY);
		if (len > 0 && len < PATH_MAX && access(out, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/* The arguments, formatted before the fork: the child only moves descriptors and execs. */
struct model_argv {
	char *argv[24];
	char heap[48], devmem[48], lba[8], size[24], serial[RL_NAME_MAX];
};

static void model_args(struct model_argv *a, const char *binary, const struct domain *d, bool file)
{
	const struct rl_manifest_device *dev = &d->m->device;
	unsigned n = 0;

	/* Descriptors in the child: 3 model file, 4 heap, 5 device memory, 6 ready pipe, 7 namespace file. */
	snprintf(a->heap, sizeof(a->heap), "4@%#lx", RL_HEAP_BASE);
	snprintf(a->devmem, sizeof(a->devmem), "5@%#lx", RL_DEVMEM_DEVICE_ADDR);
	snprintf(a->lba, sizeof(a->lba), "%u", dev->block_size);
	snprintf(a->size, sizeof(a->size), "%llu", (unsigned long long)(dev->blocks * dev->block_size));
	snprintf(a->serial, 21, "%s", d->name); /* Identify SN: 20 characters */
	a->argv[n++] = (char *)binary;
	const char *fixed[] = { "--bar-fd", "3", "--dma", a->heap, "--dma", a->devmem, "--ready-fd", "6",
				"--lba-size", a->lba, "--timeout", MODEL_CAP_TO, "--serial", a->serial };
	for (unsigned i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		a->argv[n++] = (char *)fixed[i];
	a->argv[n++] = file ? "--backing-fd" : "--ram";
	a->argv[n++] = file ? "7" : a->size;
	a->argv[n] = NULL;
}

/*
 * The model's process: the descriptors at 3.., everything else closed, the
 * broker's blocked signals and ignored SIGPIPE undone (both survive exec),
 * its own process group (a terminal's ^C is the broker's to handle), and
 * death with the broker.
 */
static void __attribute__((noreturn)) model_child(const int *fds, int nfds, pid_t broker, char **argv)
{
	int high[5];
	sigset_t none;

	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != broker)
		_exit(127);
	for (int i = 0; i < nfds; i++)
		if ((high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 100)) < 0)
			_exit(127);
	for (int i = 0; i < nfds; i++)
		if (dup2(high[i], 3 + i) < 0)
			_exit(127);
	syscall(SYS_close_range, 3U + (unsigned)nfds, ~0U, 0U);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(argv[0], argv);
	_exit(127);
}

/* 0 once the model wrote its ready byte; -ETIMEDOUT, or -ECHILD when it ended first. */
static int model_wait_ready(int ready_r)
{
	struct pollfd p = { .fd = ready_r, .events = POLLIN };
	char c;
	int n;

	do
		n = poll(&p, 1, MODEL_READY_MS);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -ETIMEDOUT;
	return read(ready_r, &c, 1) == 1 ? 0 : -ECHILD;
}

/* How a reaped process ended, for the log. */
static const char *end_text(const siginfo_t *si, char *buf, size_t len)
{
	if (si->si_code == CLD_EXITED)
		snprintf(buf, len, "exited with status %d", si->si_status);
	else
		snprintf(buf, len, "killed by signal %s",
			 sigabbrev_np(si->si_status) ? sigabbrev_np(si->si_status) : "?");
	return buf;
}

static void model_kill(struct model *mo)
{
	siginfo_t si;

	if (mo->pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, mo->pidfd, SIGKILL, NULL, 0);
		waitid(P_PIDFD, (id_t)mo->pidfd, &si, WEXITED);
		close(mo->pidfd);
	} else if (mo->pid > 0) {
		kill(mo->pid, SIGKILL);
		waitpid(mo->pid, NULL, 0);
	}
	mo->pidfd = -1;
	mo->pid = 0;
}

/* The namespace file, opened read-write with the broker's rights (relative to the manifest's folder). */
static int open_backing(struct broker *b, const struct domain *d, struct model *mo)
{
	const char *f = d->m->device.file;
	char path[PATH_MAX];
	struct stat st;
	int n = f[0] == '/' ? snprintf(path, sizeof(path), "%s", f) : snprintf(path, sizeof(path), "%s/%s", b->m->dir, f);

	if (n < 0 || n >= (int)sizeof(path)) {
		rl_broker_log(b, "%s: device file '%s': path too long", d->name, f);
		return -ENAMETOOLONG;
	}
	mo->backing_fd = open(path, O_RDWR | O_CLOEXEC);
	if (mo->backing_fd < 0 || fstat(mo->backing_fd, &st) < 0) {
		int err = errno;
		rl_broker_log(b, "%s: cannot open device file '%s': %s", d->name, path, strerror(err));
		return -err;
	}
	/* The driver serves whole BDev blocks (4 KiB): a file that holds none, or a torn one, is a mistake. */
	if (!S_ISREG(st.st_mode) || st.st_size < 4096 || st.st_size % 4096) {
		rl_broker_log(b, "%s: device file '%s' is not a regular file of whole 4 KiB blocks (it has %lld bytes)",
			      d->name, path, (long long)st.st_size);
		return -EINVAL;
	}
	return 0;
}

/* Forks and execs the model; waits until it serves. On failure the model is reaped. */
static int model_launch(struct broker *b, struct domain *d, struct model *mo, const char *binary)
{
	struct model_argv a;
	int ready[2], ret;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return -errno;
	int fds[5] = { mo->file_fd, b->heap.heap_fd, d->devmem_fd, ready[1], mo->backing_fd };
	model_args(&a, binary, d, mo->backing_fd >= 0);
	pid_t broker = getpid();
	pid_t pid = fork();
	if (pid == 0)
		model_child(fds, mo->backing_fd >= 0 ? 5 : 4, broker, a.argv);
	close(ready[1]);
	if (pid < 0) {
		ret = -errno;
		close(ready[0]);
		return ret;
	}
	mo->pid = pid;
	mo->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ret = mo->pidfd < 0 ? -errno : model_wait_ready(ready[0]);
	close(ready[0]);
	if (ret) {
		siginfo_t si = { 0 };
		char why[64] = "did not become ready";
		if (ret == -ECHILD && mo->pidfd >= 0 && waitid(P_PIDFD, (id_t)mo->pidfd, &si, WEXITED) == 0)
			end_text(&si, why, sizeof(why));
		rl_broker_log(b, "%s: cannot start its device model (%s): it %s", d->name, binary, why);
		model_kill(mo);
	}
	return ret;
}

static int model_start(struct broker *b, struct domain *d, const char *binary)
{
	const struct rl_manifest_device *dev = &d->m->device;
	struct model *mo = &models[d->id];
	int ret;

	if (d->devmem_fd < 0)
		return -EINVAL; /* the manifest parser requires devmem with a device */
	mo->file_fd = memfd_create("redleaf-device", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mo->file_fd < 0)
		return -errno;
	if (dev->file && (ret = open_backing(b, d, mo)))
		return ret;
	if ((ret = model_launch(b, d, mo, binary)))
		return ret;
	/*
	 * The model sized the file; from now on nobody resizes it: a shrink
	 * would fault the model and the driver on their own registers.
	 */
	if (fcntl(mo->file_fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		ret = -errno;
		rl_broker_log(b, "%s: cannot seal its device's file: %s", d->name, strerror(errno));
		return ret;
	}
	struct stat st;
	if (fstat(mo->file_fd, &st) == 0 && (size_t)st.st_size >= sizeof(struct rl_model_ctl)) {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, mo->file_fd, 0);
		if (p != MAP_FAILED) {
			mo->map = p;
			mo->map_len = (size_t)st.st_size;
		}
	}
	if (!mo->map)
		rl_broker_log(b, "%s: cannot map its device's file: a dead driver's commands cannot be stopped", d->name);
	if (dev->file)
		rl_broker_log(b, "%s: device nvme (%s, pid %d): namespace in %s, %u-byte blocks", d->name, MODEL_BINARY,
			      mo->pid, dev->file, dev->block_size);
	else
		rl_broker_log(b, "%s: device nvme (%s, pid %d): namespace in RAM, %llu blocks of %u bytes", d->name,
			      MODEL_BINARY, mo->pid, (unsigned long long)dev->blocks, dev->block_size);
	return 0;
}

/* NVMe 1.4, 3.1: Controller Configuration and Controller Status, and their enable/ready bits. */
#define NVME_REG_CC 0x14
#define NVME_REG_CSTS 0x1c
#define NVME_CC_EN 0x1u
#define NVME_CSTS_RDY 0x1u
#define QUIESCE_WAIT_NS 200000000ull

bool rl_device_quiesce(struct broker *b, struct domain *d)
{
	struct model *mo = models_init && d->id <= RL_MAX_DOMAINS ? &models[d->id] : NULL;

	if (d->m->device.model == RL_DEVICE_VFIO)
		return rl_vfio_quiesce(b, d);
	if (!mo || !mo->map || mo->pidfd < 0)
		return false;
	/* The file is BAR0 and then the control page (model.h: rl_model_file_size()). */
	if (mo->map_len < RL_MODEL_CTL_SIZE + NVME_REG_CSTS + 4)
		return false;
	struct rl_model_ctl *ctl = (struct rl_model_ctl *)(mo->map + mo->map_len - RL_MODEL_CTL_SIZE);
	volatile uint32_t *cc = (volatile uint32_t *)(mo->map + NVME_REG_CC);
	volatile uint32_t *csts = (volatile uint32_t *)(mo->map + NVME_REG_CSTS);
	/*
	 * The dead driver's last commands may still be running in the model:
	 * disabling the controller (7.3.2: CC.EN to 0, then CSTS.RDY follows)
	 * drops every queue, and once RDY reads 0 the model touches no memory
	 * of the heap any more. Only then may the broker hand its objects on.
	 */
	*cc = *cc & ~NVME_CC_EN;
	rl_model_kick(ctl);
	struct timespec t0, now, pause = { 0, 20000 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (!(*csts & NVME_CSTS_RDY))
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((uint64_t)(now.tv_sec - t0.tv_sec) * 1000000000ull + (uint64_t)now.tv_nsec - (uint64_t)t0.tv_nsec >
		    QUIESCE_WAIT_NS)
			break;
		nanosleep(&pause, NULL);
	}
	rl_broker_log(b, "%s: its device did not stop within 200 ms of its driver's death", d->name);
	return false;
}

/* A model ended while the system runs: reap it and say so; its driver's requests will fail. */
static void model_died(struct broker *b, unsigned id)
{
	struct model *mo = &models[id];
	siginfo_t si = { 0 };
	char why[64];

	if (waitid(P_PIDFD, (id_t)mo->pidfd, &si, WEXITED | WNOHANG) < 0 || !si.si_pid)
		return;
	rl_broker_log(b, "%s: its device model (%s, pid %d) died: %s; the device is gone until the system "
		      "restarts, and requests to it fail", b->dom[id].name, MODEL_BINARY, mo->pid,
		      end_text(&si, why, sizeof(why)));
	close(mo->pidfd);
	mo->pidfd = -1;
	mo->pid = 0;
}

/* Sleeps in poll() on the models' pidfds (no CPU while they live) until told to stop. */
static void *watch(void *arg)
{
	struct broker *b = arg;

	for (;;) {
		struct pollfd p[RL_MAX_DOMAINS + 1];
		unsigned id[RL_MAX_DOMAINS + 1], n = 0;

		p[n++] = (struct pollfd){ .fd = watch_stop, .events = POLLIN };
		for (unsigned i = 1; i <= b->ndom; i++)
			if (models[i].pidfd >= 0) {
				id[n] = i;
				p[n++] = (struct pollfd){ .fd = models[i].pidfd, .events = POLLIN };
			}
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (p[0].revents)
			return NULL;
		for (unsigned k = 1; k < n; k++)
			if (p[k].revents)
				model_died(b, id[k]);
	}
}

int rl_devices_start(struct broker *b)
{
	char binary[PATH_MAX];
	bool any = false;

	models_reset();
	for (unsigned i = 1; i <= b->ndom; i++) {
		struct domain *d = &b->dom[i];
		if (d->m->device.model == RL_DEVICE_NONE)
			continue;
		if (d->m->device.model == RL_DEVICE_VFIO) {
			if (rl_vfio_open(b, d) < 0)
				return -1; /* it said why */
			continue;
		}
		if (!any && model_binary(binary)) {
			fprintf(stderr, "redleaf: domain '%s' has a device, but %s is not beside redleaf\n", d->name,
				MODEL_BINARY);
			return -1;
		}
		any = true;
		int ret = model_start(b, d, binary);
		if (ret) {
			fprintf(stderr, "redleaf: cannot start the device of domain '%s': %s\n", d->name,
				strerror(-ret));
			return -1;
		}
	}
	if (!any)
		return 0;
	watch_stop = eventfd(0, EFD_CLOEXEC);
	if (watch_stop < 0 || pthread_create(&watcher, NULL, watch, b)) {
		fprintf(stderr, "redleaf: cannot start the thread that watches device models\n");
		return -1;
	}
	watching = true;
	return 0;
}

void rl_devices_stop(struct broker *b)
{
	uint64_t one = 1;

	rl_vfio_close_all(b); /* the domains are gone: their devices' DMA stops, the IOMMU mappings go */
	if (!models_init)
		return;
	if (watching) {
		(void)!write(watch_stop, &one, sizeof(one));
		pthread_join(watcher, NULL);
		watching = false;
	}
	if (watch_stop >= 0)
		close(watch_stop);
	watch_stop = -1;
	for (unsigned i = 0; i <= RL_MAX_DOMAINS; i++) {
		struct model *mo = &models[i];
		if (mo->pidfd >= 0 && i >= 1 && i <= b->ndom) {
			pid_t pid = mo->pid;
			model_kill(mo);
			rl_broker_log(b, "%s: device model (%s, pid %d) ended with the system", b->dom[i].name,
				      MODEL_BINARY, pid);
		}
		model_kill(mo);
		if (mo->map)
			munmap(mo->map, mo->map_len);
		mo->map = NULL;
		if (mo->file_fd >= 0)
			close(mo->file_fd);
		if (mo->backing_fd >= 0)
			close(mo->backing_fd);
		mo->file_fd = mo->backing_fd = -1;
	}
}
