// SPDX-License-Identifier: MIT
/*
 * The model back end: BAR0 is a shared file served by a device model
 * process. See model.h for the file's layout and the sleep/kick protocol.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "wait.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/*
 * The kick pairs with rl_model_sleep() like Dekker's algorithm: the kicker
 * bumps gen then reads sleeping; the model sets sleeping then reads gen.
 * With both sequentially consistent, at least one of them sees the other,
 * so either the model does not sleep or the kicker wakes it.
 */
void rl_model_kick(struct rl_model_ctl *ctl)
{
	atomic_fetch_add_explicit(&ctl->gen, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&ctl->sleeping, memory_order_seq_cst)) {
		atomic_fetch_add_explicit(&ctl->wakes, 1, memory_order_relaxed);
		rl_futex_wake(&ctl->gen, 1);
	}
}

static void model_kick(struct rl_dev *d, uint32_t off)
{
	(void)off;
	rl_model_kick(d->priv);
}

void rl_model_sleep(struct rl_model_ctl *ctl, uint32_t seen, const struct timespec *timeout)
{
	atomic_store_explicit(&ctl->sleeping, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&ctl->gen, memory_order_seq_cst) == seen) {
		atomic_fetch_add_explicit(&ctl->sleeps, 1, memory_order_relaxed);
		/* FUTEX_WAIT itself rechecks gen == seen atomically against a wake. */
		rl_futex_wait(&ctl->gen, seen, timeout);
		atomic_fetch_add_explicit(&ctl->wakeups, 1, memory_order_relaxed);
	}
	atomic_store_explicit(&ctl->sleeping, 0, memory_order_relaxed);
}

int rl_dev_model_open(struct rl_dev *d, int fd)
{
	struct stat st;
	struct rl_model_ctl probe;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < RL_MODEL_CTL_SIZE * 2)
		return -EINVAL;
	/* The header says where BAR0 ends; it sits at the file's last page. */
	off_t ctl_off = st.st_size - RL_MODEL_CTL_SIZE;
	if (pread(fd, &probe, sizeof(probe), ctl_off) != (ssize_t)sizeof(probe))
		return -EINVAL;
	if (atomic_load(&probe.magic) != RL_MODEL_MAGIC || probe.version != RL_MODEL_VERSION ||
	    probe.bar_len != (uint64_t)ctl_off)
		return -ENODEV;
	void *p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	memset(d, 0, sizeof(*d));
	d->bar = p;
	d->bar_len = probe.bar_len;
	d->priv = (uint8_t *)p + probe.bar_len;
	d->kick = model_kick;
	d->kick_from = probe.kick_from;
	return 0;
}

void rl_dev_model_close(struct rl_dev *d)
{
	if (d->bar && d->kick == model_kick)
		munmap((void *)d->bar, rl_model_file_size(d->bar_len));
	memset(d, 0, sizeof(*d));
}

struct rl_model_ctl *rl_dev_model_ctl(struct rl_dev *d)
{
	return d->bar && d->kick == model_kick ? d->priv : NULL;
}

int rl_dev_model_wait_ready(int fd, int timeout_ms)
{
	struct timespec t0, now;
	struct stat st;
	uint32_t magic;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (fstat(fd, &st) < 0)
			return -errno;
		if (st.st_size >= RL_MODEL_CTL_SIZE * 2 &&
		    pread(fd, &magic, sizeof(magic), st.st_size - RL_MODEL_CTL_SIZE) == sizeof(magic) &&
		    magic == RL_MODEL_MAGIC)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= timeout_ms)
			return -ETIMEDOUT;
		poll(NULL, 0, 1);
	}
}

struct rl_model_ctl *rl_model_map(int fd, size_t bar_len, uint32_t kick_from, volatile uint8_t **bar)
{
	struct stat st;
	size_t size = rl_model_file_size(bar_len);

	if (bar_len == 0 || bar_len % RL_MODEL_CTL_SIZE || bar_len > UINT32_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (fstat(fd, &st) < 0)
		return NULL;
	if ((size_t)st.st_size != size && ftruncate(fd, size) < 0)
		return NULL;
	uint8_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, size);
	struct rl_model_ctl *ctl = (struct rl_model_ctl *)(p + bar_len);
	ctl->version = RL_MODEL_VERSION;
	ctl->bar_len = bar_len;
	ctl->kick_from = kick_from;
	atomic_store(&ctl->model_pid, (uint32_t)getpid());
	*bar = p;
	return ctl;
}

void rl_model_ready(struct rl_model_ctl *ctl)
{
	atomic_store_explicit(&ctl->magic, RL_MODEL_MAGIC, memory_order_release);
}

int rl_model_map_region(int fd, uintptr_t addr, size_t *len)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0 || addr == 0 || addr % 4096)
		return -EINVAL;
	void *p = mmap((void *)addr, st.st_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	if ((uintptr_t)p != addr) {
		/* Kernels before 4.17 ignore the flag and map elsewhere. */
		munmap(p, st.st_size);
		return -EEXIST;
	}
	*len = st.st_size;
	return 0;
}
