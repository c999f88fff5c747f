/* grub2 grub.cfg and grubenv. grub.cfg is a shell-like script; we do not run it all: we tokenise
 * it as grub does (quotes, escapes, $var expansion with field splitting, ';' and newlines),
 * evaluate the conditions of if/elif/else the way grub's `test` does (an unknown command or test
 * is false), apply `set`, `unset`, `load_env` and `source` in the branches grub would take, keep
 * functions and run them when called, and collect the menuentry/submenu blocks there; each
 * entry's commands run once the script has, as grub runs them when it boots the entry. Nothing
 * else runs: no loops, modules or other commands. Hostile scripts are bounded: call depth,
 * commands run, files sourced, variables copied. */
#include <ctype.h>
#include <string.h>

#include "base/error.h"
#include "boot/boot_menu.h"

#define MAX_WORDS 256
#define MAX_DEPTH 32

struct word {
	char *s;
	size_t len;
	bool brace; /* an unquoted "{" or "}" */
};

struct command {
	struct word w[MAX_WORDS];
	size_t n;
};

struct lexer {
	const char *p, *end;
	const struct vd_boot_vars *vars;
};

static void command_clear(struct command *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->w[i].s);
	c->n = 0;
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static int expand(struct lexer *lx, char **buf, size_t *len)
{
	char name[128];
	size_t n = 0;
	const char *value;

	/* lx->p points just past '$' */
	if (lx->p < lx->end && *lx->p == '{') {
		const char *close = memchr(lx->p, '}', (size_t)(lx->end - lx->p));

		if (!close || (size_t)(close - lx->p - 1) >= sizeof(name))
			return -EBADMSG;
		n = (size_t)(close - lx->p - 1);
		memcpy(name, lx->p + 1, n);
		lx->p = close + 1;
	} else if (lx->p < lx->end && (*lx->p == '#' || *lx->p == '@' || *lx->p == '*' ||
					 *lx->p == '?')) {
		name[n++] = *lx->p++; /* $#, $@, $*, $?: one character */
	} else {
		while (lx->p < lx->end && is_name_char(*lx->p) && n < sizeof(name) - 1)
			name[n++] = *lx->p++;
		if (n == 0)
			return vd_boot_strbuf_append(buf, len, "$", 1);
	}
	name[n] = '\0';
	if (!strcmp(name, "@") || !strcmp(name, "*")) {
		/* a function's arguments, joined by blanks */
		int r = 0;

		for (unsigned i = 1; i <= 9 && r == 0; i++) {
			char key[2] = { (char)('0' + i), '\0' };
			const char *arg = vd_boot_vars_get(lx->vars, key);

			if (!arg || !*arg)
				break;
			if (i > 1)
				r = vd_boot_strbuf_append(buf, len, " ", 1);
			if (r == 0)
				r = vd_boot_strbuf_append(buf, len, arg, strlen(arg));
		}
		return r;
	}
	value = vd_boot_vars_get(lx->vars, name);
	return value ? vd_boot_strbuf_append(buf, len, value, strlen(value)) : 0;
}

static int push_word(struct command *cmd, char **buf, size_t *len)
{
	if (cmd->n >= MAX_WORDS) {
		free(*buf);
		*buf = NULL;
		return -E2BIG;
	}
	if (!*buf && !(*buf = strdup(""))) /* "" is a word too */
		return -ENOMEM;
	cmd->w[cmd->n].s = *buf;
	cmd->w[cmd->n].len = *len;
	cmd->w[cmd->n].brace = false;
	cmd->n++;
	*buf = NULL;
	*len = 0;
	return 0;
}

/* An unquoted $var: its value is split at blanks into words, as grub's script engine does, so
 * that `linux /vmlinuz $kernelopts` passes each option as its own argument. */
static int expand_unquoted(struct lexer *lx, struct command *cmd, char **buf, size_t *len,
			   bool *quoted)
{
	char *value = NULL;
	size_t vlen = 0;
	int r = expand(lx, &value, &vlen);

	for (size_t i = 0; r == 0 && i < vlen; i++) {
		if (strchr(" \t\r\n", value[i])) {
			if (*len > 0 || *quoted)
				r = push_word(cmd, buf, len);
			*quoted = false;
		} else {
			r = vd_boot_strbuf_append(buf, len, &value[i], 1);
		}
	}
	free(value);
	return r;
}

