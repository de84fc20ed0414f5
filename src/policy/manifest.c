// SPDX-License-Identifier: MIT
/*
 * System manifest parser. libyaml turns the text into events; we build a
 * small tree from them (rejecting anchors, aliases, tags, deep nesting and
 * second documents on the way), then walk the tree once against the schema
 * of docs/manifest.md, in document order, so the first error reported is
 * the first one in the file. Wiring between domains is checked last, when
 * all domains are known.
 *
 * A manifest is untrusted input: every limit is checked in release builds,
 * and every message quotes input only as printable ASCII.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "manifest.h"
#include "seccomp_policy.h"

/* Our schema nests five deep (top, domains, domain, imports, import); leave room for a clear message. */
#define MAX_DEPTH 16
/* The largest valid manifest has about 15k nodes; this bounds memory for hostile input. */
#define MAX_NODES 65536

enum node_kind { NODE_SCALAR, NODE_SEQUENCE, NODE_MAPPING };

struct node {
	enum node_kind kind;
	struct rl_manifest_pos pos;
	/* Scalars: text is NUL-terminated, len is libyaml's length (differs if the text holds a NUL). */
	char *text;
	size_t len;
	bool plain;
	/* Sequences: the items. Mappings: key, value, key, value, ... */
	struct node **child;
	unsigned nchild, cap;
};

struct ctx {
	const char *path;
	const char *buf;
	size_t len;
	char *err;
	size_t errlen;
	bool failed;
	unsigned nnodes;
};

/* ---- messages ---- */

