// SPDX-License-Identifier: MIT
/*
 * A domain whose every call churns its heap magazine: Test.null() allocates
 * 100 small objects (more than a magazine holds, so the runtime asks the
 * broker for more on the way), checks that each is a distinct slot it owns,
 * and drops them all. Called with many calls queued at once, the runtime
 * meets invocations while it waits for the broker's heap service; serving
 * them there, inside the refill, would hand out one slot twice.
 */
#include <stdint.h>

#include "redleaf_idl.h"

#define CHURN 100

static int c_null(void *self)
{
	rl_rref r[CHURN];

	for (unsigned i = 0; i < CHURN; i++) {
		int rc = rl_rref_alloc(0, 64, &r[i]);
		if (rc)
			return rc;
		if (!rl_rref_get(r[i]))
			rl_panic("allocated slot %u is not ours", r[i].slot);
		for (unsigned k = 0; k < i; k++)
			if (r[k].slot == r[i].slot)
				rl_panic("slot %u handed out twice", r[i].slot);
	}
	for (unsigned i = 0; i < CHURN; i++)
		rl_rref_drop(r[i]);
	return 0;
}

static const struct Test_ops ops = { .null = c_null };

int rl_domain_main(int argc, char **argv)
{
	int ret = Test_export(&ops, NULL);
	if (ret)
		rl_panic("cannot export Test: %d", ret);
	rl_serve();
}
