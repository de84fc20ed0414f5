// SPDX-License-Identifier: MIT
/*
 * Creating and mapping the shared heap and its registry.
 *
 * Invariants: the heap memfd is sealed against resizing before any domain
 * sees it, so a domain can never make the broker fault on a shrunk mapping;
 * the registry memfd additionally carries F_SEAL_FUTURE_WRITE once the broker
 * holds its writable mapping, so nobody else can ever map it writable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heap.h"
#include "registry.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

static int heap_layout(struct rl_heap_hdr *hd, uint64_t size)
{
	uint64_t region = (size / RL_NCLASSES) & ~(RL_REGION_ALIGN - 1);
	uint32_t slot = 0;

	if (region < RL_REGION_ALIGN)
		return -EINVAL;
	for (unsigned c = 0; c < RL_NCLASSES; c++) {
		hd->class_offset[c] = region * c;
		hd->class_first[c] = slot;
		hd->class_count[c] = (uint32_t)(region / rl_class_size(c));
		slot += hd->class_count[c];
	}
	hd->nslots = slot;
	hd->heap_size = region * RL_NCLASSES;
	return 0;
}

int rl_heap_create(struct rl_heap *h, uint64_t size, bool hugepages)
{
	struct rl_heap_hdr layout = { 0 };
	int ret;

	memset(h, 0, sizeof(*h));
	h->heap_fd = h->registry_fd = -1;
	if (size < RL_HEAP_MIN || size > RL_HEAP_MAX)
		return -EINVAL;
	ret = heap_layout(&layout, size);
	if (ret)
		return ret;

	h->size = layout.heap_size;
	h->registry_size = RL_REGISTRY_HDR + (size_t)layout.nslots * sizeof(struct rl_obj);
	h->registry_size = (h->registry_size + 4095) & ~(size_t)4095;

	unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING | (hugepages ? MFD_HUGETLB : 0);
	h->heap_fd = memfd_create("redleaf-heap", flags);
	if (h->heap_fd < 0)
		goto err_errno;
	if (ftruncate(h->heap_fd, (off_t)h->size) < 0)
		goto err_errno;
	if (fcntl(h->heap_fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
		goto err_errno;
	h->base = mmap((void *)RL_HEAP_BASE, h->size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED_NOREPLACE, h->heap_fd, 0);
	if (h->base == MAP_FAILED) {
		h->base = NULL;
		goto err_errno;
	}
	if (h->base != (void *)RL_HEAP_BASE) { /* kernels without MAP_FIXED_NOREPLACE */
		munmap(h->base, h->size);
		h->base = NULL;
		ret = -EEXIST;
		goto err;
	}

	h->registry_fd = memfd_create("redleaf-registry", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (h->registry_fd < 0)
		goto err_errno;
	if (ftruncate(h->registry_fd, (off_t)h->registry_size) < 0)
		goto err_errno;
	void *reg = mmap(NULL, h->registry_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 h->registry_fd, 0);
	if (reg == MAP_FAILED)
		goto err_errno;
	h->hdr = reg;
	h->objs = (struct rl_obj *)((uint8_t *)reg + RL_REGISTRY_HDR);
	if (fcntl(h->registry_fd, F_ADD_SEALS,
		  F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0)
		goto err_errno;

	*h->hdr = layout;
	h->hdr->magic = RL_HEAP_MAGIC;
	h->own_next = malloc(sizeof(uint32_t) * layout.nslots);
	h->own_prev = malloc(sizeof(uint32_t) * layout.nslots);
	h->graph_mark = calloc(layout.nslots, sizeof(uint32_t));
	if (!h->own_next || !h->own_prev || !h->graph_mark) {
		ret = -ENOMEM;
		goto err;
	}
	for (unsigned d = 0; d <= RL_MAX_DOMAINS; d++)
		h->own_head[d] = UINT32_MAX;
	h->hdr->version = 1;
	for (unsigned c = 0; c < RL_NCLASSES; c++) {
		uint32_t n = layout.class_count[c];
		h->free_stack[c] = malloc(sizeof(uint32_t) * (n ? n : 1));
		if (!h->free_stack[c]) {
			ret = -ENOMEM;
			goto err;
		}
		/* Push in reverse so the lowest slots are handed out first. */
		for (uint32_t i = 0; i < n; i++) {
			uint32_t slot = layout.class_first[c] + n - 1 - i;
			h->objs[slot].cls = (uint8_t)c;
			h->objs[slot].gen = 1;
			h->free_stack[c][i] = slot;
		}
		h->free_top[c] = n;
	}
	return 0;

err_errno:
	ret = -errno;
err:
	rl_heap_destroy(h);
	return ret;
}

void rl_heap_destroy(struct rl_heap *h)
{
	for (unsigned c = 0; c < RL_NCLASSES; c++) {
		free(h->free_stack[c]);
		h->free_stack[c] = NULL;
	}
	free(h->own_next);
	free(h->own_prev);
	free(h->graph_mark);
	if (h->hdr)
		munmap(h->hdr, h->registry_size);
	if (h->base)
		munmap(h->base, h->size);
	if (h->heap_fd >= 0)
		close(h->heap_fd);
	if (h->registry_fd >= 0)
		close(h->registry_fd);
	memset(h, 0, sizeof(*h));
	h->heap_fd = h->registry_fd = -1;
}

int rl_heap_registry_ro_fd(const struct rl_heap *h)
{
	char path[64];

	/* Reopening through /proc gives a descriptor whose file mode is read-only. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", h->registry_fd);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int rl_heap_attach(struct rl_heap *h, int heap_fd, int registry_fd)
{
	struct rl_heap_hdr hd;
	struct stat st;
	int ret;

	memset(h, 0, sizeof(*h));
	h->heap_fd = h->registry_fd = -1;
	if (pread(registry_fd, &hd, sizeof(hd), 0) != (ssize_t)sizeof(hd))
		return -EPROTO;
	if (hd.magic != RL_HEAP_MAGIC || hd.heap_size < RL_HEAP_MIN || hd.heap_size > RL_HEAP_MAX)
		return -EPROTO;
	if (fstat(heap_fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size != hd.heap_size)
		return -EPROTO;

	h->size = hd.heap_size;
	h->registry_size = RL_REGISTRY_HDR + (size_t)hd.nslots * sizeof(struct rl_obj);
	h->registry_size = (h->registry_size + 4095) & ~(size_t)4095;
	h->base = mmap((void *)RL_HEAP_BASE, h->size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED_NOREPLACE, heap_fd, 0);
	if (h->base == MAP_FAILED) {
		ret = -errno;
		h->base = NULL;
		return ret;
	}
	if (h->base != (void *)RL_HEAP_BASE) {
		munmap(h->base, h->size);
		h->base = NULL;
		return -EEXIST;
	}
	void *reg = mmap(NULL, h->registry_size, PROT_READ, MAP_SHARED, registry_fd, 0);
	if (reg == MAP_FAILED) {
		ret = -errno;
		munmap(h->base, h->size);
		h->base = NULL;
		return ret;
	}
	h->hdr = reg;
	h->objs = (struct rl_obj *)((uint8_t *)reg + RL_REGISTRY_HDR);
	return 0;
}