static void __attribute__((format(printf, 3, 0)))
vreport(struct ctx *c, const struct rl_manifest_pos *pos, const char *fmt, va_list ap)
{
	int n;

	/* Only the first error is kept: later ones are usually consequences. */
	if (c->failed || !c->err || c->errlen == 0) {
		c->failed = true;
		return;
	}
	c->failed = true;
	if (pos)
		n = snprintf(c->err, c->errlen, "%s:%u:%u: error: ", c->path, pos->line, pos->col);
	else
		n = snprintf(c->err, c->errlen, "%s: error: ", c->path);
	if (n >= 0 && (size_t)n < c->errlen)
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	/* One line, whatever the input held. */
	for (char *p = c->err; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

/* Reports an error at pos; returns -EINVAL so callers can `return fail(...)`. */
static int __attribute__((format(printf, 3, 4)))
fail(struct ctx *c, struct rl_manifest_pos pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, &pos, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* An error about the whole file ("path: error: ..."); returns r. */
static int __attribute__((format(printf, 3, 4)))
fail_file(struct ctx *c, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, NULL, fmt, ap);
	va_end(ap);
	return r;
}

static int out_of_memory(struct ctx *c)
{
	return fail_file(c, -ENOMEM, "out of memory");
}

/* Input quoted in a message: printable ASCII only, at most 40 bytes. */
struct shown {
	char s[48];
};

static struct shown show_bytes(const char *text, size_t len)
{
	struct shown out;
	size_t i;

	for (i = 0; i < len && i < 40; i++) {
		unsigned char ch = (unsigned char)text[i];
		out.s[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	out.s[i] = '\0';
	if (len > 40)
		strcpy(out.s + i, "...");
	return out;
}

static struct shown show(const struct node *n)
{
	return show_bytes(n->text, n->len);
}

static const char *kind_name(const struct node *n)
{
	switch (n->kind) {
	case NODE_MAPPING:
		return "a mapping";
	case NODE_SEQUENCE:
		return "a sequence";
	case NODE_SCALAR:
		break;
	}
	return (n->plain && n->len == 0) ? "nothing" : "a scalar";
}

/* ---- tree ---- */

static void node_free(struct node *n)
{
	if (!n)
		return;
	/* Depth is bounded by MAX_DEPTH, so recursion is bounded too. */
	for (unsigned i = 0; i < n->nchild; i++)
		node_free(n->child[i]);
	free(n->child);
	free(n->text);
	free(n);
}

static int node_append(struct node *parent, struct node *child)
{
	if (parent->nchild == parent->cap) {
		unsigned cap = parent->cap ? parent->cap * 2 : 8;
		struct node **grown = realloc(parent->child, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		parent->child = grown;
		parent->cap = cap;
	}
	parent->child[parent->nchild++] = child;
	return 0;
}

static struct rl_manifest_pos pos_of(yaml_mark_t m)
{
	return (struct rl_manifest_pos){ (unsigned)m.line + 1, (unsigned)m.column + 1 };
}

/* Line and column of a byte offset, for libyaml reader errors that carry only an offset. */
static struct rl_manifest_pos pos_of_offset(const struct ctx *c, size_t offset)
{
	struct rl_manifest_pos pos = { 1, 1 };

	for (size_t i = 0; i < offset && i < c->len; i++) {
		if (c->buf[i] == '\n') {
			pos.line++;
			pos.col = 1;
		} else {
			pos.col++;
		}
	}
	return pos;
}

static int syntax_error(struct ctx *c, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "unknown problem";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return out_of_memory(c);
	case YAML_READER_ERROR:
		if (p->problem_value != -1)
			return fail(c, pos_of_offset(c, p->problem_offset),
				    "invalid input: %s (byte 0x%02x)", problem, p->problem_value & 0xff);
		return fail(c, pos_of_offset(c, p->problem_offset), "invalid input: %s", problem);
	default:
		break;
	}
	if (p->context) {
		struct rl_manifest_pos at = pos_of(p->context_mark);

		return fail(c, pos_of(p->problem_mark), "%s (%s at %u:%u)", problem, p->context,
			    at.line, at.col);
	}
	return fail(c, pos_of(p->problem_mark), "%s", problem);
}

/* Rejects YAML features the manifest does not use, so no input means two things. */
static int check_node_event(struct ctx *c, const yaml_event_t *ev, unsigned depth)
{
	const yaml_char_t *anchor = NULL, *tag = NULL;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	default:
		break;
	}
	if (anchor)
		return fail(c, pos_of(ev->start_mark), "anchors and aliases are not supported");
	if (tag)
		return fail(c, pos_of(ev->start_mark), "tags are not supported");
	if (depth >= MAX_DEPTH)
		return fail(c, pos_of(ev->start_mark), "nesting deeper than %d levels", MAX_DEPTH);
	if (++c->nnodes > MAX_NODES)
		return fail(c, pos_of(ev->start_mark), "too many nodes (more than %d)", MAX_NODES);
	return 0;
}

static struct node *node_from_event(const yaml_event_t *ev)
{
	struct node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->pos = pos_of(ev->start_mark);
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n->kind = NODE_SCALAR;
		n->len = ev->data.scalar.length;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		n->text = malloc(n->len + 1);
		if (!n->text) {
			free(n);
			return NULL;
		}
		memcpy(n->text, ev->data.scalar.value, n->len);
		n->text[n->len] = '\0';
		break;
	case YAML_SEQUENCE_START_EVENT:
		n->kind = NODE_SEQUENCE;
		break;
	default:
		n->kind = NODE_MAPPING;
		break;
	}
	return n;
}

/* Builds the tree of the single document in buf; *root is NULL for an empty stream. */
static int build_tree(struct ctx *c, yaml_parser_t *p, struct node **root)
{
	struct node *stack[MAX_DEPTH];
	unsigned depth = 0, ndocuments = 0;
	bool done = false;
	int r = 0;

	*root = NULL;
	while (!done && r == 0) {
		yaml_event_t ev;

		if (!yaml_parser_parse(p, &ev))
			return syntax_error(c, p);
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocuments > 1)
				r = fail(c, pos_of(ev.start_mark), "multiple documents are not supported");
			break;
		case YAML_ALIAS_EVENT:
			r = fail(c, pos_of(ev.start_mark), "aliases are not supported");
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			struct node *n;

			r = check_node_event(c, &ev, depth);
			if (r < 0)
				break;
			n = node_from_event(&ev);
			if (!n) {
				r = out_of_memory(c);
				break;
			}
			if (depth == 0) {
				*root = n;
			} else if (node_append(stack[depth - 1], n) < 0) {
				node_free(n);
				r = out_of_memory(c);
				break;
			}
			if (ev.type != YAML_SCALAR_EVENT)
				stack[depth++] = n;
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			/* libyaml pairs start and end events, so depth > 0 here. */
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	return r;
}

/* ---- scalar values ---- */

static bool is_name_char(char ch, bool first)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

static bool is_ident_char(char ch, bool first)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_')
		return true;
	return !first && ch >= '0' && ch <= '9';
}

/* Any scalar without NUL bytes, shorter than max (which counts the NUL). */
static int get_string(struct ctx *c, const struct node *n, const char *what, size_t max)
{
	if (n->kind != NODE_SCALAR)
		return fail(c, n->pos, "%s must be a string, got %s", what, kind_name(n));
	if (strlen(n->text) != n->len)
		return fail(c, n->pos, "%s contains a NUL byte", what);
	if (n->len >= max)
		return fail(c, n->pos, "%s is too long (%zu bytes, at most %zu)", what, n->len, max - 1);
	return 0;
}

/*
 * A word shorter than RL_NAME_MAX, not empty, every character accepted by
 * ok (which knows whether it is the first); hint says which are.
 */
static int get_word(struct ctx *c, const struct node *n, const char *what, char out[RL_NAME_MAX],
		    bool (*ok)(char ch, bool first), const char *hint)
{
	if (n->kind != NODE_SCALAR)
		return fail(c, n->pos, "%s must be a string, got %s", what, kind_name(n));
	if (n->len == 0)
		return fail(c, n->pos, "%s is empty", what);
	if (n->len >= RL_NAME_MAX)
		return fail(c, n->pos, "%s '%s' is too long (at most %d characters)", what,
			    show(n).s, RL_NAME_MAX - 1);
	for (size_t i = 0; i < n->len; i++)
		if (!ok(n->text[i], i == 0))
			return fail(c, n->pos, "bad %s '%s': %s", what, show(n).s, hint);
	memcpy(out, n->text, n->len + 1);
	return 0;
}

/* A name of a system, domain or import: [a-z0-9_-]{1,RL_NAME_MAX-1}. */
static int get_name(struct ctx *c, const struct node *n, const char *what, char out[RL_NAME_MAX])
{
	return get_word(c, n, what, out, is_name_char, "use only a-z, 0-9, '_' and '-'");
}

/* An interface name as the IDL spells it: a C identifier shorter than RL_NAME_MAX. */
static int get_iface(struct ctx *c, const struct node *n, const char *what, char out[RL_NAME_MAX])
{
	return get_word(c, n, what, out, is_ident_char,
			"use a letter or '_', then letters, digits or '_'");
}

/* Decimal digits only; false on anything else. Saturates at UINT64_MAX (then out of range). */
static bool parse_decimal(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			v = UINT64_MAX;
		else
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* Integers and booleans must be plain scalars: "5" in quotes is a string in YAML. */
static int get_int(struct ctx *c, const struct node *n, const char *what, int min, int max, int *out)
{
	uint64_t v = 0;

	if (n->kind == NODE_SCALAR && !n->plain)
		return fail(c, n->pos, "%s must be an integer from %d to %d, written without quotes",
			    what, min, max);
	if (n->kind != NODE_SCALAR)
		return fail(c, n->pos, "%s must be an integer from %d to %d, got %s", what, min, max,
			    kind_name(n));
	bool neg = n->len > 1 && n->text[0] == '-'; /* passes the range only where min < 0 */
	bool ok = parse_decimal(n->text + neg, n->len - neg, &v) && v <= INT32_MAX;
	int64_t x = neg ? -(int64_t)v : (int64_t)v;

	if (!ok || x < min || x > max)
		return fail(c, n->pos, "%s must be an integer from %d to %d, got '%s'", what, min,
			    max, show(n).s);
	*out = (int)x;
	return 0;
}

/* A scalar that is exactly word (no hidden NUL and suffix). */
static bool scalar_is(const struct node *n, const char *word)
{
	return n->kind == NODE_SCALAR && n->len == strlen(word) && strcmp(n->text, word) == 0;
}

static int get_bool(struct ctx *c, const struct node *n, const char *what, bool *out)
{
	if (n->plain && scalar_is(n, "true")) {
		*out = true;
		return 0;
	}
	if (n->plain && scalar_is(n, "false")) {
		*out = false;
		return 0;
	}
	if (n->kind != NODE_SCALAR)
		return fail(c, n->pos, "%s must be true or false, got %s", what, kind_name(n));
	if (!n->plain)
		return fail(c, n->pos, "%s must be true or false, written without quotes", what);
	return fail(c, n->pos, "%s must be true or false, got '%s'", what, show(n).s);
}

/* Bytes with an optional K, M or G suffix (powers of 1024), within [min, max]; range is for messages. */
static int get_size(struct ctx *c, const struct node *n, const char *what, uint64_t min,
		    uint64_t max, const char *range, uint64_t *out)
{
	size_t len = n->len;
	unsigned shift = 0;
	uint64_t v;

	if (n->kind != NODE_SCALAR)
		return fail(c, n->pos, "%s must be a size like 64M, got %s", what, kind_name(n));
	if (len > 0) {
		switch (n->text[len - 1]) {
		case 'K': case 'k':
			shift = 10;
			break;
		case 'M': case 'm':
			shift = 20;
			break;
		case 'G': case 'g':
			shift = 30;
			break;
		default:
			break;
		}
	}
	if (shift)
		len--;
	if (!n->plain)
		return fail(c, n->pos, "%s must be written without quotes", what);
	if (!parse_decimal(n->text, len, &v))
		return fail(c, n->pos,
			    "%s must be a number of bytes with an optional K, M or G suffix, got '%s'",
			    what, show(n).s);
	if (v > (UINT64_MAX >> shift))
		v = UINT64_MAX;
	else
		v <<= shift;
	if (v < min || v > max)
		return fail(c, n->pos, "%s %s is out of range (%s)", what, show(n).s, range);
	*out = v;
	return 0;
}

/* ---- mappings ---- */

struct field {
	const char *name;
	bool required;
	/* Parses the value into obj. */
	int (*parse)(struct ctx *c, const struct node *value, void *obj);
};

/*
 * Walks a mapping in document order: every key must be a known, unique
 * plain string, and every value is handed to its field's parser at once.
 * Required keys are checked at the end, at the mapping's position.
 */
static int parse_mapping(struct ctx *c, const struct node *map, const char *what,
			 const char *where, const struct field *fields, unsigned nfields, void *obj)
{
	const struct node *seen[16] = { NULL };
	int r;

	assert(nfields <= sizeof(seen) / sizeof(seen[0]));

	if (map->kind != NODE_MAPPING)
		return fail(c, map->pos, "%s must be a mapping, got %s", what, kind_name(map));
	for (unsigned i = 0; i + 1 < map->nchild; i += 2) {
		const struct node *key = map->child[i], *value = map->child[i + 1];
		unsigned f;

		if (key->kind != NODE_SCALAR)
			return fail(c, key->pos, "keys must be strings, got %s", kind_name(key));
		for (f = 0; f < nfields; f++)
			if (strlen(key->text) == key->len && strcmp(key->text, fields[f].name) == 0)
				break;
		if (f == nfields) {
			char allowed[256] = "";

			for (unsigned k = 0; k < nfields; k++) {
				strncat(allowed, k ? ", " : "", sizeof(allowed) - strlen(allowed) - 1);
				strncat(allowed, fields[k].name, sizeof(allowed) - strlen(allowed) - 1);
			}
			return fail(c, key->pos, "unknown key '%s' %s (allowed: %s)", show(key).s,
				    where, allowed);
		}
		if (seen[f])
			return fail(c, key->pos, "duplicate key '%s' (first at %u:%u)", fields[f].name,
				    seen[f]->pos.line, seen[f]->pos.col);
		seen[f] = key;
		r = fields[f].parse(c, value, obj);
		if (r < 0)
			return r;
	}
	for (unsigned f = 0; f < nfields; f++)
		if (fields[f].required && !seen[f])
			return fail(c, map->pos, "missing required key '%s' %s", fields[f].name, where);
	return 0;
}

static int expect_sequence(struct ctx *c, const struct node *n, const char *what)
{
	if (n->kind != NODE_SEQUENCE)
		return fail(c, n->pos, "%s must be a sequence, got %s", what, kind_name(n));
	return 0;
}

/* ---- heap and broker ---- */

struct heap_parse {
	struct rl_manifest *m;
	const struct node *size;
};

static int heap_size(struct ctx *c, const struct node *v, void *obj)
{
	struct heap_parse *h = obj;

	h->size = v;
	return get_size(c, v, "heap size", RL_MANIFEST_HEAP_MIN, RL_MANIFEST_HEAP_MAX, "4M..16G",
			&h->m->heap_size);
}

static int heap_hugepages(struct ctx *c, const struct node *v, void *obj)
{
	struct heap_parse *h = obj;

	return get_bool(c, v, "hugepages", &h->m->hugepages);
}

static const struct field heap_fields[] = {
	{ "size", false, heap_size },
	{ "hugepages", false, heap_hugepages },
};

static int top_heap(struct ctx *c, const struct node *v, void *obj)
{
	struct heap_parse h = { .m = obj, .size = NULL };
	int r;

	r = parse_mapping(c, v, "heap", "in heap", heap_fields, 2, &h);
	if (r < 0)
		return r;
	/* The heap is one memfd mapped whole: whole pages, whole huge pages with MFD_HUGETLB. */
	if (h.m->hugepages && h.m->heap_size % (2u << 20))
		return fail(c, h.size ? h.size->pos : v->pos,
			    "heap size %s is not a multiple of 2M (required with hugepages)",
			    h.size ? show(h.size).s : "64M");
	if (h.size && h.m->heap_size % 4096)
		return fail(c, h.size->pos, "heap size %s is not a multiple of 4K", show(h.size).s);
	return 0;
}

static int broker_spin(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest *m = obj;
	int spin;
	int r = get_int(c, v, "spin_us", 0, RL_MANIFEST_SPIN_US_MAX, &spin);

	if (r == 0)
		m->spin_us = (unsigned)spin;
	return r;
}

static int broker_cpu(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest *m = obj;

	m->broker_cpu_pos = v->pos;
	return get_int(c, v, "cpu", 0, CPU_SETSIZE - 1, &m->broker_cpu);
}

static int broker_threads(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest *m = obj;
	int n;
	int r = get_int(c, v, "threads", 1, RL_MANIFEST_THREADS_MAX, &n);

	m->broker_threads_pos = v->pos;
	if (r == 0)
		m->broker_threads = (unsigned)n;
	return r;
}

static int broker_poll(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest *m = obj;

	return get_bool(c, v, "poll", &m->poll);
}

#define NFIELDS(f) ((unsigned)(sizeof(f) / sizeof((f)[0])))

static const struct field broker_fields[] = {
	{ "spin_us", false, broker_spin },
	{ "poll", false, broker_poll },
	{ "cpu", false, broker_cpu },
	{ "threads", false, broker_threads },
};

static int top_broker(struct ctx *c, const struct node *v, void *obj)
{
	return parse_mapping(c, v, "broker", "in broker", broker_fields, NFIELDS(broker_fields), obj);
}

static int top_system(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest *m = obj;

	return get_name(c, v, "system name", m->system);
}

/* ---- domains ---- */

struct domain_parse {
	struct rl_manifest_domain *d;
	struct rl_manifest_pos name_pos;
	struct rl_manifest_pos import_name_pos[RL_MAX_IMPORTS];
	bool has_name;
};

static int dom_name(struct ctx *c, const struct node *v, void *obj)
{
	struct domain_parse *p = obj;

	p->name_pos = v->pos;
	p->has_name = true;
	return get_name(c, v, "domain name", p->d->name);
}

static int dom_binary(struct ctx *c, const struct node *v, void *obj)
{
	struct domain_parse *p = obj;
	int r = get_string(c, v, "binary", RL_MANIFEST_PATH_MAX);

	if (r < 0)
		return r;
	if (v->len == 0)
		return fail(c, v->pos, "binary is empty");
	memcpy(p->d->binary, v->text, v->len + 1);
	p->d->binary_pos = v->pos;
	return 0;
}

static int dom_args(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest_domain *d = ((struct domain_parse *)obj)->d;
	int r = expect_sequence(c, v, "args");

	if (r < 0)
		return r;
	if (v->nchild > RL_MANIFEST_MAX_ARGS)
		return fail(c, v->child[RL_MANIFEST_MAX_ARGS]->pos, "too many args (at most %d)",
			    RL_MANIFEST_MAX_ARGS);
	if (v->nchild == 0)
		return 0;
	d->args = calloc(v->nchild, sizeof(*d->args));
	if (!d->args)
		return out_of_memory(c);
	for (unsigned i = 0; i < v->nchild; i++) {
		const struct node *a = v->child[i];

		r = get_string(c, a, "an argument", RL_MANIFEST_ARG_MAX);
		if (r < 0)
			return r;
		d->args[i] = strdup(a->text);
		if (!d->args[i])
			return out_of_memory(c);
		d->nargs++;
	}
	return 0;
}

static int dom_exports(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest_domain *d = ((struct domain_parse *)obj)->d;
	int r = expect_sequence(c, v, "exports");

	if (r < 0)
		return r;
	for (unsigned i = 0; i < v->nchild; i++) {
		const struct node *e = v->child[i];

		if (i == RL_MAX_EXPORTS)
			return fail(c, e->pos, "too many exports (at most %d)", RL_MAX_EXPORTS);
		r = get_iface(c, e, "export", d->exports[i]);
		if (r < 0)
			return r;
		for (unsigned j = 0; j < i; j++)
			if (strcmp(d->exports[j], d->exports[i]) == 0)
				return fail(c, e->pos, "duplicate export '%s' (first at %u:%u)",
					    d->exports[i], d->export_pos[j].line, d->export_pos[j].col);
		d->export_pos[i] = e->pos;
		d->nexports++;
	}
	return 0;
}

struct import_parse {
	struct rl_manifest_import *imp;
	struct rl_manifest_pos name_pos;
};

static int imp_name(struct ctx *c, const struct node *v, void *obj)
{
	struct import_parse *p = obj;

	p->name_pos = v->pos;
	return get_name(c, v, "import name", p->imp->name);
}

static int imp_iface(struct ctx *c, const struct node *v, void *obj)
{
	struct import_parse *p = obj;

	p->imp->iface_pos = v->pos;
	return get_iface(c, v, "iface", p->imp->iface);
}

static int imp_from(struct ctx *c, const struct node *v, void *obj)
{
	struct import_parse *p = obj;

	p->imp->from_pos = v->pos;
	return get_name(c, v, "from", p->imp->from);
}

/* A call's deadline: a count with a unit (ms or s), 1 ms to 1 hour. */
static int imp_deadline(struct ctx *c, const struct node *v, void *obj)
{
	struct import_parse *p = obj;
	char *end;

	if (v->kind != NODE_SCALAR)
		return fail(c, v->pos, "deadline must be a duration like 250ms or 2s, got %s", kind_name(v));
	errno = 0;
	unsigned long long n = strtoull(v->text, &end, 10);
	unsigned long long ms = !strcmp(end, "ms") ? n : !strcmp(end, "s") ? n * 1000 : 0;
	if (errno || end == v->text || !isdigit((unsigned char)v->text[0]) || ms < 1 || ms > 3600000 ||
	    n > 3600000)
		return fail(c, v->pos, "deadline must be a duration from 1ms to 3600s (like 250ms or 2s), got '%s'",
			    show(v).s);
	p->imp->deadline_ms = (uint32_t)ms;
	return 0;
}

static const struct field import_fields[] = {
	{ "name", true, imp_name },
	{ "iface", true, imp_iface },
	{ "from", true, imp_from },
	{ "deadline", false, imp_deadline },
};

static int dom_imports(struct ctx *c, const struct node *v, void *obj)
{
	struct domain_parse *p = obj;
	struct rl_manifest_domain *d = p->d;
	int r = expect_sequence(c, v, "imports");

	if (r < 0)
		return r;
	for (unsigned i = 0; i < v->nchild; i++) {
		const struct node *e = v->child[i];
		struct import_parse ip = { .imp = &d->imports[i] };

		if (i == RL_MAX_IMPORTS)
			return fail(c, e->pos, "too many imports (at most %d)", RL_MAX_IMPORTS);
		if (e->kind != NODE_MAPPING)
			return fail(c, e->pos,
				    "an import must be a mapping with name, iface and from, got %s",
				    kind_name(e));
		ip.imp->pos = e->pos;
		r = parse_mapping(c, e, "an import", "in an import", import_fields, NFIELDS(import_fields), &ip);
		if (r < 0)
			return r;
		/* Import names are what rl_cap_lookup() takes: unique per domain. */
		for (unsigned j = 0; j < i; j++)
			if (strcmp(d->imports[j].name, ip.imp->name) == 0)
				return fail(c, ip.name_pos, "duplicate import name '%s' (first at %u:%u)",
					    ip.imp->name, p->import_name_pos[j].line,
					    p->import_name_pos[j].col);
		p->import_name_pos[i] = ip.name_pos;
		d->nimports++;
	}
	return 0;
}

static void list_groups(char *buf, size_t size)
{
	const struct rl_seccomp_group *g;

	buf[0] = '\0';
	for (unsigned i = 0; (g = rl_seccomp_group_at(i)); i++) {
		strncat(buf, i ? ", " : "", size - strlen(buf) - 1);
		strncat(buf, g->name, size - strlen(buf) - 1);
	}
}

static int dom_syscalls(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest_domain *d = ((struct domain_parse *)obj)->d;
	int r = expect_sequence(c, v, "syscalls");

	if (r < 0)
		return r;
	for (unsigned i = 0; i < v->nchild; i++) {
		const struct node *e = v->child[i];

		if (i == RL_MANIFEST_MAX_SYSCALL_GROUPS)
			return fail(c, e->pos, "too many seccomp groups (at most %d)",
				    RL_MANIFEST_MAX_SYSCALL_GROUPS);
		r = get_string(c, e, "a seccomp group", RL_NAME_MAX);
		if (r < 0)
			return r;
		if (!rl_seccomp_group_find(e->text)) {
			char known[256];

			list_groups(known, sizeof(known));
			return fail(c, e->pos, "unknown seccomp group '%s' (known: %s)", show(e).s,
				    known);
		}
		memcpy(d->syscalls[i], e->text, e->len + 1);
		for (unsigned j = 0; j < i; j++)
			if (strcmp(d->syscalls[j], d->syscalls[i]) == 0)
				return fail(c, e->pos, "duplicate seccomp group '%s' (first at %u:%u)",
					    d->syscalls[i], d->syscall_pos[j].line,
					    d->syscall_pos[j].col);
		d->syscall_pos[i] = e->pos;
		d->nsyscalls++;
	}
	return 0;
}

static int dom_restart(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest_domain *d = ((struct domain_parse *)obj)->d;

	if (scalar_is(v, "never"))
		d->restart = RL_RESTART_NEVER;
	else if (scalar_is(v, "always"))
		d->restart = RL_RESTART_ALWAYS;
	else if (scalar_is(v, "backoff"))
		d->restart = RL_RESTART_BACKOFF;
	else if (v->kind != NODE_SCALAR)
		return fail(c, v->pos, "restart must be never, always or backoff, got %s",
			    kind_name(v));
	else
		return fail(c, v->pos, "restart must be never, always or backoff, got '%s'",
			    show(v).s);
	return 0;
}

static int dom_cpu(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest_domain *d = ((struct domain_parse *)obj)->d;

	d->cpu_pos = v->pos;
	return get_int(c, v, "cpu", 0, CPU_SETSIZE - 1, &d->cpu);
}

/* Scheduling weight on a shared CPU (setpriority); lowering it below the broker's needs CAP_SYS_NICE. */
static int dom_nice(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest_domain *d = ((struct domain_parse *)obj)->d;

	d->nice_pos = v->pos;
	d->nice_set = true;
	return get_int(c, v, "nice", -20, 19, &d->nice);
}

/* Device memory outlives restarts of the domain; the broker makes it a memfd of this size. */
static int dom_devmem(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest_domain *d = ((struct domain_parse *)obj)->d;
	int r = get_size(c, v, "devmem", RL_MANIFEST_DEVMEM_MIN, RL_MANIFEST_DEVMEM_MAX, "4K..16G",
			 &d->devmem);

	if (r < 0)
		return r;
	if (d->devmem % 4096)
		return fail(c, v->pos, "devmem %s is not a multiple of 4K", show(v).s);
	d->devmem_pos = v->pos;
	return 0;
}

static int uring_entries(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest_domain *d = obj;
	int n;
	int r = get_int(c, v, "entries", 1, 4096, &n);

	if (r < 0)
		return r;
	if (n & (n - 1))
		return fail(c, v->pos, "entries %d is not a power of two", n);
	d->uring_entries = (unsigned)n;
	return 0;
}

static int uring_files(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest_domain *d = obj;
	int r = expect_sequence(c, v, "files");

	if (r < 0)
		return r;
	if (v->nchild > RL_MANIFEST_MAX_URING_FILES)
		return fail(c, v->child[RL_MANIFEST_MAX_URING_FILES]->pos, "too many files (at most %d)",
			    RL_MANIFEST_MAX_URING_FILES);
	if (v->nchild == 0)
		return fail(c, v->pos, "files must list at least one file");
	d->uring_files = calloc(v->nchild, sizeof(*d->uring_files));
	if (!d->uring_files)
		return out_of_memory(c);
	for (unsigned i = 0; i < v->nchild; i++) {
		r = get_string(c, v->child[i], "a file", RL_MANIFEST_PATH_MAX);
		if (r < 0)
			return r;
		if (v->child[i]->len == 0)
			return fail(c, v->child[i]->pos, "a file is empty");
		d->uring_files[i] = strdup(v->child[i]->text);
		if (!d->uring_files[i])
			return out_of_memory(c);
		d->nuring_files++;
	}
	return 0;
}

static int uring_direct(struct ctx *c, const struct node *v, void *obj)
{
	return get_bool(c, v, "direct", &((struct rl_manifest_domain *)obj)->uring_direct);
}

static const struct field uring_fields[] = {
	{ "files", true, uring_files },
	{ "entries", false, uring_entries },
	{ "direct", false, uring_direct },
};

/* A domain with a ring gets the io_uring group (enter, register, mapping the ring). */
static int uring_implies_group(struct ctx *c, struct rl_manifest_domain *d)
{
	if (!d->uring_entries)
		return 0;
	for (unsigned i = 0; i < d->nsyscalls; i++)
		if (strcmp(d->syscalls[i], "io_uring") == 0)
			return 0;
	if (d->nsyscalls == RL_MANIFEST_MAX_SYSCALL_GROUPS)
		return fail(c, d->uring_pos, "uring needs the io_uring syscall group, and syscalls is full");
	snprintf(d->syscalls[d->nsyscalls], RL_NAME_MAX, "io_uring");
	d->syscall_pos[d->nsyscalls++] = d->uring_pos;
	return 0;
}

/* A ring the broker makes and restricts; implies the io_uring syscall group. */
static int dom_uring(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest_domain *d = ((struct domain_parse *)obj)->d;

	d->uring_pos = v->pos;
	d->uring_entries = RL_MANIFEST_URING_ENTRIES;
	return parse_mapping(c, v, "uring", "in uring", uring_fields, NFIELDS(uring_fields), d);
}

/* A warm successor for restarts; meaningless without a restart policy. */
static int dom_standby(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest_domain *d = ((struct domain_parse *)obj)->d;

	d->standby_set = true;
	d->standby_pos = v->pos;
	return get_bool(c, v, "standby", &d->standby);
}

/* Namespaces of its own (the default), or the host's where the kernel refuses new ones. */
static int dom_isolation(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest_domain *d = ((struct domain_parse *)obj)->d;

	if (scalar_is(v, "own"))
		d->isolation_shared = false;
	else if (scalar_is(v, "shared"))
		d->isolation_shared = true;
	else if (v->kind != NODE_SCALAR)
		return fail(c, v->pos, "isolation must be own or shared, got %s", kind_name(v));
	else
		return fail(c, v->pos, "isolation must be own or shared, got '%s'", show(v).s);
	return 0;
}

static int dom_start(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest_domain *d = ((struct domain_parse *)obj)->d;

	return get_bool(c, v, "start", &d->start);
}

/* ---- quotas (one block: quota: {heap_objects, heap_bytes, heap_share, calls, audits}) ---- */

static struct rl_manifest_quota *quota_of(void *obj)
{
	return &((struct domain_parse *)obj)->d->quota;
}

static int quota_heap_objects(struct ctx *c, const struct node *v, void *obj)
{
	uint64_t n = 0;

	if (v->kind != NODE_SCALAR || !v->plain || !parse_decimal(v->text, v->len, &n) || !n ||
	    n > RL_MANIFEST_HEAP_OBJECTS_MAX)
		return fail(c, v->pos, "quota heap_objects must be a whole number from 1 to %llu, got %s%s%s",
			    (unsigned long long)RL_MANIFEST_HEAP_OBJECTS_MAX, v->kind == NODE_SCALAR ? "'" : "",
			    v->kind == NODE_SCALAR ? show(v).s : kind_name(v), v->kind == NODE_SCALAR ? "'" : "");
	quota_of(obj)->heap_objects = n;
	return 0;
}

static int quota_heap_bytes(struct ctx *c, const struct node *v, void *obj)
{
	return get_size(c, v, "quota heap_bytes", 64, RL_MANIFEST_HEAP_MAX, "64..16G",
			&quota_of(obj)->heap_bytes);
}

static int quota_int(struct ctx *c, const struct node *v, const char *what, int max, unsigned *out)
{
	int n;
	int r = get_int(c, v, what, 1, max, &n);

	if (r == 0)
		*out = (unsigned)n;
	return r;
}

static int quota_heap_share(struct ctx *c, const struct node *v, void *obj)
{
	return quota_int(c, v, "quota heap_share (percent of a size class)", 100, &quota_of(obj)->heap_share);
}

static int quota_calls(struct ctx *c, const struct node *v, void *obj)
{
	return quota_int(c, v, "quota calls (in flight)", RL_MANIFEST_CALLS_MAX, &quota_of(obj)->calls);
}

static int quota_audits(struct ctx *c, const struct node *v, void *obj)
{
	return quota_int(c, v, "quota audits (a second)", RL_MANIFEST_AUDITS_MAX, &quota_of(obj)->audits);
}

static const struct field quota_fields[] = {
	{ "heap_objects", false, quota_heap_objects },
	{ "heap_bytes", false, quota_heap_bytes },
	{ "heap_share", false, quota_heap_share },
	{ "calls", false, quota_calls },
	{ "audits", false, quota_audits },
};

static int dom_quota(struct ctx *c, const struct node *v, void *obj)
{
	quota_of(obj)->pos = v->pos;
	return parse_mapping(c, v, "quota", "in quota", quota_fields, NFIELDS(quota_fields), obj);
}

/* ---- end of quotas ---- */

/* ---- device (one block: device: {model, blocks, block_size, file}) ---- */

static struct rl_manifest_device *device_of(void *obj)
{
	return &((struct domain_parse *)obj)->d->device;
}

static int device_model(struct ctx *c, const struct node *v, void *obj)
{
	if (scalar_is(v, "nvme"))
		device_of(obj)->model = RL_DEVICE_NVME;
	else if (v->kind != NODE_SCALAR)
		return fail(c, v->pos, "device model must be nvme, got %s", kind_name(v));
	else
		return fail(c, v->pos, "device model must be nvme, got '%s'", show(v).s);
	return 0;
}

static int device_blocks(struct ctx *c, const struct node *v, void *obj)
{
	uint64_t n = 0;

	if (v->kind != NODE_SCALAR || !v->plain || !parse_decimal(v->text, v->len, &n) || !n ||
	    n > RL_MANIFEST_DEVICE_BYTES_MAX / 512)
		return fail(c, v->pos, "device blocks must be a whole number from 1 to %llu, got %s%s%s",
			    (unsigned long long)(RL_MANIFEST_DEVICE_BYTES_MAX / 512), v->kind == NODE_SCALAR ? "'" : "",
			    v->kind == NODE_SCALAR ? show(v).s : kind_name(v), v->kind == NODE_SCALAR ? "'" : "");
	device_of(obj)->blocks = n;
	return 0;
}

/* The block sizes an NVMe LBA format of the model may have (NVMe 1.4, 5.15.2.1: LBADS 9..12 here). */
static int device_block_size(struct ctx *c, const struct node *v, void *obj)
{
	int n;
	int r = get_int(c, v, "device block_size", 512, 4096, &n);

	if (r < 0)
		return r;
	if (n != 512 && n != 1024 && n != 2048 && n != 4096)
		return fail(c, v->pos, "device block_size must be 512, 1024, 2048 or 4096, got %d", n);
	device_of(obj)->block_size = (unsigned)n;
	return 0;
}

static int device_file(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest_device *dev = device_of(obj);
	int r = get_string(c, v, "device file", RL_MANIFEST_PATH_MAX);

	if (r < 0)
		return r;
	if (v->len == 0)
		return fail(c, v->pos, "device file is empty");
	dev->file = strdup(v->text);
	if (!dev->file)
		return out_of_memory(c);
	dev->file_pos = v->pos;
	return 0;
}

static const struct field device_fields[] = {
	{ "model", true, device_model },
	{ "blocks", false, device_blocks },
	{ "block_size", false, device_block_size },
	{ "file", false, device_file },
};

static bool is_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static unsigned hex_value(char ch)
{
	return ch <= '9' ? (unsigned)(ch - '0') : (unsigned)((ch | 0x20) - 'a' + 10);
}

/*
 * A PCI address as sysfs names the device: DDDD:BB:DD.F, domain and bus in
 * hex, device 00-1f, function 0-7 (PCI Local Bus 3.0, 3.2.2.3.1). Kept in
 * lower case, which is how /sys/bus/pci/devices spells it.
 */
static int device_vfio(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest_device *dev = device_of(obj);
	static const char form[] = "hhhh:hh:hh.h";
	bool ok = v->kind == NODE_SCALAR && v->len == sizeof(form) - 1 && strlen(v->text) == v->len;

	if (v->kind != NODE_SCALAR)
		return fail(c, v->pos, "device vfio must be a PCI address like 0000:00:03.0, got %s", kind_name(v));
	for (size_t i = 0; ok && i < v->len; i++)
		ok = form[i] == 'h' ? is_hex(v->text[i]) : v->text[i] == form[i];
	if (ok)
		ok = hex_value(v->text[8]) * 16 + hex_value(v->text[9]) <= 0x1f && hex_value(v->text[11]) <= 7;
	if (!ok)
		return fail(c, v->pos, "device vfio must be a PCI address DOMAIN:BUS:DEVICE.FUNCTION like 0000:00:03.0 "
			    "(device 00-1f, function 0-7), got '%s'", show(v).s);
	static_assert(sizeof(form) == sizeof(dev->vfio), "the address fits");
	for (size_t i = 0; i < v->len; i++)
		dev->vfio[i] = is_hex(v->text[i]) && v->text[i] > '9' ? (char)(v->text[i] | 0x20) : v->text[i];
	dev->vfio[v->len] = 0;
	dev->model = RL_DEVICE_VFIO;
	return 0;
}

/* A real device has no namespace to describe: its address is all. */
static const struct field device_vfio_fields[] = {
	{ "vfio", true, device_vfio },
};

/* Whether the mapping names a vfio device (then the model's keys do not apply). */
static bool device_is_vfio(const struct node *v)
{
	if (v->kind != NODE_MAPPING)
		return false;
	for (unsigned i = 0; i + 1 < v->nchild; i += 2)
		if (scalar_is(v->child[i], "vfio"))
			return true;
	return false;
}

static int dom_device(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest_device *dev = device_of(obj);

	dev->pos = v->pos;
	dev->block_size = 512;
	if (device_is_vfio(v))
		return parse_mapping(c, v, "device", "in a vfio device", device_vfio_fields,
				     NFIELDS(device_vfio_fields), obj);
	return parse_mapping(c, v, "device", "in device", device_fields, NFIELDS(device_fields), obj);
}

/*
 * Once the whole domain is read: a namespace in RAM or in a file, never
 * both; whole BDev blocks (4 KiB); and device memory for the driver's
 * queues, which must outlive its restarts as the model does.
 */
static int device_check(struct ctx *c, const struct rl_manifest_domain *d)
{
	const struct rl_manifest_device *dev = &d->device;

	if (dev->model == RL_DEVICE_NONE)
		return 0;
	if (dev->model == RL_DEVICE_VFIO)
		return d->devmem ? 0 : fail(c, dev->pos, "device: the domain needs devmem (its driver's queues live there)");
	if (dev->file && dev->blocks)
		return fail(c, dev->pos, "device: blocks and file exclude each other (a file namespace has the "
			    "file's size)");
	if (!dev->file && !dev->blocks)
		return fail(c, dev->pos, "device: needs blocks (a namespace in RAM) or file");
	uint64_t bytes = dev->blocks * dev->block_size;
	if (dev->blocks && (bytes % 4096 || bytes > RL_MANIFEST_DEVICE_BYTES_MAX))
		return fail(c, dev->pos, "device: %llu blocks of %u bytes is not a multiple of 4K up to 1T",
			    (unsigned long long)dev->blocks, dev->block_size);
	if (!d->devmem)
		return fail(c, dev->pos, "device: the domain needs devmem (its driver's queues live there)");
	return 0;
}

/* ---- end of device ---- */

static const struct field domain_fields[] = {
	{ "name", true, dom_name },
	{ "binary", true, dom_binary },
	{ "args", false, dom_args },
	{ "exports", false, dom_exports },
	{ "imports", false, dom_imports },
	{ "syscalls", false, dom_syscalls },
	{ "restart", false, dom_restart },
	{ "cpu", false, dom_cpu },
	{ "nice", false, dom_nice },
	{ "start", false, dom_start },
	{ "devmem", false, dom_devmem },
	{ "isolation", false, dom_isolation },
	{ "uring", false, dom_uring },
	{ "standby", false, dom_standby },
	{ "quota", false, dom_quota },
	{ "device", false, dom_device },
};


static int top_domains(struct ctx *c, const struct node *v, void *obj)
{
	struct rl_manifest *m = obj;
	struct rl_manifest_pos name_pos[RL_MAX_DOMAINS];
	int r = expect_sequence(c, v, "domains");

	if (r < 0)
		return r;
	if (v->nchild == 0)
		return fail(c, v->pos, "domains must list at least one domain");
	if (v->nchild > RL_MAX_DOMAINS)
		return fail(c, v->child[RL_MAX_DOMAINS]->pos, "too many domains (at most %d)",
			    RL_MAX_DOMAINS);
	m->domains = calloc(v->nchild, sizeof(*m->domains));
	if (!m->domains)
		return out_of_memory(c);
	for (unsigned i = 0; i < v->nchild; i++) {
		const struct node *e = v->child[i];
		struct rl_manifest_domain *d = &m->domains[i];
		struct domain_parse p = { .d = d };

		d->cpu = -1;
		d->start = true;
		d->restart = RL_RESTART_NEVER;
		d->pos = e->pos;
		/* Counted before parsing so rl_manifest_free() sees a half-filled domain. */
		m->ndomains++;
		r = parse_mapping(c, e, "a domain", "in a domain", domain_fields,
				  NFIELDS(domain_fields), &p);
		if (r < 0)
			return r;
		r = uring_implies_group(c, d);
		if (r < 0)
			return r;
		if (!d->standby_set)
			d->standby = d->restart != RL_RESTART_NEVER;
		else if (d->standby && d->restart == RL_RESTART_NEVER)
			return fail(c, d->standby_pos, "standby: true needs a restart policy (restart: always or backoff)");
		r = device_check(c, d);
		if (r < 0)
			return r;
		for (unsigned j = 0; j < i; j++)
			if (strcmp(m->domains[j].name, d->name) == 0)
				return fail(c, p.name_pos, "duplicate domain name '%s' (first at %u:%u)",
					    d->name, name_pos[j].line, name_pos[j].col);
		name_pos[i] = p.name_pos;
	}
	return 0;
}

static const struct field top_fields[] = {
	{ "system", true, top_system },
	{ "heap", false, top_heap },
	{ "broker", false, top_broker },
	{ "domains", true, top_domains },
};

/* Wiring: every import names another domain that exports the interface. */
static int check_wiring(struct ctx *c, const struct rl_manifest *m)
{
	for (unsigned i = 0; i < m->ndomains; i++) {
		const struct rl_manifest_domain *d = &m->domains[i];

		for (unsigned k = 0; k < d->nimports; k++) {
			const struct rl_manifest_import *imp = &d->imports[k];
			const struct rl_manifest_domain *from = rl_manifest_domain(m, imp->from);
			char exports[RL_MAX_EXPORTS * (RL_NAME_MAX + 2)] = "";
			unsigned e;

			if (from == d)
				return fail(c, imp->from_pos, "import '%s': domain '%s' imports from itself",
					    imp->name, d->name);
			if (!from)
				return fail(c, imp->from_pos, "import '%s': no domain named '%s'",
					    imp->name, imp->from);
			for (e = 0; e < from->nexports; e++)
				if (strcmp(from->exports[e], imp->iface) == 0)
					break;
			if (e < from->nexports)
				continue;
			for (e = 0; e < from->nexports; e++) {
				if (e)
					strcat(exports, ", ");
				strcat(exports, from->exports[e]);
			}
			return fail(c, imp->iface_pos,
				    "import '%s': domain '%s' does not export '%s' (%s%s)", imp->name,
				    from->name, imp->iface,
				    from->nexports ? "it exports: " : "it exports nothing", exports);
		}
	}
	return 0;
}

/* ---- entry points ---- */

static void set_dir_of(char dir[RL_MANIFEST_PATH_MAX], const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		size_t n = (size_t)(slash - path);

		memcpy(dir, path, n);
		dir[n] = '\0';
	}
}

void rl_manifest_free(struct rl_manifest *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->ndomains; i++) {
		for (unsigned a = 0; a < m->domains[i].nargs; a++)
			free(m->domains[i].args[a]);
		free(m->domains[i].args);
		for (unsigned f = 0; f < m->domains[i].nuring_files; f++)
			free(m->domains[i].uring_files[f]);
		free(m->domains[i].uring_files);
		free(m->domains[i].device.file);
	}
	free(m->domains);
	free(m);
}

