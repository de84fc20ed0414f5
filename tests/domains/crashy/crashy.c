// SPDX-License-Identifier: MIT
/*
 * A domain that dies during its own initialisation, every time: it is how
 * the restart policies' crash-loop handling is tested.
 *
 *   crashy [--abort | --segv]     (default: rl_panic)
 */
#include <signal.h>
#include <string.h>

#include "redleaf_idl.h"

static int *volatile wild = (int *)8;

int rl_domain_main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--segv"))
		*(volatile int *volatile)wild = 1; /* a wild write: SIGSEGV */
	rl_panic("failing during initialisation, as asked");
}