/* 1: a command in cmd; 0: end of text; < 0: error. */
static int next_command(struct lexer *lx, struct command *cmd)
{
	int r;

	command_clear(cmd);
	for (;;) {
		char *buf = NULL;
		size_t len = 0;
		bool quoted = false;

		while (lx->p < lx->end) {
			if (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r')
				lx->p++;
			else if (*lx->p == '\\' && lx->p + 1 < lx->end && lx->p[1] == '\n')
				lx->p += 2;
			else
				break;
		}
		if (lx->p >= lx->end)
			return cmd->n > 0 ? 1 : 0;
		if (*lx->p == '\n' || *lx->p == ';') {
			lx->p++;
			if (cmd->n > 0)
				return 1;
			continue;
		}
		if (*lx->p == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
			continue;
		}
		if (cmd->n >= MAX_WORDS)
			return -E2BIG;
		if ((*lx->p == '{' || *lx->p == '}') &&
		    (lx->p + 1 == lx->end || strchr(" \t\r\n;", lx->p[1]))) {
			/* "{" ends the command that opens a block; "}" is a command of its own,
			 * so "menuentry a { linux /k }" reads as three commands. */
			bool open = *lx->p == '{';

			if (!open && cmd->n > 0)
				return 1;
			cmd->w[cmd->n].s = strdup(open ? "{" : "}");
			if (!cmd->w[cmd->n].s)
				return -ENOMEM;
			cmd->w[cmd->n].len = 1;
			cmd->w[cmd->n].brace = true;
			cmd->n++;
			lx->p++;
			return 1;
		}
		while (lx->p < lx->end && !strchr(" \t\r\n;", *lx->p)) {
			char c = *lx->p++;

			r = 0;
			if (c == '\\') {
				if (lx->p < lx->end) {
					if (*lx->p != '\n')
						r = vd_boot_strbuf_append(&buf, &len, lx->p, 1);
					lx->p++;
				}
				quoted = true;
			} else if (c == '\'') {
				const char *close = memchr(lx->p, '\'', (size_t)(lx->end - lx->p));

				quoted = true;
				if (!close)
					r = -EBADMSG;
				else {
					r = vd_boot_strbuf_append(&buf, &len, lx->p,
								  (size_t)(close - lx->p));
					lx->p = close + 1;
				}
			} else if (c == '"') {
				quoted = true;
				while (r == 0 && lx->p < lx->end && *lx->p != '"') {
					char d = *lx->p++;

					if (d == '\\' && lx->p < lx->end &&
					    strchr("$\"\\\n", *lx->p)) {
						if (*lx->p != '\n')
							r = vd_boot_strbuf_append(&buf, &len, lx->p, 1);
						lx->p++;
					} else if (d == '$') {
						r = expand(lx, &buf, &len);
					} else {
						r = vd_boot_strbuf_append(&buf, &len, &d, 1);
					}
				}
				if (r == 0 && lx->p >= lx->end)
					r = -EBADMSG;
				else if (r == 0)
					lx->p++;
			} else if (c == '$') {
				r = expand_unquoted(lx, cmd, &buf, &len, &quoted);
			} else {
				r = vd_boot_strbuf_append(&buf, &len, &c, 1);
			}
			if (r < 0) {
				free(buf);
				return r;
			}
		}
		/* an unquoted expansion to nothing is no word at all, as in sh */
		if (len > 0 || quoted) {
			r = push_word(cmd, &buf, &len);
			if (r < 0)
				return r;
		}
		free(buf);
	}
}

enum ctx_kind { CTX_TOP, CTX_SUBMENU, CTX_ENTRY, CTX_SKIP };

/* One if/elif/else/fi (or while/until, whose bodies never run): whether the enclosing code runs,
 * whether a branch was taken, whether the current one runs, and whether we are still reading
 * the condition (the commands between `if` and `then`; the last one's status counts). */
#define MAX_IF_DEPTH 64
struct if_frame {
	bool outer_active, taken, active, in_cond, cond;
};

struct grub_state {
	struct vd_boot_vars vars;
	const struct vd_boot_vars *env;
	const struct vd_boot_grub_host *host;
	struct if_frame ifs[MAX_IF_DEPTH];
	size_t if_depth;
	bool unknown; /* the condition being evaluated asked something we cannot answer */
};

static bool running(const struct grub_state *g)
{
	if (g->if_depth > MAX_IF_DEPTH)
		return false; /* deeper than we track: run nothing */
	return g->if_depth == 0 || g->ifs[g->if_depth - 1].active;
}

/* grub's `test`: 1 true, 0 false; g->unknown set for what we cannot evaluate. */
struct test_args {
	const struct command *cmd;
	size_t i, end;
	struct grub_state *g;
};

static int test_or(struct test_args *t);

static const char *path_in_guest(const char *path)
{
	/* "(hd0,msdos1)/boot/grub/grubenv" names a device we already chose */
	if (path[0] == '(') {
		const char *close = strchr(path, ')');

		if (close)
			path = close + 1;
	}
	return path;
}

static int test_file(struct test_args *t, const char *op, const char *path)
{
	const struct vd_boot_grub_host *h = t->g->host;
	uint64_t size = 0;
	bool dir = false;
	int r;

	if (!h || !h->stat_file || !*path_in_guest(path)) {
		vd_debug("grub.cfg: cannot evaluate test %s %s here; taking it as false", op, path);
		t->g->unknown = true;
		return 0;
	}
	r = h->stat_file(h->userdata, path_in_guest(path), &size, &dir);
	if (r < 0)
		return 0;
	if (!strcmp(op, "-d"))
		return dir;
	if (!strcmp(op, "-f"))
		return !dir;
	if (!strcmp(op, "-s"))
		return !dir && size > 0;
	return 1; /* -e */
}

static bool parse_long(const char *s, long long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoll(s, &end, 10);
	return *s && !*end && errno == 0;
}

/* a OP b; *ret_handled false when OP is no binary operator. */
static int test_binary(struct test_args *t, const char *a, const char *op, const char *b,
		       bool *ret_handled)
{
	static const char *const intops[] = { "-eq", "-ne", "-lt", "-le", "-gt", "-ge" };
	long long x, y;

	*ret_handled = true;
	if (!strcmp(op, "=") || !strcmp(op, "=="))
		return strcmp(a, b) == 0;
	if (!strcmp(op, "!="))
		return strcmp(a, b) != 0;
	if (!strcmp(op, "<"))
		return strcmp(a, b) < 0;
	if (!strcmp(op, ">"))
		return strcmp(a, b) > 0;
	if (!strcmp(op, "<="))
		return strcmp(a, b) <= 0;
	if (!strcmp(op, ">="))
		return strcmp(a, b) >= 0;
	for (size_t k = 0; k < ARRAY_SIZE(intops); k++) {
		if (strcmp(op, intops[k]))
			continue;
		if (!parse_long(a, &x) || !parse_long(b, &y)) {
			vd_debug("grub.cfg: test %s %s %s: not numbers; false", a, op, b);
			t->g->unknown = true;
			return 0;
		}
		switch (k) {
		case 0: return x == y;
		case 1: return x != y;
		case 2: return x < y;
		case 3: return x <= y;
		case 4: return x > y;
		default: return x >= y;
		}
	}
	if (op[0] == '-' && op[1] && strcmp(op, "-a") && strcmp(op, "-o")) {
		/* -nt, -ot, -pgt, ...: file times and versions we do not have */
		vd_debug("grub.cfg: unknown test %s %s %s; taking it as false", a, op, b);
		t->g->unknown = true;
		return 0;
	}
	*ret_handled = false;
	return 0;
}

static int test_primary(struct test_args *t)
{
	const struct command *c = t->cmd;
	const char *a;

	if (t->i >= t->end) {
		t->g->unknown = true;
		return 0;
	}
	a = c->w[t->i].s;
	if (!strcmp(a, "!") && t->i + 1 < t->end) {
		t->i++;
		return !test_primary(t);
	}
	if (!strcmp(a, "(") && t->i + 1 < t->end) {
		int v;

		t->i++;
		v = test_or(t);
		if (t->i < t->end && !strcmp(c->w[t->i].s, ")"))
			t->i++;
		else
			t->g->unknown = true;
		return v;
	}
	/* binary operators first: [ "-n" = "-n" ] compares strings */
	if (t->i + 2 < t->end) {
		bool handled;
		int v = test_binary(t, a, c->w[t->i + 1].s, c->w[t->i + 2].s, &handled);

		if (handled) {
			t->i += 3;
			return v;
		}
	}
	if (a[0] == '-' && a[1] && !a[2] && t->i + 1 < t->end) {
		const char *arg = c->w[t->i + 1].s;

		t->i += 2;
		switch (a[1]) {
		case 'n':
			return *arg != '\0';
		case 'z':
			return *arg == '\0';
		case 'e':
		case 'f':
		case 's':
		case 'd':
			return test_file(t, a, arg);
		default:
			vd_debug("grub.cfg: unknown test %s %s; taking it as false", a, arg);
			t->g->unknown = true;
			return 0;
		}
	}
	t->i++;
	return *a != '\0'; /* a lone string: true when not empty */
}

static int test_and(struct test_args *t)
{
	int v = test_primary(t);

	while (t->i < t->end && !strcmp(t->cmd->w[t->i].s, "-a")) {
		t->i++;
		v = test_primary(t) && v;
	}
	return v;
}

static int test_or(struct test_args *t)
{
	int v = test_and(t);

	while (t->i < t->end && !strcmp(t->cmd->w[t->i].s, "-o")) {
		t->i++;
		v = test_and(t) || v;
	}
	return v;
}

/* The exit status of a condition command as a truth value. Only `[`, `test`, `true` and `false`
 * are evaluated; any other command (search, loadfont, keystatus, a function, ...) is taken as
 * false, as is a test we cannot answer, with a debug message. */
static bool eval_condition(struct grub_state *g, const struct command *cmd, size_t from)
{
	struct test_args t = { .cmd = cmd, .i = from, .end = cmd->n, .g = g };
	bool negate = false;
	const char *w;
	int v;

	while (t.i < t.end && !strcmp(cmd->w[t.i].s, "!")) {
		negate = !negate;
		t.i++;
	}
	if (t.i >= t.end)
		return false;
	w = cmd->w[t.i].s;
	if (!strcmp(w, "true") || !strcmp(w, "false"))
		return (w[0] == 't') != negate;
	if (strcmp(w, "[") && strcmp(w, "test")) {
		vd_debug("grub.cfg: cannot evaluate the command '%s' as a condition; taking it as "
			 "false", w);
		return false;
	}
	if (!strcmp(w, "[")) {
		if (strcmp(cmd->w[t.end - 1].s, "]")) {
			vd_debug("grub.cfg: '[' without ']'; taking the condition as false");
			return false;
		}
		t.end--;
	}
	t.i++;
	g->unknown = false;
	if (t.i == t.end)
		return negate; /* [ ] is false */
	v = test_or(&t);
	if (t.i != t.end) {
		vd_debug("grub.cfg: cannot parse the test after '%s'; taking it as false",
			 cmd->w[t.i].s);
		return false;
	}
	if (g->unknown)
		return false;
	return (v != 0) != negate;
}

/* if/then/elif/else/fi and while/until/do/done as grub runs them. Returns the index of the
 * first word left to run as a command (cmd->n when none), after any keyword it consumed. */
static size_t flow_keyword(struct grub_state *g, const struct command *cmd)
{
	size_t i = 0;

	while (i < cmd->n) {
		const char *w = cmd->w[i].s;
		struct if_frame *fr = g->if_depth > 0 && g->if_depth <= MAX_IF_DEPTH
					      ? &g->ifs[g->if_depth - 1]
					      : NULL;

		if (cmd->w[i].brace)
			return i;
		if (!strcmp(w, "if") || !strcmp(w, "while") || !strcmp(w, "until")) {
			bool outer = running(g);

			if (g->if_depth < MAX_IF_DEPTH)
				g->ifs[g->if_depth] = (struct if_frame){
					.outer_active = outer && w[0] == 'i',
					.in_cond = true,
				};
			g->if_depth++;
			fr = g->if_depth <= MAX_IF_DEPTH ? &g->ifs[g->if_depth - 1] : NULL;
			if (fr && fr->outer_active && !fr->taken)
				fr->cond = eval_condition(g, cmd, i + 1);
			return cmd->n;
		}
		if (!strcmp(w, "elif")) {
			if (fr) {
				fr->active = false;
				fr->in_cond = true;
				fr->cond = fr->outer_active && !fr->taken &&
					   eval_condition(g, cmd, i + 1);
			}
			return cmd->n;
		}
		if (!strcmp(w, "then") || !strcmp(w, "do")) {
			if (fr) {
				fr->in_cond = false;
				fr->active = fr->outer_active && !fr->taken && fr->cond;
				fr->taken |= fr->active;
			}
			i++;
			continue;
		}
		if (!strcmp(w, "else")) {
			if (fr) {
				fr->in_cond = false;
				fr->active = fr->outer_active && !fr->taken;
				fr->taken = true;
			}
			i++;
			continue;
		}
		if (!strcmp(w, "fi") || !strcmp(w, "done")) {
			if (g->if_depth > 0)
				g->if_depth--;
			i++;
			continue;
		}
		if (fr && fr->in_cond) {
			/* `if a; b; then`: the last command's status decides */
			if (fr->outer_active && !fr->taken)
				fr->cond = eval_condition(g, cmd, i);
			return cmd->n;
		}
		return i;
	}
	return i;
}

struct ctx {
	enum ctx_kind kind;
	char *title_path;
	char *id_path; /* NULL when some level has no id */
	char *index_path;
	size_t children;
	struct vd_boot_entry entry;
};

static void ctx_dispose(struct ctx *c)
{
	free(c->title_path);
	free(c->id_path);
	free(c->index_path);
	vd_boot_entry_dispose(&c->entry);
	memset(c, 0, sizeof(*c));
}

static char *join_path(const char *parent, const char *child)
{
	char *s;

	if (!child)
		return NULL;
	if (!parent)
		return strdup(child);
	if (asprintf(&s, "%s>%s", parent, child) < 0)
		return NULL;
	return s;
}

/* Title and --id of a menuentry/submenu command (the trailing "{" already checked). */
static void block_title_id(const struct command *cmd, const char **ret_title, const char **ret_id)
{
	*ret_title = NULL;
	*ret_id = NULL;
	for (size_t i = 1; i + 1 < cmd->n; i++) {
		const char *w = cmd->w[i].s;

		if (!strcmp(w, "--id") || !strcmp(w, "--class") || !strcmp(w, "--users") ||
		    !strcmp(w, "--hotkey")) {
			if (!strcmp(w, "--id") && i + 2 < cmd->n)
				*ret_id = cmd->w[i + 1].s;
			i++;
		} else if (!strncmp(w, "--id=", 5)) {
			*ret_id = w + 5;
		} else if (!strncmp(w, "--", 2)) {
			/* --unrestricted, --class=x, ... */
		} else if (!*ret_title) {
			*ret_title = w;
		}
	}
}

/* grub's loader joins argv with spaces, quoting words that hold blanks. */
static int join_args(const struct command *cmd, size_t from, char **ret)
{
	char *buf = NULL;
	size_t len = 0;
	int r = 0;

	if (!(buf = strdup("")))
		return -ENOMEM;
	for (size_t i = from; i < cmd->n && r == 0; i++) {
		const char *w = cmd->w[i].s;
		bool quote = strpbrk(w, " \t") != NULL;

		if (i > from)
			r = vd_boot_strbuf_append(&buf, &len, " ", 1);
		if (r == 0 && quote)
			r = vd_boot_strbuf_append(&buf, &len, "\"", 1);
		for (const char *c = w; r == 0 && *c; c++) {
			if (quote && (*c == '"' || *c == '\\'))
				r = vd_boot_strbuf_append(&buf, &len, "\\", 1);
			if (r == 0)
				r = vd_boot_strbuf_append(&buf, &len, c, 1);
		}
		if (r == 0 && quote)
			r = vd_boot_strbuf_append(&buf, &len, "\"", 1);
	}
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	return 0;
}

static bool valid_var_name(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_name_char(s[i]))
			return false;
	return true;
}

