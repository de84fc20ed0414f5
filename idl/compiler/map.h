/* SPDX-License-Identifier: MIT */
/*
 * String -> pointer map (open addressing, arena-backed). Name lookups must
 * stay linear in the input: a fuzzer happily feeds 100k declarations.
 */
#ifndef IDLC_MAP_H
#define IDLC_MAP_H

#include <stddef.h>

struct idl_arena;

struct idl_map {
	struct idl_arena *arena;
	struct idl_map_slot *slots;
	size_t cap, used;
};

void idl_map_init(struct idl_map *m, struct idl_arena *arena);
/* The value stored under key, or NULL. */
void *idl_map_get(const struct idl_map *m, const char *key);
/*
 * Stores value under key unless the key is present. Returns NULL when it
 * was stored, else the value already there (which is left alone). key must
 * outlive the map (arena strings do).
 */
void *idl_map_add(struct idl_map *m, const char *key, void *value);

#endif /* IDLC_MAP_H */
