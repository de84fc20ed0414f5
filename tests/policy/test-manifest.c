// SPDX-License-Identifier: MIT
/*
 * Manifest parser: good manifests parse into the expected structure, and
 * every bad one is refused with exactly the one-line message
 * "path:line:col: error: ..." a user would see. Positions in the expected
 * messages were checked by hand against the inline text.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "manifest.h"


#define CHECK_STR(a, b) t_check(strcmp((a), (b)) == 0, "%s:%d: '%s' != '%s'", __FILE__, __LINE__, (a), (b))
#define CHECK_INT(a, b) t_check((long long)(a) == (long long)(b), "%s:%d: %s = %lld, expected %lld", \
				__FILE__, __LINE__, #a, (long long)(a), (long long)(b))
#define CHECK_POS(p, l, c) t_check((p).line == (l) && (p).col == (c), "%s:%d: %s = %u:%u, expected %u:%u", \
				   __FILE__, __LINE__, #p, (p).line, (p).col, (unsigned)(l), (unsigned)(c))

static struct rl_manifest *parse_ok(const char *text)
{
	struct rl_manifest *m = NULL;
	char err[512];
	int r = rl_manifest_parse("sys/good.yaml", text, strlen(text), &m, err, sizeof(err));

	t_check(r == 0 && m, "good manifest refused (%d): %s", r, err);
	return r == 0 ? m : NULL;
}

static const char full_example[] =
	"# The example of docs/manifest.md\n"
	"system: blockdemo\n"
	"heap:\n"
	"  size: 128M\n"
	"  hugepages: true\n"
	"broker:\n"
	"  spin_us: 20\n"
	"  cpu: 0\n"
	"domains:\n"
	"  - name: ramblk\n"
	"    binary: ramblk\n"
	"    args: [--blocks, \"1024\", 7]\n"
	"    exports: [BDev, Stats]\n"
	"    syscalls: [io_uring]\n"
	"    restart: backoff\n"
	"    cpu: 1\n"
	"    devmem: 2M\n"
	"  - name: fs\n"
	"    binary: ../bin/rv6\n"
	"    imports:\n"
	"      - {name: bdev, iface: BDev, from: ramblk}\n"
	"      - name: stats\n"
	"        iface: Stats\n"
	"        from: ramblk\n"
	"    restart: always\n"
	"    start: false\n"
	"    isolation: shared\n"
	"  - name: idle\n"
	"    binary: /opt/redleaf/idle\n"
	"    syscalls: [af_xdp, vfio, sanitizer]\n";

static void test_full_example(void)
{
	struct rl_manifest *m = parse_ok(full_example);
	const struct rl_manifest_domain *d;

	if (!m)
		return;
	CHECK_STR(m->path, "sys/good.yaml");
	CHECK_STR(m->dir, "sys");
	CHECK_STR(m->system, "blockdemo");
	CHECK_INT(m->heap_size, 128ull << 20);
	CHECK_INT(m->hugepages, true);
	CHECK_INT(m->spin_us, 20);
	CHECK_INT(m->broker_cpu, 0);
	CHECK_POS(m->broker_cpu_pos, 8, 8);
	CHECK_INT(m->ndomains, 3);

	d = rl_manifest_domain(m, "ramblk");
	t_check(d == &m->domains[0], "ramblk is domain 0");
	CHECK_STR(d->binary, "ramblk");
	CHECK_POS(d->binary_pos, 11, 13);
	CHECK_POS(d->pos, 10, 5);
	CHECK_INT(d->nargs, 3);
	CHECK_STR(d->args[0], "--blocks");
	CHECK_STR(d->args[1], "1024");
	CHECK_STR(d->args[2], "7");
	CHECK_INT(d->nexports, 2);
	CHECK_STR(d->exports[0], "BDev");
	CHECK_STR(d->exports[1], "Stats");
	CHECK_POS(d->export_pos[0], 13, 15);
	CHECK_POS(d->export_pos[1], 13, 21);
	CHECK_INT(d->nimports, 0);
	CHECK_INT(d->nsyscalls, 1);
	CHECK_STR(d->syscalls[0], "io_uring");
	CHECK_POS(d->syscall_pos[0], 14, 16);
	CHECK_INT(d->restart, RL_RESTART_BACKOFF);
	CHECK_INT(d->cpu, 1);
	CHECK_POS(d->cpu_pos, 16, 10);
	CHECK_INT(d->start, true);
	CHECK_INT(d->isolation_shared, false);
	CHECK_INT(d->devmem, 2u << 20);
	CHECK_POS(d->devmem_pos, 17, 13);

	d = rl_manifest_domain(m, "fs");
	t_check(d == &m->domains[1], "fs is domain 1");
	CHECK_STR(d->binary, "../bin/rv6");
	CHECK_INT(d->nargs, 0);
	t_check(d->args == NULL, "no args, NULL array");
	CHECK_INT(d->nexports, 0);
	CHECK_INT(d->nimports, 2);
	CHECK_STR(d->imports[0].name, "bdev");
	CHECK_STR(d->imports[0].iface, "BDev");
	CHECK_STR(d->imports[0].from, "ramblk");
	CHECK_POS(d->imports[0].pos, 21, 9);
	CHECK_POS(d->imports[0].iface_pos, 21, 29);
	CHECK_POS(d->imports[0].from_pos, 21, 41);
	CHECK_STR(d->imports[1].name, "stats");
	CHECK_STR(d->imports[1].iface, "Stats");
	CHECK_STR(d->imports[1].from, "ramblk");
	CHECK_POS(d->imports[1].pos, 22, 9);
	CHECK_POS(d->imports[1].iface_pos, 23, 16);
	CHECK_INT(d->restart, RL_RESTART_ALWAYS);
	CHECK_INT(d->cpu, -1);
	CHECK_INT(d->start, false);
	CHECK_INT(d->isolation_shared, true);
	CHECK_INT(d->nsyscalls, 0);
	CHECK_INT(d->devmem, 0);

	d = rl_manifest_domain(m, "idle");
	t_check(d == &m->domains[2], "idle is domain 2");
	CHECK_STR(d->binary, "/opt/redleaf/idle");
	CHECK_INT(d->nsyscalls, 3);
	CHECK_STR(d->syscalls[2], "sanitizer");
	CHECK_INT(d->restart, RL_RESTART_NEVER);

	t_check(rl_manifest_domain(m, "nope") == NULL, "unknown domain");
	t_check(rl_manifest_domain(m, NULL) == NULL, "NULL name");
	CHECK_STR(rl_restart_policy_name(RL_RESTART_BACKOFF), "backoff");
	CHECK_STR(rl_restart_policy_name((enum rl_restart_policy)42), "?");
	rl_manifest_free(m);
}

static void test_defaults(void)
{
	static const char text[] = "system: s\ndomains: [{name: only, binary: x}]\n";
	struct rl_manifest *m = NULL;
	char err[256];
	int r = rl_manifest_parse("plain.yaml", text, strlen(text), &m, err, sizeof(err));

	t_check(r == 0, "minimal manifest: %s", err);
	if (r)
		return;
	CHECK_STR(m->dir, ".");
	CHECK_INT(m->heap_size, RL_MANIFEST_HEAP_DEFAULT);
	CHECK_INT(m->hugepages, false);
	CHECK_INT(m->spin_us, RL_MANIFEST_SPIN_US_DEFAULT);
	CHECK_INT(m->broker_cpu, -1);
	CHECK_INT(m->broker_threads, 1);
	CHECK_INT(m->ndomains, 1);
	CHECK_INT(m->domains[0].restart, RL_RESTART_NEVER);
	CHECK_INT(m->domains[0].cpu, -1);
	CHECK_INT(m->domains[0].nice_set, false);
	CHECK_INT(m->domains[0].start, true);
	rl_manifest_free(m);

	/* Limits, exactly at the edge, are accepted. */
	m = parse_ok("system: s\nheap: {size: 4M}\nbroker: {spin_us: 1000, cpu: 1023, threads: 16}\n"
		     "domains: [{name: a, binary: x, cpu: 1023, start: true}]\n");
	if (m) {
		CHECK_INT(m->heap_size, 4u << 20);
		CHECK_INT(m->spin_us, 1000);
		CHECK_INT(m->broker_cpu, 1023);
		CHECK_INT(m->broker_threads, 16);
		CHECK_POS(m->broker_threads_pos, 3, 45);
		rl_manifest_free(m);
	}
	m = parse_ok("system: s\ndomains: [{name: a, binary: x, nice: -20}, {name: b, binary: x, nice: 19},\n"
		     "  {name: c, binary: x, nice: 0}, {name: d, binary: x, nice: -0}]\n");
	if (m) {
		CHECK_INT(m->domains[0].nice_set, true);
		CHECK_INT(m->domains[0].nice, -20);
		CHECK_POS(m->domains[0].nice_pos, 2, 38);
		CHECK_INT(m->domains[1].nice, 19);
		CHECK_INT(m->domains[2].nice_set, true);
		CHECK_INT(m->domains[2].nice, 0);
		CHECK_INT(m->domains[3].nice, 0);
		rl_manifest_free(m);
	}
	m = parse_ok("system: s\nheap: {size: 16G, hugepages: false}\ndomains: [{name: a, binary: x}]\n");
	if (m) {
		CHECK_INT(m->heap_size, 16ull << 30);
		rl_manifest_free(m);
	}
	m = parse_ok("system: s\nheap: {size: 4194304}\ndomains: [{name: a, binary: x}]\n");
	if (m) {
		CHECK_INT(m->heap_size, 4u << 20);
		rl_manifest_free(m);
	}
	/* Another document start marker and a document end marker are fine. */
	m = parse_ok("---\nsystem: s\ndomains: [{name: a, binary: x}]\n...\n");
	rl_manifest_free(m);
	/* Names of 31 characters, all allowed characters. */
	m = parse_ok("system: a-b_9\ndomains: [{name: 0123456789-abcdefghijklmnopqrs_, binary: x}]\n");
	if (m)
		CHECK_STR(m->domains[0].name, "0123456789-abcdefghijklmnopqrs_");
	rl_manifest_free(m);
}