int rl_manifest_parse(const char *path_for_messages, const char *buf, size_t len,
		      struct rl_manifest **out, char *err, size_t errlen)
{
	const char *path = path_for_messages ? path_for_messages : "<manifest>";
	struct ctx c = { .path = path, .buf = buf, .len = len, .err = err, .errlen = errlen };
	struct rl_manifest *m = NULL;
	struct node *root = NULL;
	yaml_parser_t parser;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (strlen(path) >= RL_MANIFEST_PATH_MAX)
		return fail_file(&c, -ENAMETOOLONG, "path is too long");
	if (len > RL_MANIFEST_MAX_BYTES)
		return fail_file(&c, -EFBIG, "manifest is too large (%zu bytes, at most %u)", len,
				 RL_MANIFEST_MAX_BYTES);
	if (!buf && len > 0)
		return fail_file(&c, -EINVAL, "no input");

	if (!yaml_parser_initialize(&parser))
		return out_of_memory(&c);
	yaml_parser_set_input_string(&parser, (const unsigned char *)(buf ? buf : ""), len);
	r = build_tree(&c, &parser, &root);
	yaml_parser_delete(&parser);
	if (r < 0)
		goto out;
	if (!root) {
		r = fail(&c, (struct rl_manifest_pos){ 1, 1 }, "the manifest is empty");
		goto out;
	}

