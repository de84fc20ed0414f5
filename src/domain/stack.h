/* SPDX-License-Identifier: MIT */
/*
 * A fixed place within a page for the stack of everything that runs on the
 * call path: domains (the launcher) and the floors' processes (bench).
 *
 * The kernel randomizes a new process's stack pointer below page
 * granularity too, so the runtime's hot frames land at a different offset
 * within a page in every process. On this project's test machine some of
 * those offsets made batches of 128 calls 11-22 % slower for the lifetime
 * of the system, and two systems of one build disagreed that much
 * (docs/performance.md, item 18). RL_STACK_PIN() moves the stack down to
 * the same offset in every process -- 64 bytes below a page boundary --
 * so one build runs the same way every time. The page itself stays
 * randomized.
 *
 * A macro: the alloca() must live in the frame that goes on to run the
 * code. It costs at most a page plus 64 bytes of stack.
 */
#ifndef REDLEAF_STACK_H
#define REDLEAF_STACK_H

#include <stdint.h>

#define RL_STACK_PAGE 4096u
#define RL_STACK_BELOW 64u /* bytes below the page boundary the frames start */

#define RL_STACK_PIN()                                                                          \
	do {                                                                                    \
		uintptr_t rl_sp_ = (uintptr_t)__builtin_frame_address(0);                       \
		volatile char *rl_pad_ =                                                        \
			__builtin_alloca((rl_sp_ & (RL_STACK_PAGE - 1)) + RL_STACK_BELOW);      \
		rl_pad_[0] = 0; /* used: the allocation stays */                                \
	} while (0)

#endif /* REDLEAF_STACK_H */