static int do_set(struct vd_boot_vars *vars, char **default_spec, const char *assign)
{
	const char *eq = strchr(assign, '=');
	char key[128];
	size_t klen;

	if (!eq)
		return 0;
	klen = (size_t)(eq - assign);
	if (!valid_var_name(assign, klen) || klen >= sizeof(key))
		return 0;
	memcpy(key, assign, klen);
	key[klen] = '\0';
	if (!strcmp(key, "default")) {
		char *d = strdup(eq + 1);

		if (!d)
			return -ENOMEM;
		free(*default_spec);
		*default_spec = d;
	}
	return vd_boot_vars_set(vars, key, eq + 1);
}

static int entry_command(struct ctx *c, const struct command *cmd)
{
	const char *w0 = cmd->w[0].s;
	struct vd_boot_entry *e = &c->entry;
	int r;

	if (!strcmp(w0, "linux") || !strcmp(w0, "linux16") || !strcmp(w0, "linuxefi")) {
		if (cmd->n < 2)
			return -EBADMSG;
		free(e->kernel);
		free(e->args);
		e->args = NULL;
		e->kernel = strdup(cmd->w[1].s);
		if (!e->kernel)
			return -ENOMEM;
		r = join_args(cmd, 2, &e->args);
		return r;
	}
	if (!strcmp(w0, "initrd") || !strcmp(w0, "initrd16") || !strcmp(w0, "initrdefi")) {
		for (size_t i = 0; i < e->n_initrds; i++)
			free(e->initrds[i]);
		e->n_initrds = 0;
		for (size_t i = 1; i < cmd->n; i++) {
			if (!strncmp(cmd->w[i].s, "--", 2))
				continue; /* --nounzip */
			if (e->n_initrds >= VD_BOOT_MAX_INITRDS)
				return -E2BIG;
			e->initrds[e->n_initrds] = strdup(cmd->w[i].s);
			if (!e->initrds[e->n_initrds])
				return -ENOMEM;
			e->n_initrds++;
		}
		return 0;
	}
	return 0;
}

