// SPDX-License-Identifier: MIT
/*
 * The shadow domain: wraps the domain behind its import (default "target")
 * and exports the same interface through the IDL-generated shadow
 * dispatcher, so its clients never see that domain crash and restart. It is
 * generic: any interface declared `shadow interface` in the IDL can be
 * wrapped, named only in the manifest.
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
	uint16_t iface = 0;
	const unsigned n = sizeof(rl_idl_shadow_dispatch) / sizeof(rl_idl_shadow_dispatch[0]);
	int r = rl_shadow_export(sh, rl_idl_shadow_dispatch, n, &iface);
	const char *name = iface < rl_idl_nifaces ? rl_idl_ifaces[iface].name : "?";
	if (r == -ENOENT)
		rl_panic("the manifest gives this shadow no interface to export");
	if (r == -ENOTSUP)
		rl_panic("interface %s has no shadow: declare it 'shadow interface %s' in its .idl", name, name);
	if (r == -EPROTOTYPE)
		rl_panic("exports %s, but import '%s' is another interface: a shadow exports what it wraps",
			 name, import);
	if (r)
		rl_panic("cannot export %s: %s", name, strerror(-r));
	rl_serve();
}
