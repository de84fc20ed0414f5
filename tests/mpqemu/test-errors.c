// SPDX-License-Identifier: MIT
/*
 * Failures a user meets: no QEMU, a QEMU that dies or hangs at start, a bad
 * configuration, and QEMU killed, exiting or hung in mid-session. Each ends
 * with a clear error within the bound, the device dead (reads all ones),
 * QEMU reaped and no descriptor leaked.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "helpers.h"
#include "nvme-mini.h"

static char image[64];
static struct rl_mpqemu_region ram;
static int baseline_fds;

/* Starts with cfg changed by the caller; expects failure rc with every word of want in the message. */
static void expect_start_error(const char *what, struct rl_mpqemu_config *cfg, int rc, const char *const *want,
			       unsigned max_ms)
{
	char err[2048] = "";
	struct rl_mpqemu *q = NULL;
	uint64_t t = t_now_ns();

	cfg->err = err;
	cfg->err_len = sizeof err;
	int got = rl_mpqemu_start(&q, cfg);
	unsigned ms = (unsigned)((t_now_ns() - t) / 1000000);

	printf("%s: %d in %u ms: %s\n", what, got, ms, err);
	t_check(got == rc, "%s: start returned %d, expected %d", what, got, rc);
	t_check(q == NULL, "%s: the out-parameter was set on failure", what);
	t_check(ms <= max_ms, "%s: took %u ms, more than %u", what, ms, max_ms);
	for (; *want; want++)
		t_check(strstr(err, *want) != NULL, "%s: the error lacks \"%s\"", what, *want);
	t_check(t_count_fds() == baseline_fds, "%s: %d descriptors open, %d before", what, t_count_fds(),
		baseline_fds);
	t_check(!t_has_children(), "%s: a child process is left", what);
	if (got == 0)
		rl_mpqemu_stop(q);
}

static struct rl_mpqemu_config base(void)
{
	return (struct rl_mpqemu_config){.image = image, .regions = &ram, .nregions = 1};
}

static void start_errors(void)
{
	const char *fake = getenv("FAKE_QEMU");
	struct rl_mpqemu_config c;

	c = base();
	c.qemu = "/nonexistent/qemu-system-x86_64";
	expect_start_error("missing binary", &c, -ENOENT,
			   (const char *[]){"QEMU not found", "/nonexistent/qemu-system-x86_64",
					    "apt-get install qemu-system-x86", NULL}, 100);
	c = base();
	c.qemu = "qemu-system-rl-nonexistent";
	expect_start_error("not in PATH", &c, -ENOENT,
			   (const char *[]){"is not in PATH", "qemu-system-x86", NULL}, 100);
	c = base();
	c.qemu = fake;
	unsetenv("FAKE_QEMU_MODE");
	expect_start_error("QEMU exits at once", &c, -ECONNRESET,
			   (const char *[]){"closed the connection", "exited with status 3",
					    "fake-qemu: simulated failure to start", NULL}, 3000);
	c = base();
	c.qemu = fake;
	c.timeout_ms = 300;
	setenv("FAKE_QEMU_MODE", "hang", 1);
	expect_start_error("QEMU never answers", &c, -ETIMEDOUT,
			   (const char *[]){"no reply from QEMU within 300 ms", "QEMU was killed", NULL}, 3000);
	unsetenv("FAKE_QEMU_MODE");
	/* The real QEMU refusing its drive: its own words reach the caller. */
	c = base();
	c.image = "/";
	expect_start_error("image is a directory", &c, -ECONNRESET,
			   (const char *[]){"QEMU exited with status 1", "its stderr: ", NULL}, 5000);
}

static void config_errors(void)
{
	struct rl_mpqemu_region bad = ram;
	struct rl_mpqemu_region two[2] = {ram, ram};
	struct rl_mpqemu_config c;

	c = base();
	c.image = "/nonexistent/image.raw";
	expect_start_error("missing image", &c, -ENOENT, (const char *[]){"/nonexistent/image.raw", NULL}, 100);
	c = base();
	c.nregions = 0;
	expect_start_error("no region", &c, -EINVAL, (const char *[]){"1 to 7 are needed", NULL}, 100);
	c = base();
	bad.addr = (char *)ram.addr + 8;
	c.regions = &bad;
	expect_start_error("misaligned region", &c, -EINVAL, (const char *[]){"not page-aligned", NULL}, 100);
	c = base();
	bad = ram;
	bad.len = ram.len * 2;
	c.regions = &bad;
	expect_start_error("region past its file", &c, -EINVAL, (const char *[]){"at least", NULL}, 100);
	c = base();
	c.regions = two;
	c.nregions = 2;
	expect_start_error("overlapping regions", &c, -EINVAL, (const char *[]){"overlap", NULL}, 100);
	c = base();
	c.serial = "123456789012345678901";
	expect_start_error("long serial", &c, -EINVAL, (const char *[]){"serial", NULL}, 100);
}