struct bad {
	const char *text;
	const char *error; /* without the "bad.yaml:" prefix */
};

#define DOM "system: s\ndomains:\n"

static const struct bad bad_manifests[] = {
	/* The file as a whole. */
	{ "", "1:1: error: the manifest is empty" },
	{ "# only a comment\n\n", "1:1: error: the manifest is empty" },
	{ "- a\n", "1:1: error: the top level must be a mapping, got a sequence" },
	{ "hello\n", "1:1: error: the top level must be a mapping, got a scalar" },
	{ "---\n", "2:1: error: the top level must be a mapping, got nothing" },
	{ "system: s\n---\nsystem: t\n", "2:1: error: multiple documents are not supported" },
	/* YAML syntax, as libyaml reports it. */
	{ "system: a\n  b: c\n", "2:4: error: mapping values are not allowed in this context" },
	{ "system: s\ndomains: [a, b\n",
	  "3:1: error: did not find expected ',' or ']' (while parsing a flow sequence at 2:10)" },
	{ "system: s\n\tdomains: []\n",
	  "2:1: error: found a tab character that violates indentation (while scanning a plain scalar at 1:9)" },
	{ "system: \"abc\n",
	  "2:1: error: found unexpected end of stream (while scanning a quoted scalar at 1:9)" },
	{ "system: s\xff\n", "1:10: error: invalid input: invalid leading UTF-8 octet (byte 0xff)" },
	{ "system: s\nheap: [a\n", "3:1: error: did not find expected ',' or ']' (while parsing a flow sequence at 2:7)" },
	/* YAML features the manifest does not use. */
	{ "system: &name s\n", "1:9: error: anchors and aliases are not supported" },
	{ "system: s\nheap: *h\n", "2:7: error: aliases are not supported" },
	{ "system: !!str s\n", "1:9: error: tags are not supported" },
	{ "system: s\nheap: !custom {size: 4M}\n", "2:7: error: tags are not supported" },
	{ "a: [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]\n", "1:19: error: nesting deeper than 16 levels" },
	/* Keys. */
	{ "system: s\nfoo: 1\n",
	  "2:1: error: unknown key 'foo' at the top level (allowed: system, heap, broker, domains)" },
	{ "system: s\nsystem: t\n", "2:1: error: duplicate key 'system' (first at 1:1)" },
	{ "? [a]\n: b\n", "1:3: error: keys must be strings, got a sequence" },
	{ "domains:\n  - {name: a, binary: a}\n",
	  "1:1: error: missing required key 'system' at the top level" },
	{ "system: s\n", "1:1: error: missing required key 'domains' at the top level" },
	/* system */
	{ "system: Demo\n", "1:9: error: bad system name 'Demo': use only a-z, 0-9, '_' and '-'" },
	{ "system: a b\n", "1:9: error: bad system name 'a b': use only a-z, 0-9, '_' and '-'" },
	{ "system: abcdefghijklmnopqrstuvwxyz0123456\n",
	  "1:9: error: system name 'abcdefghijklmnopqrstuvwxyz0123456' is too long (at most 31 characters)" },
	{ "system:\n", "1:8: error: system name is empty" },
	{ "system: {a: b}\n", "1:9: error: system name must be a string, got a mapping" },
	{ "system: \"a\\tb\"\n", "1:9: error: bad system name 'a?b': use only a-z, 0-9, '_' and '-'" },
	/* heap */
	{ "system: s\nheap: 64M\n", "2:7: error: heap must be a mapping, got a scalar" },
	{ "system: s\nheap:\n  sizes: 4M\n",
	  "3:3: error: unknown key 'sizes' in heap (allowed: size, hugepages)" },
	{ "system: s\nheap: {size: 64X}\n",
	  "2:14: error: heap size must be a number of bytes with an optional K, M or G suffix, got '64X'" },
	{ "system: s\nheap: {size: 64MB}\n",
	  "2:14: error: heap size must be a number of bytes with an optional K, M or G suffix, got '64MB'" },
	{ "system: s\nheap: {size: -4M}\n",
	  "2:14: error: heap size must be a number of bytes with an optional K, M or G suffix, got '-4M'" },
	{ "system: s\nheap: {size: M}\n",
	  "2:14: error: heap size must be a number of bytes with an optional K, M or G suffix, got 'M'" },
	{ "system: s\nheap: {size: \"64M\"}\n", "2:14: error: heap size must be written without quotes" },
	{ "system: s\nheap: {size: 1M}\n", "2:14: error: heap size 1M is out of range (4M..16G)" },
	{ "system: s\nheap: {size: 17G}\n", "2:14: error: heap size 17G is out of range (4M..16G)" },
	{ "system: s\nheap: {size: 99999999999999999999999G}\n",
	  "2:14: error: heap size 99999999999999999999999G is out of range (4M..16G)" },
	{ "system: s\nheap: {size: 4194305}\n", "2:14: error: heap size 4194305 is not a multiple of 4K" },
	{ "system: s\nheap: {size: 5M, hugepages: true}\n",
	  "2:14: error: heap size 5M is not a multiple of 2M (required with hugepages)" },
	{ "system: s\nheap: {hugepages: yes}\n", "2:19: error: hugepages must be true or false, got 'yes'" },
	{ "system: s\nheap: {hugepages: \"true\"}\n",
	  "2:19: error: hugepages must be true or false, written without quotes" },
	{ "system: s\nheap: {size: 4M, size: 8M}\n", "2:18: error: duplicate key 'size' (first at 2:8)" },
	/* broker */
	{ "system: s\nbroker: {spin_us: 1001}\n",
	  "2:19: error: spin_us must be an integer from 0 to 1000, got '1001'" },
	{ "system: s\nbroker: {spin_us: 0x10}\n",
	  "2:19: error: spin_us must be an integer from 0 to 1000, got '0x10'" },
	{ "system: s\nbroker: {cpu: 1024}\n", "2:15: error: cpu must be an integer from 0 to 1023, got '1024'" },
	{ "system: s\nbroker: {cpu: -1}\n", "2:15: error: cpu must be an integer from 0 to 1023, got '-1'" },
	{ "system: s\nbroker: {cpu: [1]}\n", "2:15: error: cpu must be an integer from 0 to 1023, got a sequence" },
	{ "system: s\nbroker: {cpu: '1'}\n",
	  "2:15: error: cpu must be an integer from 0 to 1023, written without quotes" },
	{ "system: s\nbroker: {poll: maybe}\n",
	  "2:16: error: poll must be true or false, got 'maybe'" },
	{ "system: s\nbroker: {cores: 2}\n",
	  "2:10: error: unknown key 'cores' in broker (allowed: spin_us, poll, cpu, threads)" },
	{ "system: s\nbroker: {threads: 0}\n", "2:19: error: threads must be an integer from 1 to 16, got '0'" },
	{ "system: s\nbroker: {threads: 17}\n", "2:19: error: threads must be an integer from 1 to 16, got '17'" },
	{ "system: s\nbroker: {threads: -2}\n", "2:19: error: threads must be an integer from 1 to 16, got '-2'" },
	/* domains */
	{ "system: s\ndomains: {a: b}\n", "2:10: error: domains must be a sequence, got a mapping" },
	{ "system: s\ndomains: []\n", "2:10: error: domains must list at least one domain" },
	{ "system: s\ndomains:\n", "2:9: error: domains must be a sequence, got nothing" },
	{ DOM "  - ramblk\n", "3:5: error: a domain must be a mapping, got a scalar" },
	{ DOM "  - {binary: x}\n", "3:5: error: missing required key 'name' in a domain" },
	{ DOM "  - {name: a}\n", "3:5: error: missing required key 'binary' in a domain" },
	{ DOM "  - {name: a, binary: x, bin: y}\n",
	  "3:26: error: unknown key 'bin' in a domain (allowed: name, binary, args, exports, imports, "
	  "syscalls, restart, cpu, nice, start, devmem, isolation, uring, standby, quota, device)" },
	/* device */
#define DEV DOM "  - name: a\n    binary: x\n    devmem: 64K\n    device: "
	{ DEV "nvme\n", "6:13: error: device must be a mapping, got a scalar" },
	{ DEV "{blocks: 8}\n", "6:13: error: missing required key 'model' in device" },
	{ DEV "{model: ahci, blocks: 8}\n", "6:21: error: device model must be nvme, got 'ahci'" },
	{ DEV "{model: [nvme], blocks: 8}\n", "6:21: error: device model must be nvme, got a sequence" },
	{ DEV "{model: nvme, blocks: 0}\n",
	  "6:35: error: device blocks must be a whole number from 1 to 2147483648, got '0'" },
	{ DEV "{model: nvme, blocks: \"8\"}\n",
	  "6:35: error: device blocks must be a whole number from 1 to 2147483648, got '8'" },
	{ DEV "{model: nvme, blocks: 2147483649}\n",
	  "6:35: error: device blocks must be a whole number from 1 to 2147483648, got '2147483649'" },
	{ DEV "{model: nvme, blocks: 8, block_size: 520}\n",
	  "6:50: error: device block_size must be 512, 1024, 2048 or 4096, got 520" },
	{ DEV "{model: nvme, blocks: 8, block_size: 8192}\n",
	  "6:50: error: device block_size must be an integer from 512 to 4096, got '8192'" },
	{ DEV "{model: nvme, blocks: 9}\n",
	  "6:13: error: device: 9 blocks of 512 bytes is not a multiple of 4K up to 1T" },
	{ DEV "{model: nvme, blocks: 2147483648, block_size: 1024}\n",
	  "6:13: error: device: 2147483648 blocks of 1024 bytes is not a multiple of 4K up to 1T" },
	{ DEV "{model: nvme}\n", "6:13: error: device: needs blocks (a namespace in RAM) or file" },
	{ DEV "{model: nvme, blocks: 8, file: disk.img}\n",
	  "6:13: error: device: blocks and file exclude each other (a file namespace has the file's size)" },
	{ DEV "{model: nvme, file: ''}\n", "6:33: error: device file is empty" },
	{ DEV "{model: nvme, file: [a]}\n", "6:33: error: device file must be a string, got a sequence" },
	{ DEV "{model: nvme, blocks: 8, size: 4K}\n",
	  "6:38: error: unknown key 'size' in device (allowed: model, blocks, block_size, file)" },
	{ DEV "{model: nvme, model: nvme}\n", "6:27: error: duplicate key 'model' (first at 6:14)" },
	{ DOM "  - {name: a, binary: x, device: {model: nvme, blocks: 8}}\n",
	  "3:34: error: device: the domain needs devmem (its driver's queues live there)" },
#undef DEV
	{ DOM "  - {name: a, binary: x, devmem: 1K}\n", "3:34: error: devmem 1K is out of range (4K..16G)" },
	{ DOM "  - {name: a, binary: x, devmem: 17G}\n", "3:34: error: devmem 17G is out of range (4K..16G)" },
	{ DOM "  - {name: a, binary: x, devmem: 5000}\n", "3:34: error: devmem 5000 is not a multiple of 4K" },
	{ DOM "  - {name: a, binary: x, devmem: lots}\n",
	  "3:34: error: devmem must be a number of bytes with an optional K, M or G suffix, got 'lots'" },
	{ DOM "  - {name: a, binary: x}\n  - {name: b, binary: x}\n  - {name: a, binary: y}\n",
	  "5:12: error: duplicate domain name 'a' (first at 3:12)" },
	{ DOM "  - {name: Ram, binary: x}\n", "3:12: error: bad domain name 'Ram': use only a-z, 0-9, '_' and '-'" },
	{ DOM "  - {name: a, binary: ''}\n", "3:23: error: binary is empty" },
	{ DOM "  - {name: a, binary: \"x\\0y\"}\n", "3:23: error: binary contains a NUL byte" },
	{ DOM "  - {name: a, binary: [x]}\n", "3:23: error: binary must be a string, got a sequence" },
	{ DOM "  - {name: a, binary: x, args: --blocks}\n", "3:32: error: args must be a sequence, got a scalar" },
	{ DOM "  - {name: a, binary: x, args: [{a: b}]}\n",
	  "3:33: error: an argument must be a string, got a mapping" },
	{ DOM "  - {name: a, binary: x, restart: sometimes}\n",
	  "3:35: error: restart must be never, always or backoff, got 'sometimes'" },
	{ DOM "  - {name: a, binary: x, restart: [never]}\n",
	  "3:35: error: restart must be never, always or backoff, got a sequence" },
	{ DOM "  - {name: a, binary: x, uring: {entries: 8}}\n", "3:33: error: missing required key 'files' in uring" },
	{ DOM "  - {name: a, binary: x, uring: {files: []}}\n", "3:41: error: files must list at least one file" },
	{ DOM "  - {name: a, binary: x, uring: {files: [f], entries: 6}}\n",
	  "3:55: error: entries 6 is not a power of two" },
	{ DOM "  - {name: a, binary: x, uring: {files: [f], entries: 8192}}\n",
	  "3:55: error: entries must be an integer from 1 to 4096, got '8192'" },
	{ DOM "  - {name: a, binary: x, uring: {files: [''], entries: 8}}\n", "3:42: error: a file is empty" },
	{ DOM "  - {name: a, binary: x, uring: [f]}\n", "3:33: error: uring must be a mapping, got a sequence" },
	{ DOM "  - {name: a, binary: x, imports: [{name: t, iface: Test, from: b, deadline: 5}]}\n",
	  "3:78: error: deadline must be a duration from 1ms to 3600s (like 250ms or 2s), got '5'" },
	{ DOM "  - {name: a, binary: x, imports: [{name: t, iface: Test, from: b, deadline: 0ms}]}\n",
	  "3:78: error: deadline must be a duration from 1ms to 3600s (like 250ms or 2s), got '0ms'" },
	{ DOM "  - {name: a, binary: x, imports: [{name: t, iface: Test, from: b, deadline: 3601s}]}\n",
	  "3:78: error: deadline must be a duration from 1ms to 3600s (like 250ms or 2s), got '3601s'" },
	{ DOM "  - {name: a, binary: x, imports: [{name: t, iface: Test, from: b, deadline: -5ms}]}\n",
	  "3:78: error: deadline must be a duration from 1ms to 3600s (like 250ms or 2s), got '-5ms'" },
	{ DOM "  - {name: a, binary: x, imports: [{name: t, iface: Test, from: b, deadline: [1s]}]}\n",
	  "3:78: error: deadline must be a duration like 250ms or 2s, got a sequence" },
	{ DOM "  - {name: a, binary: x, standby: true}\n",
	  "3:35: error: standby: true needs a restart policy (restart: always or backoff)" },
	{ DOM "  - {name: a, binary: x, restart: always, standby: maybe}\n",
	  "3:52: error: standby must be true or false, got 'maybe'" },
	{ DOM "  - {name: a, binary: x, isolation: none}\n",
	  "3:37: error: isolation must be own or shared, got 'none'" },
	{ DOM "  - {name: a, binary: x, isolation: [own]}\n",
	  "3:37: error: isolation must be own or shared, got a sequence" },
	{ DOM "  - {name: a, binary: x, cpu: 4096}\n", "3:31: error: cpu must be an integer from 0 to 1023, got '4096'" },
	{ DOM "  - {name: a, binary: x, nice: 20}\n", "3:32: error: nice must be an integer from -20 to 19, got '20'" },
	{ DOM "  - {name: a, binary: x, nice: -21}\n", "3:32: error: nice must be an integer from -20 to 19, got '-21'" },
	{ DOM "  - {name: a, binary: x, nice: -}\n", "3:32: error: nice must be an integer from -20 to 19, got '-'" },
	{ DOM "  - {name: a, binary: x, nice: --3}\n", "3:32: error: nice must be an integer from -20 to 19, got '--3'" },
	{ DOM "  - {name: a, binary: x, nice: -99999999999}\n",
	  "3:32: error: nice must be an integer from -20 to 19, got '-99999999999'" },
	{ DOM "  - {name: a, binary: x, nice: '-3'}\n",
	  "3:32: error: nice must be an integer from -20 to 19, written without quotes" },
	{ DOM "  - {name: a, binary: x, start: no}\n", "3:33: error: start must be true or false, got 'no'" },
	{ DOM "  - {name: a, binary: x, start: {}}\n", "3:33: error: start must be true or false, got a mapping" },
	/* exports */
	{ DOM "  - {name: a, binary: x, exports: BDev}\n", "3:35: error: exports must be a sequence, got a scalar" },
	{ DOM "  - {name: a, binary: x, exports: [B-Dev]}\n",
	  "3:36: error: bad export 'B-Dev': use a letter or '_', then letters, digits or '_'" },
	{ DOM "  - {name: a, binary: x, exports: [1BDev]}\n",
	  "3:36: error: bad export '1BDev': use a letter or '_', then letters, digits or '_'" },
	{ DOM "  - {name: a, binary: x, exports: [BDev, Net, BDev]}\n",
	  "3:47: error: duplicate export 'BDev' (first at 3:36)" },
	{ DOM "  - {name: a, binary: x, exports: [A, B, C, D, E, F, G, H, I]}\n",
	  "3:60: error: too many exports (at most 8)" },
	{ DOM "  - {name: a, binary: x, exports: [ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg]}\n",
	  "3:36: error: export 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg' is too long (at most 31 characters)" },
	/* imports */
	{ DOM "  - {name: a, binary: x, imports: bdev}\n", "3:35: error: imports must be a sequence, got a scalar" },
	{ DOM "  - {name: a, binary: x, imports: [bdev]}\n",
	  "3:36: error: an import must be a mapping with name, iface and from, got a scalar" },
	{ DOM "  - {name: a, binary: x, imports: [{name: b, iface: I}]}\n",
	  "3:36: error: missing required key 'from' in an import" },
	{ DOM "  - {name: a, binary: x, imports: [{name: b, iface: I, from: c, via: d}]}\n",
	  "3:65: error: unknown key 'via' in an import (allowed: name, iface, from, deadline)" },
	{ DOM "  - {name: a, binary: x, imports: [{name: b, iface: I-x, from: c}]}\n",
	  "3:53: error: bad iface 'I-x': use a letter or '_', then letters, digits or '_'" },
	{ DOM "  - {name: a, binary: x, exports: [I]}\n"
	      "  - name: b\n"
	      "    binary: x\n"
	      "    imports:\n"
	      "      - {name: one, iface: I, from: a}\n"
	      "      - {name: one, iface: I, from: a}\n",
	  "8:16: error: duplicate import name 'one' (first at 7:16)" },
	{ DOM "  - {name: a, binary: x, exports: [I], imports: [{name: me, iface: I, from: a}]}\n",
	  "3:77: error: import 'me': domain 'a' imports from itself" },
	{ DOM "  - {name: a, binary: x, imports: [{name: blk, iface: BDev, from: ramblk}]}\n",
	  "3:67: error: import 'blk': no domain named 'ramblk'" },
	{ DOM "  - {name: a, binary: x, exports: [Net, Stats]}\n"
	      "  - {name: b, binary: x, imports: [{name: blk, iface: BDev, from: a}]}\n",
	  "4:55: error: import 'blk': domain 'a' does not export 'BDev' (it exports: Net, Stats)" },
	{ DOM "  - {name: a, binary: x}\n"
	      "  - {name: b, binary: x, imports: [{name: blk, iface: BDev, from: a}]}\n",
	  "4:55: error: import 'blk': domain 'a' does not export 'BDev' (it exports nothing)" },
	/* syscalls */
	{ DOM "  - {name: a, binary: x, syscalls: io_uring}\n",
	  "3:36: error: syscalls must be a sequence, got a scalar" },
	{ DOM "  - {name: a, binary: x, syscalls: [net]}\n",
	  "3:37: error: unknown seccomp group 'net' (known: base, io_uring, af_xdp, vfio, sanitizer)" },
	{ DOM "  - {name: a, binary: x, syscalls: [vfio, vfio]}\n",
	  "3:43: error: duplicate seccomp group 'vfio' (first at 3:37)" },
	{ DOM "  - {name: a, binary: x, syscalls: [[vfio]]}\n",
	  "3:37: error: a seccomp group must be a string, got a sequence" },
	/* The first error in the file is the one reported. */
	{ "system: s\nheap: {size: 1K}\nfoo: 1\n", "2:14: error: heap size 1K is out of range (4M..16G)" },
};

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bad_manifests) / sizeof(bad_manifests[0]); i++) {
		const struct bad *b = &bad_manifests[i];
		struct rl_manifest *m = (struct rl_manifest *)&t_checks; /* must stay untouched */
		char err[512], want[512];
		int r;

		snprintf(want, sizeof(want), "bad.yaml:%s", b->error);
		r = rl_manifest_parse("bad.yaml", b->text, strlen(b->text), &m, err, sizeof(err));
		t_check(r == -EINVAL, "bad manifest %zu returned %d, not -EINVAL", i, r);
		t_check(m == (struct rl_manifest *)&t_checks, "bad manifest %zu: out was touched", i);
		t_check(strcmp(err, want) == 0, "bad manifest %zu:\n  got  %s\n  want %s", i, err, want);
	}
}

