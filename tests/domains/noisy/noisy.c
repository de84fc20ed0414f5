// SPDX-License-Identifier: MIT
/*
 * A domain that writes to its stderr what a hostile one would aim at the
 * broker's log: a line made up to look like the broker's own, terminal
 * escape sequences, a line longer than the broker logs at once, and a
 * flood of a mebibyte; then it exits 0. The broker must prefix every line
 * with the domain's name, escape the control characters, cut the long line
 * and drop what goes over the rate, saying how much.
 */
#include <string.h>
#include <unistd.h>

#include "redleaf_idl.h"

static void say(const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(2, s, len);
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

int rl_domain_main(int argc, char **argv)
{
	static const char forged[] = "redleaf[   0.000]: forged: exited with status 0\n";
	static const char escapes[] = "\x1b[2J\x1b[31mred\a\r\n";
	static char long_line[1501], flood[4096];

	say(forged, sizeof(forged) - 1);
	say(escapes, sizeof(escapes) - 1);
	memset(long_line, 'L', sizeof(long_line) - 1);
	long_line[sizeof(long_line) - 1] = '\n';
	say(long_line, sizeof(long_line));
	for (size_t i = 0; i < sizeof(flood); i++)
		flood[i] = i % 64 == 63 ? '\n' : 'f';
	for (unsigned i = 0; i < 256; i++)
		say(flood, sizeof(flood));
	return 0;
}
