// SPDX-License-Identifier: MIT
/*
 * redleaf-nvme-model: runs the NVMe controller model (nvme_model.h) on
 * descriptors it inherits. Whoever starts it (the broker, a test) creates the
 * memfds: the model file for BAR0 and one per DMA region, which the model
 * maps at the given address, the same as in the driver.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nvme_model.h"

static const char usage[] =
	"usage: redleaf-nvme-model --bar-fd FD --dma FD@ADDRESS [--dma FD@ADDRESS ...] [OPTIONS]\n"
	"\n"
	"Runs an NVMe 1.4 controller model on inherited descriptors until stopped\n"
	"(SIGTERM, or the stop flag of its control page).\n"
	"\n"
	"  --bar-fd FD          the model file (a memfd): BAR0 (16 KiB) and a control page\n"
	"  --dma FD@ADDRESS     a DMA region: the memfd FD, mapped at ADDRESS (hex 0x..., page\n"
	"                       aligned) exactly as in the driver; up to 8\n"
	"  --ram SIZE           namespace in RAM of SIZE bytes (K, M, G suffixes; default 64M)\n"
	"  --backing FILE       namespace in FILE (opened read-write; its size)\n"
	"  --backing-fd FD      namespace in the inherited file FD\n"
	"  --lba-size N         512 (default), 1024, 2048 or 4096\n"
	"  --mdts N             largest transfer 2^N pages of 4 KiB, 1..10 (default 8: 1 MiB)\n"
	"  --mqes N             largest queue, zero-based, 1..65535 (default 1023)\n"
	"  --dstrd N            doorbell stride 4 << N bytes, 0..4 (default 0)\n"
	"  --timeout N          CAP.TO in 500 ms units, 1..255 (default 20)\n"
	"  --spin-us N          busy-poll N microseconds after the last work, then sleep (default 50)\n"
	"  --serial S           serial number, at most 20 characters\n"
	"  --ready-fd FD        write one byte to FD when ready, then close it\n"
	"  --help               this text\n";

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "redleaf-nvme-model: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(redleaf-nvme-model --help for usage)\n");
	exit(2);
}

static uint64_t parse_num(const char *opt, const char *s, uint64_t max)
{
	char *end;

	errno = 0;
	uint64_t v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v > max) {
		fprintf(stderr, "redleaf-nvme-model: %s: '%s' is not a number in 0..%" PRIu64 "\n", opt, s, max);
		fprintf(stderr, "(redleaf-nvme-model --help for usage)\n");
		exit(2);
	}
	return v;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned shift = 0;

	errno = 0;
	uint64_t v = strtoull(s, &end, 0);
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (errno || end == s || *end || s[0] == '-' || v == 0 || v > (UINT64_MAX >> shift))
		die_usage("--ram: '%s' is not a size (a positive number, K, M or G suffix)", s);
	return v << shift;
}

/* An inherited descriptor must be open: a clear error beats a failing mmap later. */
static int parse_fd(const char *opt, const char *s)
{
	int fd = (int)parse_num(opt, s, INT32_MAX);

	if (fcntl(fd, F_GETFD) < 0) {
		fprintf(stderr, "redleaf-nvme-model: %s: descriptor %d is not open\n", opt, fd);
		exit(2);
	}
	return fd;
}

static void parse_dma(struct nvme_model_config *cfg, char *arg)
{
	char *at = strchr(arg, '@');

	if (!at)
		die_usage("--dma: expected FD@ADDRESS, got '%s'", arg);
	if (cfg->ndma == RL_DEV_MAX_REGIONS)
		die_usage("--dma: at most 8 regions (at '%s')", arg);
	*at = '\0';
	cfg->dma[cfg->ndma].fd = parse_fd("--dma", arg);
	uint64_t addr = parse_num("--dma address", at + 1, UINT64_MAX);
	if (addr == 0 || addr % 4096)
		die_usage("--dma: address '%s' is not a non-zero multiple of 4096", at + 1);
	cfg->dma[cfg->ndma++].addr = addr;
}

