/* SPDX-License-Identifier: MIT */
/* Private to the domain runtime: what the launcher hands the call path. */
#ifndef RL_DOMAIN_RUNTIME_H
#define RL_DOMAIN_RUNTIME_H

#include "channel.h"
#include "heap.h"
#include "registry.h"

void __rl_runtime_devmem(void *mem, size_t size);
void __rl_runtime_device(void *file, size_t size);
void __rl_runtime_init(struct rl_chan *chan, struct rl_bell *bell, const struct rl_heap *heap);

/*
 * The domain's own channel. Every domain can reach it anyway (it is mapped
 * in its address space); test domains that play a hostile domain use this
 * to write raw ring entries and indices.
 */
struct rl_chan *__rl_channel(void);

/* The read-only registry (header page, then one struct rl_obj per slot). */
const struct rl_heap_hdr *__rl_registry_hdr(void);

#endif