static int load_env(struct grub_state *g, char **default_spec)
{
	for (size_t i = 0; g->env && i < g->env->n; i++) {
		char *assign;
		int r;

		if (asprintf(&assign, "%s=%s", g->env->keys[i], g->env->values[i]) < 0)
			return -ENOMEM;
		r = do_set(&g->vars, default_spec, assign);
		free(assign);
		if (r < 0)
			return r;
	}
	return 0;
}

/* What grub itself defines before it reads grub.cfg, for a Xen guest's grub (pvgrub2). */
static int grub_builtin_vars(struct grub_state *g)
{
	static const char *const builtin[][2] = {
		{ "grub_platform", "xen" },
		{ "grub_cpu", "x86_64" },
		{ "feature_menuentry_id", "y" },
		{ "feature_all_video_module", "y" },
		{ "feature_default_font_path", "y" },
		{ "feature_platform_search_hint", "y" },
		{ "feature_timeout_style", "y" },
		{ "feature_200_final", "y" },
	};
	const char *cfg = g->host && g->host->config_path ? g->host->config_path : NULL;
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(builtin) && r == 0; i++)
		r = vd_boot_vars_set(&g->vars, builtin[i][0], builtin[i][1]);
	if (r == 0 && cfg) {
		const char *slash = strrchr(cfg, '/');
		char *dir = strndup(cfg, slash ? (size_t)(slash - cfg) : 0);

		if (!dir)
			return -ENOMEM;
		r = vd_boot_vars_set(&g->vars, "prefix", dir);
		if (r == 0)
			r = vd_boot_vars_set(&g->vars, "config_directory", dir);
		if (r == 0)
			r = vd_boot_vars_set(&g->vars, "config_file", cfg);
		free(dir);
	}
	return r;
}