enum { O_BAR = 256, O_DMA, O_RAM, O_BACKING, O_BACKING_FD, O_LBA, O_MDTS, O_MQES, O_DSTRD,
       O_TIMEOUT, O_SPIN, O_SERIAL, O_READY, O_HELP };

static const struct option options[] = {
	{"bar-fd", required_argument, NULL, O_BAR},
	{"dma", required_argument, NULL, O_DMA},
	{"ram", required_argument, NULL, O_RAM},
	{"backing", required_argument, NULL, O_BACKING},
	{"backing-fd", required_argument, NULL, O_BACKING_FD},
	{"lba-size", required_argument, NULL, O_LBA},
	{"mdts", required_argument, NULL, O_MDTS},
	{"mqes", required_argument, NULL, O_MQES},
	{"dstrd", required_argument, NULL, O_DSTRD},
	{"timeout", required_argument, NULL, O_TIMEOUT},
	{"spin-us", required_argument, NULL, O_SPIN},
	{"serial", required_argument, NULL, O_SERIAL},
	{"ready-fd", required_argument, NULL, O_READY},
	{"help", no_argument, NULL, O_HELP},
	{0},
};

static int lba_shift(const char *s)
{
	switch (parse_num("--lba-size", s, 4096)) {
	case 512: return 9;
	case 1024: return 10;
	case 2048: return 11;
	case 4096: return 12;
	default: die_usage("--lba-size: '%s' is not 512, 1024, 2048 or 4096", s);
	}
}

static int parse_args(int argc, char **argv, struct nvme_model_config *cfg)
{
	int ready_fd = -1, opt;

	nvme_model_config_default(cfg);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case O_BAR: cfg->bar_fd = parse_fd("--bar-fd", optarg); break;
		case O_DMA: parse_dma(cfg, optarg); break;
		case O_RAM: cfg->ram_bytes = parse_size(optarg); break;
		case O_BACKING:
			cfg->backing_fd = open(optarg, O_RDWR | O_CLOEXEC);
			if (cfg->backing_fd < 0) {
				fprintf(stderr, "redleaf-nvme-model: --backing: cannot open '%s': %s\n", optarg, strerror(errno));
				exit(1);
			}
			break;
		case O_BACKING_FD: cfg->backing_fd = parse_fd("--backing-fd", optarg); break;
		case O_LBA: cfg->lba_shift = lba_shift(optarg); break;
		case O_MDTS: cfg->mdts = parse_num("--mdts", optarg, 10); break;
		case O_MQES: cfg->mqes = parse_num("--mqes", optarg, 65535); break;
		case O_DSTRD: cfg->dstrd = parse_num("--dstrd", optarg, 4); break;
		case O_TIMEOUT: cfg->timeout = parse_num("--timeout", optarg, 255); break;
		case O_SPIN: cfg->spin_us = parse_num("--spin-us", optarg, 10000000); break;
		case O_SERIAL:
			if (strlen(optarg) > 20)
				die_usage("--serial: '%s' is longer than 20 characters", optarg);
			cfg->serial = optarg;
			break;
		case O_READY: ready_fd = parse_fd("--ready-fd", optarg); break;
		case O_HELP: fputs(usage, stdout); exit(0);
		default:
			die_usage("unknown option or missing argument: '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);
	if (cfg->bar_fd < 0)
		die_usage("--bar-fd is required");
	if (cfg->ndma == 0)
		die_usage("at least one --dma FD@ADDRESS is required");
	return ready_fd;
}

int main(int argc, char **argv)
{
	struct nvme_model_config cfg;
	struct nvme_model *m;
	const char *msg = "";
	int ready_fd = parse_args(argc, argv, &cfg);

	int r = nvme_model_create(&cfg, &m, &msg);
	if (r) {
		fprintf(stderr, "redleaf-nvme-model: %s: %s\n", msg, strerror(-r));
		return 1;
	}
	if (ready_fd >= 0) {
		if (write(ready_fd, "R", 1) != 1)
			fprintf(stderr, "redleaf-nvme-model: --ready-fd: %s\n", strerror(errno));
		close(ready_fd);
	}
	nvme_model_run(m);
	nvme_model_destroy(m);
	return 0;
}
