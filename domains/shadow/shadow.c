// SPDX-License-Identifier: MIT
/*
 * A shadow domain: wraps the domain behind its import (default "target")
 * and exports the same interfaces through the IDL-generated shadow
 * dispatchers, so its clients never see that domain crash and restart.
 *
 *   shadow [IMPORT]
 */
#include <errno.h>

#include "redleaf_idl.h"

int rl_domain_main(int argc, char **argv)
{
	const char *import = argc > 1 ? argv[1] : "target";
	struct rl_shadow *sh = rl_shadow_new(import);
	int exported = 0;

	if (!sh)
		rl_panic("no import named '%s' to shadow", import);
	/* Export a shadow of every interface the manifest lists for us. */
	if (!BDev_export_shadow(sh))
		exported++;
	if (!Test_export_shadow(sh))
		exported++;
	if (!exported)
		rl_panic("the manifest gives this shadow no interface it knows (BDev, Test)");
	rl_serve();
}