static int copy_vars(const struct vd_boot_vars *from, struct vd_boot_vars *to)
{
	int r = 0;

	vd_boot_vars_dispose(to);
	for (size_t i = 0; i < from->n && r == 0; i++)
		r = vd_boot_vars_set(to, from->keys[i], from->values[i]);
	return r;
}

/* ---- running the script ---- */

#define MAX_FUNCTIONS 64
#define MAX_CALL_DEPTH 16	/* functions calling functions; deeper calls are skipped */
#define MAX_STEPS 200000	/* commands run in all, function calls and entry bodies included */
#define MAX_POSITIONAL 9
#define MAX_SOURCED 16		/* files `source` may read in all */
#define MAX_COPIED (256u << 20) /* bytes of variables copied for the entries' bodies in all */

struct function {
	char *name;
	const char *body; /* a slice of the text being parsed */
	size_t len;
};

struct body {
	const char *p;
	size_t len;
};

struct interp {
	struct grub_state g;
	struct vd_boot_menu menu;
	struct body *bodies; /* menu.entries[i]'s commands, run once the script has run */
	struct function fns[MAX_FUNCTIONS];
	size_t n_fns;
	struct vd_boot_vars bls_vars;
	bool blscfg;
	struct ctx stack[MAX_DEPTH];
	size_t depth;
	struct vd_boot_entry *entry; /* while an entry's body runs: the entry it fills */
	char *sourced[MAX_SOURCED]; /* texts `source` read: entry and function bodies point in */
	size_t n_sourced;
	unsigned long steps;
	bool returning; /* `return` ran: leave the function */
	/* the function definition or entry body being skipped: where its text began, and at
	 * which stack depth its "}" closes it */
	const char *record_start;
	size_t record_depth;
	char *record_fn; /* the name, for a function */
};

static const struct function *find_function(const struct interp *I, const char *name)
{
	for (size_t i = 0; i < I->n_fns; i++)
		if (!strcmp(I->fns[i].name, name))
			return &I->fns[i];
	return NULL;
}

static int define_function(struct interp *I, const char *name, const char *body, size_t len)
{
	struct function *f = (struct function *)find_function(I, name);

	if (!f) {
		if (I->n_fns >= MAX_FUNCTIONS) {
			vd_debug("grub.cfg: more than %d functions; ignoring '%s'", MAX_FUNCTIONS,
				 name);
			return 0;
		}
		f = &I->fns[I->n_fns];
		f->name = strdup(name);
		if (!f->name)
			return -ENOMEM;
		I->n_fns++;
	}
	f->body = body; /* a later definition replaces an earlier one, as in grub */
	f->len = len;
	return 0;
}

static int run_text(struct interp *I, const char *text, size_t len, unsigned call_depth);

