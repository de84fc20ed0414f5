// SPDX-License-Identifier: MIT
/*
 * A shadow domain: wraps the domain behind its import (default "target")
 * and exports the same interfaces through the IDL-generated shadow
 * dispatchers, so its clients never see that domain crash and restart.
 *
 *   shadow [--deadline MS] [IMPORT]
 *
 * It waits out crashes for as long as the wrapped domain's restart policy
 * keeps restarting it. --deadline bounds that per call: a call still not
 * done MS milliseconds after it reached the shadow fails with -ETIMEDOUT.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "redleaf_idl.h"

#define USAGE "usage: shadow [--deadline MS] [IMPORT]"

int rl_domain_main(int argc, char **argv)
{
	const char *import = "target";
	unsigned long long deadline_ms = 0;
	int exported = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--deadline")) {
			char *end;
			if (i + 1 == argc)
				rl_panic("--deadline needs a number of milliseconds (" USAGE ")");
			const char *v = argv[++i];
			errno = 0;
			deadline_ms = strtoull(v, &end, 10);
			if (*v < '0' || *v > '9' || *end || errno || !deadline_ms || deadline_ms > 86400000)
				rl_panic("--deadline takes 1 to 86400000 milliseconds, not '%s'", v);
		} else if (argv[i][0] == '-') {
			rl_panic("unknown option '%s' (" USAGE ")", argv[i]);
		} else if (i == argc - 1) {
			import = argv[i];
		} else {
			rl_panic("more than one import named (" USAGE ")");
		}
	}
	struct rl_shadow *sh = rl_shadow_new(import);
	if (!sh)
		rl_panic("no import named '%s' to shadow", import);
	rl_shadow_set_deadline(sh, deadline_ms);
	/* Export a shadow of every interface the manifest lists for us. */
	if (!BDev_export_shadow(sh))
		exported++;
	if (!Test_export_shadow(sh))
		exported++;
	if (!exported)
		rl_panic("the manifest gives this shadow no interface it knows (BDev, Test)");
	rl_serve();
}
