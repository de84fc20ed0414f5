/* SPDX-License-Identifier: MIT */
/*
 * The recovery harness's command line (options.c): --help's text and the
 * options into a struct rec_config.
 */
#ifndef RL_BENCH_RECOVERY_OPTIONS_H
#define RL_BENCH_RECOVERY_OPTIONS_H

#include <stdbool.h>

#include "report.h"

/*
 * Fills *c from argv: the defaults, then the options given. The paths not
 * given (redleaf, domain_path, json_path, plot_path) stay NULL for the
 * caller to find, plot_script and data_dir are left empty, and *no_plot
 * says whether --no-plot was given. Returns 0 to go on, or -1 with the exit
 * status in *status: 0 after --help, 2 after saying on stderr what was
 * wrong. A number out of range exits with status 2 at once.
 */
int rec_options_parse(int argc, char **argv, struct rec_config *c, bool *no_plot, int *status);

#endif /* RL_BENCH_RECOVERY_OPTIONS_H */