/* A call: $1..$9 and $# are the arguments while the body runs, as in grub; every other variable
 * is global. if/fi left open by the body close with it. */
static int call_function(struct interp *I, const struct function *f, const struct command *cmd,
			 size_t from, unsigned call_depth)
{
	char *saved[MAX_POSITIONAL + 1] = {};
	char key[4], count[8];
	size_t if_depth = I->g.if_depth, nargs = cmd->n - from - 1;
	int r = 0;

	if (call_depth >= MAX_CALL_DEPTH) {
		vd_debug("grub.cfg: functions nested deeper than %d; not calling '%s'",
			 MAX_CALL_DEPTH, f->name);
		return 0;
	}
	for (size_t i = 0; i <= MAX_POSITIONAL && r == 0; i++) {
		const char *old, *val;

		if (i == 0)
			snprintf(key, sizeof(key), "#");
		else
			snprintf(key, sizeof(key), "%zu", i);
		old = vd_boot_vars_get(&I->g.vars, key);
		if (old && !(saved[i] = strdup(old)))
			r = -ENOMEM;
		snprintf(count, sizeof(count), "%zu", nargs);
		val = i == 0 ? count : (i <= nargs ? cmd->w[from + i].s : "");
		if (r == 0)
			r = vd_boot_vars_set(&I->g.vars, key, val);
	}
	if (r == 0)
		r = run_text(I, f->body, f->len, call_depth + 1);
	I->returning = false;
	I->g.if_depth = if_depth;
	for (size_t i = 0; i <= MAX_POSITIONAL; i++) {
		int q;

		if (i == 0)
			snprintf(key, sizeof(key), "#");
		else
			snprintf(key, sizeof(key), "%zu", i);
		q = vd_boot_vars_set(&I->g.vars, key, saved[i] ? saved[i] : "");
		if (r == 0)
			r = q;
		free(saved[i]);
	}
	return r;
}

/* `source PATH`: a missing or unreadable file does nothing (grub reports an error and goes on);
 * nesting counts as a call, and at most MAX_SOURCED files are read in all. */
static int source_file(struct interp *I, const char *path, unsigned call_depth)
{
	const struct vd_boot_grub_host *h = I->g.host;
	char *text = NULL;
	size_t len = 0, depth, if_depth;
	int r;

	if (!h || !h->read_file || !*path_in_guest(path))
		return 0;
	if (call_depth >= MAX_CALL_DEPTH || I->n_sourced >= MAX_SOURCED) {
		vd_debug("grub.cfg: source %s: too many or too deeply nested; skipped", path);
		return 0;
	}
	if (h->read_file(h->userdata, path_in_guest(path), &text, &len) < 0)
		return 0;
	if (memchr(text, '\0', len)) {
		free(text);
		return 0;
	}
	I->sourced[I->n_sourced++] = text;
	depth = I->depth;
	if_depth = I->g.if_depth;
	r = run_text(I, text, len, call_depth + 1);
	I->returning = false;
	I->g.if_depth = if_depth;
	if (r == -EBADMSG) {
		/* grub reports the file's syntax error and goes on with the rest */
		vd_debug("grub.cfg: source %s: syntax error; skipped what it left open", path);
		while (I->depth > depth)
			ctx_dispose(&I->stack[I->depth--]);
		if (I->record_start && I->record_depth > depth) {
			I->record_start = NULL;
			free(I->record_fn);
			I->record_fn = NULL;
		}
		r = 0;
	}
	return r;
}

/* set, unset, NAME=VALUE, load_env: wherever they run. */
static int assignment(struct interp *I, const struct command *cmd, size_t shift, char **dflt,
		      bool *ret_handled)
{
	const char *w0 = cmd->w[shift].s;

	*ret_handled = true;
	if (!strcmp(w0, "set") && shift + 1 < cmd->n)
		return do_set(&I->g.vars, dflt, cmd->w[shift + 1].s);
	if (strchr(w0, '=') && shift + 1 == cmd->n)
		return do_set(&I->g.vars, dflt, w0);
	if (!strcmp(w0, "unset") && shift + 1 < cmd->n)
		return vd_boot_vars_set(&I->g.vars, cmd->w[shift + 1].s, "");
	if (!strcmp(w0, "load_env"))
		return load_env(&I->g, dflt);
	*ret_handled = false;
	return 0;
}

/* Runs text (grub.cfg, a function's body or an entry's) against the interpreter's state: the
 * commands grub would run, in the branches it would take. Menu entries are collected with their
 * bodies, which run once the whole script has (grub runs an entry's commands when it boots it,
 * with the variables as the script left them). */