/* Inputs too big for an inline string: built here. */
static char *repeat(const char *head, const char *item, unsigned n, const char *tail)
{
	size_t hl = strlen(head), il = strlen(item), tl = strlen(tail);
	char *s = malloc(hl + il * n + tl + 1), *p;

	if (!s)
		abort();
	p = mempcpy(s, head, hl);
	for (unsigned i = 0; i < n; i++)
		p = mempcpy(p, item, il);
	p = mempcpy(p, tail, tl);
	*p = '\0';
	return s;
}

static void expect_error(const char *text, size_t len, int want_r, const char *want)
{
	struct rl_manifest *m = NULL;
	char err[512];
	int r = rl_manifest_parse("gen.yaml", text, len, &m, err, sizeof(err));

	t_check(r == want_r && m == NULL, "generated: got %d, want %d", r, want_r);
	t_check(strcmp(err, want) == 0, "generated:\n  got  %s\n  want %s", err, want);
}

static void test_generated(void)
{
	char *s, *t;

	/* 65 domains: the 65th is at line 67, column 5. */
	t = malloc(65 * 40 + 64);
	strcpy(t, "system: s\ndomains:\n");
	for (int i = 0; i < 65; i++)
		sprintf(t + strlen(t), "  - {name: d%d, binary: x}\n", i);
	expect_error(t, strlen(t), -EINVAL, "gen.yaml:67:5: error: too many domains (at most 64)");
	free(t);

	/* 64 domains are fine. */
	t = malloc(64 * 40 + 64);
	strcpy(t, "system: s\ndomains:\n");
	for (int i = 0; i < 64; i++)
		sprintf(t + strlen(t), "  - {name: d%d, binary: x}\n", i);
	{
		struct rl_manifest *m = parse_ok(t);

		if (m)
			CHECK_INT(m->ndomains, 64);
		rl_manifest_free(m);
	}
	free(t);

	/* 65 args: line 2 starts with 38 bytes of "domains: [{...args: [", each "x, " is 3. */
	s = repeat("system: s\ndomains: [{name: a, binary: x, args: [", "x, ", 65, "]}]\n");
	expect_error(s, strlen(s), -EINVAL, "gen.yaml:2:231: error: too many args (at most 64)");
	free(s);

	/* 17 imports. */
	t = malloc(4096);
	strcpy(t, "system: s\ndomains:\n  - {name: a, binary: x, exports: [I]}\n  - name: b\n    binary: x\n"
		  "    imports:\n");
	for (int i = 0; i < 17; i++)
		sprintf(t + strlen(t), "      - {name: i%d, iface: I, from: a}\n", i);
	expect_error(t, strlen(t), -EINVAL, "gen.yaml:23:9: error: too many imports (at most 16)");
	free(t);

	/* An argument of 1024 bytes (at most 1023). */
	s = repeat("system: s\ndomains: [{name: a, binary: x, args: [", "y", 1024, "]}]\n");
	expect_error(s, strlen(s), -EINVAL,
		     "gen.yaml:2:39: error: an argument is too long (1024 bytes, at most 1023)");
	free(s);

	/* A binary path of 4096 bytes (at most 4095). */
	s = repeat("system: s\ndomains: [{name: a, binary: ", "b", 4096, "}]\n");
	expect_error(s, strlen(s), -EINVAL,
		     "gen.yaml:2:29: error: binary is too long (4096 bytes, at most 4095)");
	free(s);

	/* A deeply nested flow sequence. */
	s = repeat("x: ", "[", 100000, "");
	expect_error(s, strlen(s), -EINVAL, "gen.yaml:1:19: error: nesting deeper than 16 levels");
	free(s);

	/* More than 1 MiB. */
	s = repeat("", "#", RL_MANIFEST_MAX_BYTES + 1, "");
	expect_error(s, strlen(s), -EFBIG,
		     "gen.yaml: error: manifest is too large (1048577 bytes, at most 1048576)");
	free(s);

	/* Embedded NUL bytes in the buffer itself are a reader error, not a crash. */
	expect_error("system: s\0x\n", 12, -EINVAL,
		     "gen.yaml:1:10: error: invalid input: control characters are not allowed (byte 0x00)");
}

