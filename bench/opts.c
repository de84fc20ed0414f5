// SPDX-License-Identifier: MIT
#include "opts.h"

#include <errno.h>
#include <stdlib.h>

int rl_parse_count(const char *s, unsigned long long min, unsigned long long max,
		   unsigned long long *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}
