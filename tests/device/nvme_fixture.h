/* SPDX-License-Identifier: MIT */
/*
 * Test fixture: the NVMe model as a separate process (redleaf-nvme-model,
 * exec'd from $NVME_MODEL) on memfds this process creates, and the device
 * layer's model back end opened on them. Two DMA regions, mapped at the same
 * fixed addresses here and in the model: queue memory and data buffers.
 * The model dies with this process (PR_SET_PDEATHSIG) and is killed and
 * reaped at exit, on failure too.
 */
#ifndef T_NVME_FIXTURE_H
#define T_NVME_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dev.h"
#include "model.h"

/* Above the shared heap (RL_HEAP_BASE 0x200000000000 + at most 16 GiB). */
#define T_QMEM_BASE 0x300000000000UL
#define T_QMEM_LEN (8UL << 20)
#define T_BUF_BASE 0x300040000000UL
#define T_BUF_LEN (64UL << 20)

struct t_model {
	pid_t pid;
	int bar_fd, qmem_fd, buf_fd;
	struct rl_dev dev;
	struct rl_model_ctl *ctl;
	void *qmem;
	uint8_t *buf;
};

/*
 * Starts the model with extra arguments (NULL-terminated, may be NULL) and
 * opens the device; the regions are registered. Returns 0, 77 to skip (no
 * model binary), or exits the test on a setup failure.
 */
int t_model_start(struct t_model *t, const char *const *extra);

/* Whether the model process is still running. */
int t_model_alive(struct t_model *t);

/* The model's CPU time (utime + stime) in clock ticks, from /proc/PID/stat. */
long t_model_cpu_ticks(struct t_model *t);

/* Kills and reaps the model, unmaps and closes everything. */
void t_model_stop(struct t_model *t);

#endif
