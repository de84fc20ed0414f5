// SPDX-License-Identifier: MIT
/* Summaries of benchmark samples (see samples.h). */
#include <errno.h>

#include "samples.h"

/*
 * Heapsort, not qsort(): glibc's qsort() asks the kernel for the memory
 * size (sysinfo) to pick its algorithm, and the bench domain's seccomp
 * policy rightly refuses that. In place, O(n log n), no allocation.
 */
static void sift_down(double *v, size_t root, size_t n)
{
	for (;;) {
		size_t child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && v[child + 1] > v[child])
			child++;
		if (v[root] >= v[child])
			return;
		double t = v[root];
		v[root] = v[child];
		v[child] = t;
		root = child;
	}
}

static void sort_doubles(double *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (size_t end = n; end-- > 1;) {
		double t = v[0];
		v[0] = v[end];
		v[end] = t;
		sift_down(v, 0, end);
	}
}

/* Nearest rank: the smallest sample with at least q of all samples at or below it. */
static double rank(const double *sorted, size_t n, double q)
{
	size_t k = (size_t)(q * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return sorted[k - 1];
}

int rl_stats_compute(double *v, size_t n, struct rl_stats *out)
{
	double sum = 0;

	if (!n)
		return -EINVAL;
	sort_doubles(v, n);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	out->n = n;
	out->min = v[0];
	out->max = v[n - 1];
	out->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	out->p99 = rank(v, n, 0.99);
	out->mean = sum / (double)n;
	return 0;
}
