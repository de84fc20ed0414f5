/* SPDX-License-Identifier: MIT */
#include "map.h"

#include <stdint.h>
#include <string.h>

#include "arena.h"

struct idl_map_slot {
	const char *key;
	void *value;
	uint64_t hash;
};

/* FNV-1a: short keys, no adversary who profits from collisions beyond slowing a build. */
static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

void idl_map_init(struct idl_map *m, struct idl_arena *arena)
{
	m->arena = arena;
	m->slots = NULL;
	m->cap = m->used = 0;
}

static struct idl_map_slot *find(const struct idl_map *m, const char *key, uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);

	for (;; i = (i + 1) & (m->cap - 1)) {
		struct idl_map_slot *s = &m->slots[i];

		if (!s->key || (s->hash == h && strcmp(s->key, key) == 0))
			return s;
	}
}

void *idl_map_get(const struct idl_map *m, const char *key)
{
	if (!m->cap)
		return NULL;
	return find(m, key, hash_str(key))->value;
}

static void grow(struct idl_map *m)
{
	struct idl_map old = *m;

	m->cap = old.cap ? old.cap * 2 : 16;
	m->slots = idl_arena_alloc(m->arena, m->cap * sizeof(*m->slots));
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key)
			*find(m, old.slots[i].key, old.slots[i].hash) = old.slots[i];
}

void *idl_map_add(struct idl_map *m, const char *key, void *value)
{
	uint64_t h = hash_str(key);
	struct idl_map_slot *s;

	if ((m->used + 1) * 2 > m->cap)
		grow(m);
	s = find(m, key, h);
	if (s->key)
		return s->value;
	s->key = key;
	s->value = value;
	s->hash = h;
	m->used++;
	return NULL;
}
