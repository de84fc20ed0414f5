/* SPDX-License-Identifier: MIT */
#include "reserved.h"

#include <stdbool.h>
#include <string.h>

/* C11 keywords, C23 keywords that are macros in C11, and GNU extensions. */
static const char *const keywords[] = {
	"auto", "break", "case", "char", "const", "continue", "default", "do", "double",
	"else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
	"register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
	"switch", "typedef", "union", "unsigned", "void", "volatile", "while",
	"alignas", "alignof", "bool", "constexpr", "false", "nullptr", "static_assert",
	"thread_local", "true", "typeof", "typeof_unqual", "asm",
};

/*
 * Macros and typedefs visible in generated code (<assert.h>, <errno.h>,
 * <stddef.h>, <stdint.h>, <stdbool.h>, GCC's predefined non-reserved macros
 * in gnu11 mode) and the one contract-header name without an rl_ prefix.
 */
static const char *const macros[] = {
	"NULL", "errno", "assert", "offsetof", "noreturn", "linux", "unix", "i386",
	"rpc_result",
};

static const char *const prefixes[][2] = {
	{ "_", "starts with '_' (reserved for the C implementation)" },
	{ "rl_", "starts with 'rl_' (reserved for the redleaf runtime)" },
	{ "RL_", "starts with 'RL_' (reserved for the redleaf runtime)" },
	{ "rref_", "starts with 'rref_' (reserved for generated type names)" },
	{ "vec_", "starts with 'vec_' (reserved for generated type names)" },
	{ "deque_", "starts with 'deque_' (reserved for generated type names)" },
	{ "arr_", "starts with 'arr_' (reserved for generated type names)" },
};

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ERANGE, INT8_MAX, SIZE_MAX...: macro families of <errno.h> and <stdint.h>. */
static bool is_libc_macro_family(const char *s)
{
	static const char *const families[] = {
		"INT", "UINT", "SIZE_", "PTRDIFF_", "SIG_ATOMIC_", "WCHAR_", "WINT_",
	};

	for (const char *p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	if (s[0] == 'E' && s[1] && s[1] != '_' && !strchr(s, '_'))
		return true;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (starts_with(s, families[i]))
			return true;
	return false;
}

const char *idl_reserved_why(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (!strcmp(name, keywords[i]))
			return "is a C keyword";
	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (!strcmp(name, macros[i]))
			return "is a macro or type in the C headers that generated code includes";
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (starts_with(name, prefixes[i][0]))
			return prefixes[i][1];
	if (n >= 2 && !strcmp(name + n - 2, "_t"))
		return "ends with '_t' (reserved for type names by POSIX)";
	if (is_libc_macro_family(name))
		return "may be a macro of <errno.h> or <stdint.h>";
	return NULL;
}
