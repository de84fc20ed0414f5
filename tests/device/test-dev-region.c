// SPDX-License-Identifier: MIT
/* The device layer's regions: registration rules and what rl_dev_dma() accepts. */
#include <errno.h>
#include <string.h>

#include "../helpers.h"
#include "dev.h"

int main(void)
{
	struct rl_dev d;
	static uint8_t a[8192], b[4096];

	memset(&d, 0, sizeof(d));
	t_assert_eq(rl_dev_add_region(&d, a, sizeof(a)), 0);
	t_assert_eq(rl_dev_add_region(&d, a, sizeof(a)), 0);           /* the same again: harmless */
	t_assert_eq(d.nregions, 1);
	t_assert_eq(rl_dev_add_region(&d, a + 4096, 100), -EEXIST);   /* overlaps */
	t_assert_eq(rl_dev_add_region(&d, NULL, 10), -EINVAL);
	t_assert_eq(rl_dev_add_region(&d, b, 0), -EINVAL);
	t_assert_eq(rl_dev_add_region(&d, (void *)~(uintptr_t)0, 2), -EINVAL); /* wraps */
	t_assert_eq(rl_dev_add_region(&d, b, sizeof(b)), 0);

	/* Inside one region: its own address. Straddling, outside, too long: 0. */
	t_assert_eq(rl_dev_dma(&d, a, sizeof(a)), (uintptr_t)a);
	t_assert_eq(rl_dev_dma(&d, a + 100, 4), (uintptr_t)(a + 100));
	t_assert_eq(rl_dev_dma(&d, a + sizeof(a) - 1, 1), (uintptr_t)(a + sizeof(a) - 1));
	t_assert_eq(rl_dev_dma(&d, a + sizeof(a) - 1, 2), 0);
	t_assert_eq(rl_dev_dma(&d, a, sizeof(a) + 1), 0);
	t_assert_eq(rl_dev_dma(&d, a + 1, (size_t)-1), 0);
	t_assert_eq(rl_dev_dma(&d, b + 1, 4095), (uintptr_t)(b + 1));
	static uint8_t elsewhere[16];
	t_assert_eq(rl_dev_dma(&d, elsewhere, 1), 0);

	/* A full table, then removal. */
	static uint8_t more[RL_DEV_MAX_REGIONS][64];
	unsigned added = 0;
	for (unsigned i = 0; i < RL_DEV_MAX_REGIONS; i++)
		added += rl_dev_add_region(&d, more[i], 64) == 0;
	t_assert_eq(added, RL_DEV_MAX_REGIONS - 2);
	t_assert_eq(d.nregions, RL_DEV_MAX_REGIONS);
	t_assert_eq(rl_dev_add_region(&d, more[RL_DEV_MAX_REGIONS - 1], 64), -ENOSPC);
	t_assert_eq(rl_dev_remove_region(&d, b), 0);
	t_assert_eq(rl_dev_remove_region(&d, b), -ENOENT);
	t_assert_eq(rl_dev_dma(&d, b, 1), 0);
	t_assert_eq(rl_dev_dma(&d, a, 1), (uintptr_t)a);
	t_assert_eq(rl_dev_add_region(&d, more[RL_DEV_MAX_REGIONS - 1], 64), 0);
	return t_result();
}