static int run_text(struct interp *I, const char *text, size_t len, unsigned call_depth)
{
	struct command cmd = {};
	struct lexer lx = { .p = text, .end = text + len, .vars = &I->g.vars };
	size_t base = I->depth;
	int r = 0;

	while (!I->returning && (r = next_command(&lx, &cmd)) > 0) {
		struct ctx *c = &I->stack[I->depth];
		const char *w0 = cmd.w[0].s;
		bool opens = cmd.w[cmd.n - 1].brace && !strcmp(cmd.w[cmd.n - 1].s, "{");
		size_t shift;

		if (++I->steps > MAX_STEPS) {
			r = -E2BIG;
			break;
		}
		if (cmd.w[0].brace && !strcmp(w0, "}")) {
			if (I->depth <= base) {
				r = -EBADMSG;
				break;
			}
			if (I->record_start && I->depth == I->record_depth) {
				/* the end of a body we kept: it runs later */
				const char *end = lx.p - 1;
				size_t blen = (size_t)(end - I->record_start);

				if (I->record_fn) {
					r = define_function(I, I->record_fn, I->record_start, blen);
					free(I->record_fn);
					I->record_fn = NULL;
				} else {
					struct body *grown;

					r = vd_boot_menu_add(&I->menu, &I->stack[I->depth].entry);
					grown = r < 0 ? NULL
						      : realloc(I->bodies,
								I->menu.n * sizeof(*grown));
					if (r == 0 && !grown)
						r = -ENOMEM;
					if (r == 0) {
						I->bodies = grown;
						I->bodies[I->menu.n - 1] =
							(struct body){ I->record_start, blen };
					}
				}
				I->record_start = NULL;
				if (r < 0)
					break;
			}
			ctx_dispose(&I->stack[I->depth]);
			I->depth--;
			continue;
		}
		if (c->kind == CTX_SKIP || c->kind == CTX_ENTRY) {
			/* not running: a body kept for later or a block grub does not run */
			if (opens) {
				if (++I->depth >= MAX_DEPTH) {
					r = -E2BIG;
					break;
				}
				memset(&I->stack[I->depth], 0, sizeof(I->stack[I->depth]));
				I->stack[I->depth].kind = CTX_SKIP;
			}
			continue;
		}
		shift = flow_keyword(&I->g, &cmd);
		if (shift >= cmd.n)
			continue;
		w0 = cmd.w[shift].s;

		if (opens && running(&I->g) && shift == 0 && !strcmp(w0, "function") &&
		    cmd.n == 3 && !I->entry) {
			/* function NAME { ... }: kept, to run when called */
			if (I->depth + 1 >= MAX_DEPTH || I->record_start) {
				r = -E2BIG;
				break;
			}
			I->record_fn = strdup(cmd.w[1].s);
			if (!I->record_fn) {
				r = -ENOMEM;
				break;
			}
			I->record_start = lx.p;
			I->record_depth = ++I->depth;
			memset(&I->stack[I->depth], 0, sizeof(I->stack[I->depth]));
			I->stack[I->depth].kind = CTX_SKIP;
			continue;
		}
		if (opens && (!running(&I->g) || shift > 0 || I->entry || I->record_start ||
			      (strcmp(w0, "menuentry") && strcmp(w0, "submenu")))) {
			/* entries in branches grub does not take, blocks inside an entry: not ours */
			if (++I->depth >= MAX_DEPTH) {
				r = -E2BIG;
				break;
			}
			memset(&I->stack[I->depth], 0, sizeof(I->stack[I->depth]));
			I->stack[I->depth].kind = CTX_SKIP;
			continue;
		}
		if (opens) {
			struct ctx *child;
			const char *title, *id;
			char index[32];

			if (I->depth + 1 >= MAX_DEPTH) {
				r = -E2BIG;
				break;
			}
			block_title_id(&cmd, &title, &id);
			if (!title) {
				r = -EBADMSG;
				break;
			}
			child = &I->stack[++I->depth];
			memset(child, 0, sizeof(*child));
			child->kind = !strcmp(w0, "submenu") ? CTX_SUBMENU : CTX_ENTRY;
			snprintf(index, sizeof(index), "%zu", c->children++);
			child->index_path = join_path(c->index_path, index);
			child->title_path = join_path(c->title_path, title);
			child->id_path = (c->kind == CTX_TOP || c->id_path) && id
						 ? join_path(c->id_path, id)
						 : NULL;
			if (!child->index_path || !child->title_path ||
			    (id && (c->kind == CTX_TOP || c->id_path) && !child->id_path)) {
				r = -ENOMEM;
				break;
			}
			if (child->kind == CTX_ENTRY) {
				child->entry.index_path = strdup(child->index_path);
				child->entry.title = strdup(child->title_path);
				child->entry.id = child->id_path ? strdup(child->id_path) : NULL;
				if (!child->entry.index_path || !child->entry.title ||
				    (child->id_path && !child->entry.id)) {
					r = -ENOMEM;
					break;
				}
				I->record_start = lx.p;
				I->record_depth = I->depth;
			}
			continue;
		}
		if (!running(&I->g))
			continue;
		if ((!strcmp(w0, "source") || !strcmp(w0, ".")) && shift + 1 < cmd.n) {
			/* the file's commands run here, as if written in place */
			r = source_file(I, cmd.w[shift + 1].s, call_depth);
			if (r < 0)
				break;
			continue;
		}
		if (!strcmp(w0, "return") && call_depth > 0) {
			I->returning = true;
			break;
		}
		{
			const struct function *f = find_function(I, w0);
			char *ignored = NULL; /* a submenu's or an entry's default is not the menu's */
			char **dflt = c->kind == CTX_TOP && !I->entry ? &I->menu.default_spec
								       : &ignored;
			bool handled;

			if (f) {
				r = call_function(I, f, &cmd, shift, call_depth);
				if (r < 0)
					break;
				continue;
			}
			r = assignment(I, &cmd, shift, dflt, &handled);
			free(ignored);
			if (r < 0)
				break;
			if (handled)
				continue;
		}
		if (I->entry) {
			struct ctx ec = { .kind = CTX_ENTRY };
			struct command sub = { .n = 0 };

			/* view the command without its then/else keyword */
			for (size_t i = shift; i < cmd.n; i++)
				sub.w[sub.n++] = cmd.w[i];
			ec.entry = *I->entry;
			r = entry_command(&ec, &sub);
			*I->entry = ec.entry;
			if (r < 0)
				break;
			continue;
		}
		if (!strcmp(w0, "blscfg") && c->kind == CTX_TOP && !I->blscfg) {
			I->blscfg = true;
			r = copy_vars(&I->g.vars, &I->bls_vars);
			if (r < 0)
				break;
		}
	}
	command_clear(&cmd);
	if (r < 0)
		return r;
	if (I->depth != base)
		return -EBADMSG; /* a block left open */
	return 0;
}