	m = calloc(1, sizeof(*m));
	if (!m) {
		r = out_of_memory(&c);
		goto out;
	}
	strcpy(m->path, path);
	set_dir_of(m->dir, path);
	m->heap_size = RL_MANIFEST_HEAP_DEFAULT;
	m->spin_us = RL_MANIFEST_SPIN_US_DEFAULT;
	m->broker_cpu = -1;
	m->broker_threads = 1;

	r = parse_mapping(&c, root, "the top level", "at the top level", top_fields,
			  NFIELDS(top_fields), m);
	if (r < 0)
		goto out;
	r = check_wiring(&c, m);
	if (r < 0)
		goto out;
	*out = m;
	m = NULL;
out:
	rl_manifest_free(m);
	node_free(root);
	return r;
}

int rl_manifest_load(const char *path, struct rl_manifest **out, char *err, size_t errlen)
{
	struct ctx c = { .path = path ? path : "<manifest>", .err = err, .errlen = errlen };
	size_t size = 0, cap = 0;
	char *buf = NULL, real[PATH_MAX];
	struct stat st;
	int fd, r;

	if (err && errlen)
		err[0] = '\0';
	if (!path)
		return fail_file(&c, -EINVAL, "no path");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		return fail_file(&c, r, "cannot open: %s", strerror(-r));
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		fail_file(&c, r, "cannot stat: %s", strerror(-r));
		goto out;
	}
	if (S_ISREG(st.st_mode) && st.st_size > (off_t)RL_MANIFEST_MAX_BYTES) {
		r = fail_file(&c, -EFBIG, "manifest is too large (%lld bytes, at most %u)",
			      (long long)st.st_size, RL_MANIFEST_MAX_BYTES);
		goto out;
	}
	/* Read to EOF, not st_size: the file may change, and pipes have no size. */
	for (;;) {
		ssize_t n;

		if (size == cap) {
			size_t grown = cap ? cap * 2 : 16384;
			char *p;

			if (grown > RL_MANIFEST_MAX_BYTES + 1)
				grown = RL_MANIFEST_MAX_BYTES + 1;
			if (grown == cap) {
				r = fail_file(&c, -EFBIG, "manifest is too large (more than %u bytes)",
					      RL_MANIFEST_MAX_BYTES);
				goto out;
			}
			p = realloc(buf, grown);
			if (!p) {
				r = out_of_memory(&c);
				goto out;
			}
			buf = p;
			cap = grown;
		}
		n = read(fd, buf + size, cap - size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			fail_file(&c, r, "cannot read: %s", strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		size += (size_t)n;
	}
	if (size > RL_MANIFEST_MAX_BYTES) {
		r = fail_file(&c, -EFBIG, "manifest is too large (more than %u bytes)",
			      RL_MANIFEST_MAX_BYTES);
		goto out;
	}
	r = rl_manifest_parse(path, buf, size, out, err, errlen);
	/* Binaries are found relative to where the file really is, wherever we were started. */
	if (r == 0 && realpath(path, real))
		set_dir_of((*out)->dir, real);
out:
	free(buf);
	close(fd);
	return r;
}

const struct rl_manifest_domain *rl_manifest_domain(const struct rl_manifest *m, const char *name)
{
	if (!m || !name)
		return NULL;
	for (unsigned i = 0; i < m->ndomains; i++)
		if (strcmp(m->domains[i].name, name) == 0)
			return &m->domains[i];
	return NULL;
}

const char *rl_restart_policy_name(enum rl_restart_policy p)
{
	switch (p) {
	case RL_RESTART_NEVER:
		return "never";
	case RL_RESTART_ALWAYS:
		return "always";
	case RL_RESTART_BACKOFF:
		return "backoff";
	}
	return "?";
}