/* Starts a real QEMU and checks it works, for the mid-session cases. */
static struct rl_mpqemu *start_ok(unsigned timeout_ms)
{
	struct rl_mpqemu_config c = base();
	struct rl_mpqemu *q;

	c.timeout_ms = timeout_ms;
	q = t_start(&c);
	if (!q) {
		fprintf(stderr, "FAIL: cannot start QEMU\n");
		exit(1);
	}
	t_check(rl_dev_read32(rl_mpqemu_dev(q), T_NVME_VS) == 0x10400, "VS before the failure");
	return q;
}

/* After the failure: reads are all ones within max_ms, writes fail, the error says why, stop reaps. */
static void expect_dead(const char *what, struct rl_mpqemu *q, int rc, const char *want, unsigned max_ms)
{
	struct rl_dev *d = rl_mpqemu_dev(q);
	uint64_t t = t_now_ns();
	uint32_t v;
	uint32_t r = rl_dev_read32(d, T_NVME_CSTS);
	unsigned ms = (unsigned)((t_now_ns() - t) / 1000000);

	printf("%s: read 0x%x in %u ms: %s\n", what, r, ms, rl_mpqemu_error(q));
	t_check(r == UINT32_MAX, "%s: read 0x%x, expected all ones", what, r);
	t_check(ms <= max_ms, "%s: the failed read took %u ms, more than %u", what, ms, max_ms);
	t_check(!rl_mpqemu_alive(q), "%s: still alive", what);
	t_check(strstr(rl_mpqemu_error(q), want) != NULL, "%s: the error lacks \"%s\"", what, want);
	t_check(rl_dev_read64(d, T_NVME_CAP) == UINT64_MAX, "%s: read64 after death", what);
	rl_dev_write32(d, T_NVME_CC, 0); /* dropped, no crash, no hang */
	t_check(rl_mpqemu_bar_write(q, T_NVME_CC, 4, 0) == -ENOTCONN, "%s: write after death", what);
	t_check(rl_mpqemu_config_read(q, 0, 4, &v) == -ENOTCONN, "%s: config read after death", what);
	t_check(rl_mpqemu_pid(q) == -1, "%s: QEMU not reaped at death", what);
	t_stop(q);
	t_check(!t_has_children(), "%s: a child process is left", what);
	t_check(t_count_fds() == baseline_fds, "%s: %d descriptors open, %d before", what, t_count_fds(),
		baseline_fds);
	(void)rc;
}

static void session_errors(void)
{
	struct rl_mpqemu *q;
	struct timespec pause = {.tv_nsec = 200 * 1000000};

	q = start_ok(0);
	kill(rl_mpqemu_pid(q), SIGKILL);
	expect_dead("QEMU killed", q, -ECONNRESET, "killed by signal KILL", 2000);

	/*
	 * QEMU's own shutdown on SIGTERM prints a line, which must reach the
	 * error text. The shutdown is asynchronous: accesses succeed until QEMU
	 * has closed the socket, then fail.
	 */
	q = start_ok(0);
	kill(rl_mpqemu_pid(q), SIGTERM);
	uint64_t until = t_now_ns() + 2000000000ull;
	while (rl_dev_read32(rl_mpqemu_dev(q), T_NVME_VS) == 0x10400 && t_now_ns() < until)
		;
	t_check(strstr(rl_mpqemu_error(q), "closed the connection") != NULL, "SIGTERM: error \"%s\"",
		rl_mpqemu_error(q));
	expect_dead("QEMU terminated", q, -ECONNRESET, "terminating on signal 15", 100);

	/* A stopped QEMU never answers: the bound turns it into an error, and QEMU is killed. */
	q = start_ok(400);
	kill(rl_mpqemu_pid(q), SIGSTOP);
	expect_dead("QEMU hung", q, -ETIMEDOUT, "no reply from QEMU within 400 ms", 2000);

	/* Death noticed without an access. */
	q = start_ok(0);
	kill(rl_mpqemu_pid(q), SIGKILL);
	nanosleep(&pause, NULL);
	t_check(!rl_mpqemu_alive(q), "alive() after SIGKILL");
	t_check(strstr(rl_mpqemu_error(q), "killed by signal KILL") != NULL, "alive(): error \"%s\"",
		rl_mpqemu_error(q));
	expect_dead("QEMU killed, seen by alive()", q, -ENOTCONN, "killed by signal KILL", 100);
}

int main(void)
{
	int fd;

	t_need_qemu();
	if (!getenv("FAKE_QEMU")) {
		fprintf(stderr, "FAKE_QEMU is not set (run this through meson test)\n");
		return 1;
	}
	fd = t_image(1 << 20, image, sizeof image);
	ram = t_guest_ram(1 << 20);
	baseline_fds = t_count_fds();
	start_errors();
	config_errors();
	session_errors();
	close(fd);
	printf("%u checks, %u failed\n", t_checks, t_failures);
	return t_failures ? 1 : 0;
}