/* Each entry's body, as grub runs it when it boots that entry: after the whole script, from the
 * variables the script left, and without what other entries' bodies set. */
static int run_entry_bodies(struct interp *I)
{
	struct vd_boot_vars final = {};
	uint64_t size = 0;
	int r;

	/* every entry starts from a copy of the variables: bound what that copies in all */
	for (size_t i = 0; i < I->g.vars.n; i++)
		size += strlen(I->g.vars.keys[i]) + strlen(I->g.vars.values[i]) + 2;
	if (size * I->menu.n > MAX_COPIED)
		return -E2BIG;
	r = copy_vars(&I->g.vars, &final);

	for (size_t i = 0; r == 0 && i < I->menu.n; i++) {
		r = copy_vars(&final, &I->g.vars);
		if (r < 0)
			break;
		I->g.if_depth = 0;
		I->entry = &I->menu.entries[i];
		r = run_text(I, I->bodies[i].p, I->bodies[i].len, 0);
		I->entry = NULL;
		I->returning = false;
		if (r == 0 && !I->menu.entries[i].args && !(I->menu.entries[i].args = strdup("")))
			r = -ENOMEM;
	}
	vd_boot_vars_dispose(&final);
	return r;
}

int vd_boot_grub_parse_full(const char *text, size_t len, const struct vd_boot_vars *env,
			    const struct vd_boot_grub_host *host, struct vd_boot_menu *ret,
			    struct vd_boot_vars *ret_bls_vars, bool *ret_blscfg)
{
	struct interp *I;
	int r;

	if (memchr(text, '\0', len))
		return -EILSEQ;
	I = calloc(1, sizeof(*I));
	if (!I)
		return -ENOMEM;
	I->g.env = env;
	I->g.host = host;
	I->stack[0].kind = CTX_TOP;
	r = grub_builtin_vars(&I->g);
	if (r == 0)
		r = run_text(I, text, len, 0);
	if (r == 0)
		r = run_entry_bodies(I);
	if (r < 0)
		goto out;
	if (I->menu.default_spec && !*I->menu.default_spec) {
		free(I->menu.default_spec);
		I->menu.default_spec = NULL;
	}
	{
		const char *next = env ? vd_boot_vars_get(env, "next_entry") : NULL;

		/* grub-reboot's one-time choice: grub.cfg makes it the default and clears it with
		 * save_env; vdloader never writes the guest's disk, so it holds until the guest
		 * boots grub or clears it */
		if (next && *next && I->menu.default_spec && !strcmp(I->menu.default_spec, next))
			vd_warn("grubenv's next_entry (grub-reboot) chooses '%s'; vdloader cannot clear "
				"it in the guest, so it applies at every boot until the guest runs "
				"'grub-editenv - unset next_entry'", next);
	}
	*ret = I->menu;
	memset(&I->menu, 0, sizeof(I->menu));
	if (ret_bls_vars) {
		*ret_bls_vars = I->bls_vars;
		memset(&I->bls_vars, 0, sizeof(I->bls_vars));
	}
	if (ret_blscfg)
		*ret_blscfg = I->blscfg;
out:
	for (size_t i = 0; i <= I->depth && i < MAX_DEPTH; i++)
		ctx_dispose(&I->stack[i]);
	for (size_t i = 0; i < I->n_fns; i++)
		free(I->fns[i].name);
	free(I->record_fn);
	free(I->bodies);
	for (size_t i = 0; i < I->n_sourced; i++)
		free(I->sourced[i]);
	vd_boot_menu_dispose(&I->menu);
	vd_boot_vars_dispose(&I->bls_vars);
	vd_boot_vars_dispose(&I->g.vars);
	free(I);
	return r;
}

int vd_boot_grub_parse(const char *text, size_t len, const struct vd_boot_vars *env,
		       struct vd_boot_menu *ret)
{
	return vd_boot_grub_parse_full(text, len, env, NULL, ret, NULL, NULL);
}

int vd_boot_grubenv_parse(const char *text, size_t len, struct vd_boot_vars *ret)
{
	struct vd_boot_vars vars = {};
	const char *p = text, *end = text + len;
	int r;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		const char *eq = memchr(p, '=', (size_t)(line_end - p));

		if (*p != '#' && eq && eq > p && (size_t)(eq - p) < 128 &&
		    !memchr(p, '\0', (size_t)(line_end - p))) {
			char key[128];
			char *value = strndup(eq + 1, (size_t)(line_end - eq - 1));

			if (!value) {
				vd_boot_vars_dispose(&vars);
				return -ENOMEM;
			}
			memcpy(key, p, (size_t)(eq - p));
			key[eq - p] = '\0';
			r = valid_var_name(key, strlen(key)) ? vd_boot_vars_set(&vars, key, value) : 0;
			free(value);
			if (r < 0) {
				vd_boot_vars_dispose(&vars);
				return r;
			}
		}
		p = line_end + 1;
	}
	*ret = vars;
	return 0;
}