static void test_err_buffer(void)
{
	struct rl_manifest *m = NULL;
	char small[16];

	/* Truncated, but terminated, and never written past errlen. */
	memset(small, 'Z', sizeof(small));
	t_check(rl_manifest_parse("bad.yaml", "- a\n", 4, &m, small, 10) == -EINVAL, "small buffer");
	CHECK_STR(small, "bad.yaml:");
	t_check(small[10] == 'Z', "nothing written past errlen");
	t_check(rl_manifest_parse("bad.yaml", "- a\n", 4, &m, NULL, 0) == -EINVAL, "no buffer");
	t_check(rl_manifest_parse(NULL, "- a\n", 4, &m, small, sizeof(small)) == -EINVAL, "no path");
	t_check(strncmp(small, "<manifest>:1:1", 14) == 0, "default path in messages: %s", small);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void test_load(void)
{
	const char *base = getenv("T_TMPDIR");
	char dir[PATH_MAX], path[PATH_MAX + 32], want[PATH_MAX * 2], real[PATH_MAX];
	struct rl_manifest *m = NULL;
	char err[PATH_MAX * 2];
	int r, fd;

	snprintf(dir, sizeof(dir), "%s/manifest-XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}

	snprintf(path, sizeof(path), "%s/good.yaml", dir);
	write_file(path, full_example);
	r = rl_manifest_load(path, &m, err, sizeof(err));
	t_check(r == 0, "load good: %s", err);
	if (r == 0) {
		t_check(realpath(dir, real) != NULL, "realpath");
		CHECK_STR(m->path, path);
		CHECK_STR(m->dir, real);
		CHECK_INT(m->ndomains, 3);
		rl_manifest_free(m);
		m = NULL;
	}
	unlink(path);

	snprintf(path, sizeof(path), "%s/bad.yaml", dir);
	write_file(path, "system: s\nheap: 1\n");
	r = rl_manifest_load(path, &m, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:2:7: error: heap must be a mapping, got a scalar", path);
	t_check(r == -EINVAL && strcmp(err, want) == 0, "load bad: %d %s", r, err);
	unlink(path);

	snprintf(path, sizeof(path), "%s/missing.yaml", dir);
	r = rl_manifest_load(path, &m, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: error: cannot open: No such file or directory", path);
	t_check(r == -ENOENT && strcmp(err, want) == 0, "load missing: %d %s", r, err);

	r = rl_manifest_load(dir, &m, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: error: cannot read: Is a directory", dir);
	t_check(r == -EISDIR && strcmp(err, want) == 0, "load directory: %d %s", r, err);

	/* A sparse 2 MiB file: refused by size before reading. */
	snprintf(path, sizeof(path), "%s/huge.yaml", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	t_check(fd >= 0 && ftruncate(fd, 2 << 20) == 0, "sparse file");
	if (fd >= 0)
		close(fd);
	r = rl_manifest_load(path, &m, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: error: manifest is too large (2097152 bytes, at most 1048576)",
		 path);
	t_check(r == -EFBIG && strcmp(err, want) == 0, "load huge: %d %s", r, err);
	unlink(path);

	/* Unreadable (for anyone but root, who reads anyway). */
	snprintf(path, sizeof(path), "%s/secret.yaml", dir);
	write_file(path, full_example);
	chmod(path, 0);
	r = rl_manifest_load(path, &m, err, sizeof(err));
	if (geteuid() == 0) {
		t_check(r == 0, "root reads mode 000: %s", err);
		rl_manifest_free(m);
		m = NULL;
	} else {
		snprintf(want, sizeof(want), "%s: error: cannot open: Permission denied", path);
		t_check(r == -EACCES && strcmp(err, want) == 0, "load unreadable: %d %s", r, err);
	}
	unlink(path);
	t_check(m == NULL, "out untouched by failed loads");
	rmdir(dir);
}

/* device: a RAM namespace (block_size defaulting to 512), a file namespace, and no device at all. */
static void test_device(void)
{
	struct rl_manifest *m = parse_ok("system: s\ndomains:\n"
					 "  - {name: a, binary: x, devmem: 1M, device: {model: nvme, blocks: 16384}}\n"
					 "  - name: b\n    binary: x\n    device: {model: nvme, block_size: 4096, file: d.img}\n"
					 "    devmem: 64K\n"
					 "  - {name: c, binary: x}\n");
	if (!m)
		return;
	const struct rl_manifest_device *dev = &m->domains[0].device;
	CHECK_INT(dev->model, RL_DEVICE_NVME);
	CHECK_INT(dev->blocks, 16384);
	CHECK_INT(dev->block_size, 512);
	t_check(dev->file == NULL, "RAM namespace has no file");
	CHECK_POS(dev->pos, 3, 46);
	dev = &m->domains[1].device;
	CHECK_INT(dev->model, RL_DEVICE_NVME);
	CHECK_INT(dev->blocks, 0);
	CHECK_INT(dev->block_size, 4096);
	CHECK_STR(dev->file, "d.img");
	CHECK_POS(dev->file_pos, 6, 51);
	CHECK_INT(m->domains[2].device.model, RL_DEVICE_NONE);
	rl_manifest_free(m);
	/* The largest RAM namespace: 1 TiB. */
	m = parse_ok("system: s\ndomains: [{name: a, binary: x, devmem: 8K,\n"
		     "  device: {model: nvme, blocks: 2147483648}}]\n");
	if (m)
		CHECK_INT(m->domains[0].device.blocks * m->domains[0].device.block_size, 1ull << 40);
	rl_manifest_free(m);
}

int main(void)
{
	test_full_example();
	test_defaults();
	test_device();
	test_bad();
	test_generated();
	test_err_buffer();
	test_load();
	printf("%u checks, %u failed\n", t_checks, t_failures);
	return t_failures ? 1 : 0;
}
