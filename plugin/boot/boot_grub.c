/* grub2 grub.cfg and grubenv. grub.cfg is a shell-like script; we do not run it all: we tokenise
 * it as grub does (quotes, escapes, $var expansion with field splitting, ';' and newlines),
 * evaluate the conditions of if/elif/else the way grub's `test` does (an unknown command or test
 * is false), run for/while/until loops, apply `set`, `unset`, `export`, `load_env`, `search`,
 * `source` and `configfile` in the branches grub would take, keep functions and run them when
 * called, and collect the menuentry/submenu blocks there. As grub does, a submenu's body runs
 * when the menu enters it, in a new context holding the exported variables only, and each
 * entry's commands run once the script has, as grub runs them when it boots the entry; an
 * entry keeps $root, the device its files are read from. Nothing else runs: no modules or
 * other commands. Hostile scripts are bounded: call depth, commands run, files read,
 * variables copied. */
#include <ctype.h>
#include <string.h>

#include "base/error.h"
#include "boot/boot_menu.h"

#define MAX_WORDS 256
#define MAX_DEPTH 32

struct word {
	char *s;
	size_t len;
	bool brace;		/* an unquoted "{" or "}" */
	const char *start, *end; /* where its token lies in the text (loops re-read it) */
};

struct command {
	struct word w[MAX_WORDS];
	size_t n;
};

struct lexer {
	const char *p, *end;
	const struct vd_boot_vars *vars;
	bool raw; /* no expansion: finding where a loop ends without running anything */
	uint64_t *budget; /* bytes of words left to read in all; NULL: no bound */
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

static bool valid_var_name(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_name_char(s[i]))
			return false;
	return true;
}

static int expand(struct lexer *lx, char **buf, size_t *len)
{
	char name[128];
	size_t n = 0;
	const char *value;

	/* lx->p points just past '$' */
	if (lx->raw)
		return vd_boot_strbuf_append(buf, len, "$", 1);
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
static int lex_command(struct lexer *lx, struct command *cmd)
{
	int r;

	command_clear(cmd);
	for (;;) {
		char *buf = NULL;
		size_t len = 0, first;
		bool quoted = false;
		const char *token;

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
			cmd->w[cmd->n].start = lx->p;
			cmd->w[cmd->n].end = lx->p + 1;
			cmd->n++;
			lx->p++;
			return 1;
		}
		token = lx->p;
		first = cmd->n;
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
		for (size_t i = first; i < cmd->n; i++) {
			cmd->w[i].start = token;
			cmd->w[i].end = lx->p;
		}
	}
}

/* lex_command, charging the words' bytes (expansions included) to the budget: loops and calls
 * read the same text again, and a command of 256 words of 8 KiB each is 2 MiB. */
static int next_command(struct lexer *lx, struct command *cmd)
{
	int r = lex_command(lx, cmd);
	uint64_t n = 0;

	if (r <= 0 || !lx->budget)
		return r;
	for (size_t i = 0; i < cmd->n; i++)
		n += cmd->w[i].len + 1;
	if (n > *lx->budget)
		return -E2BIG;
	*lx->budget -= n;
	return r;
}

enum ctx_kind { CTX_TOP, CTX_SUBMENU, CTX_ENTRY, CTX_SKIP };

/* One if/elif/else/fi (or a loop in code that does not run): whether the enclosing code runs,
 * whether a branch was taken, whether the current one runs, and whether we are still reading
 * the condition (the commands between `if` and `then`; the last one's status counts). */
#define MAX_IF_DEPTH 64
struct if_frame {
	bool outer_active, taken, active, in_cond, cond;
};

struct grub_state {
	struct vd_boot_vars vars;
	struct vd_boot_vars exports; /* the names `export` marked: what a new context sees */
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

/* grub's FILE argument: "(dev)/path", or a path on $root's device. */
struct file_arg {
	char device[128]; /* "" when neither names one */
	const char *path;
	bool explicit; /* "(dev)" written: no other filesystem will do */
};

static void split_file(const struct grub_state *g, const char *word, struct file_arg *ret)
{
	const char *root = vd_boot_vars_get(&g->vars, "root");

	ret->device[0] = '\0';
	ret->path = word;
	ret->explicit = false;
	if (word[0] == '(') {
		const char *close = strchr(word, ')');

		if (close) {
			snprintf(ret->device, sizeof(ret->device), "%.*s", (int)(close - word - 1),
				 word + 1);
			ret->path = close + 1;
			ret->explicit = true;
		}
	} else if (root) {
		snprintf(ret->device, sizeof(ret->device), "%s", root);
	}
	if (!ret->path[0])
		ret->path = "/"; /* "(hd0,gpt2)" alone: the filesystem's root directory */
}

/* A device the host cannot read: grub fails on one it named explicitly (`[ -e (md/md-boot) ]`
 * is false); for $root, which the config may have set for another layout of the disk (a
 * generator's `set root='hd0,msdos1'` on an image without that partition), the config's own
 * filesystem answers. */
static int host_stat(const struct grub_state *g, const struct file_arg *f, uint64_t *ret_size,
		     bool *ret_dir)
{
	const struct vd_boot_grub_host *h = g->host;
	int r = h->stat_file(h->userdata, f->device[0] ? f->device : NULL, f->path, ret_size,
			     ret_dir);

	if (r == -ENODEV && !f->explicit && f->device[0])
		r = h->stat_file(h->userdata, NULL, f->path, ret_size, ret_dir);
	return r;
}

static int host_read(const struct grub_state *g, const struct file_arg *f, char **ret_text,
		     size_t *ret_len)
{
	const struct vd_boot_grub_host *h = g->host;
	int r = h->read_file(h->userdata, f->device[0] ? f->device : NULL, f->path, ret_text,
			     ret_len);

	if (r == -ENODEV && !f->explicit && f->device[0])
		r = h->read_file(h->userdata, NULL, f->path, ret_text, ret_len);
	return r;
}

static int test_file(struct test_args *t, const char *op, const char *word)
{
	const struct vd_boot_grub_host *h = t->g->host;
	struct file_arg f;
	uint64_t size = 0;
	bool dir = false;
	int r;

	if (!h || !h->stat_file || !*word) {
		vd_debug("grub.cfg: cannot evaluate test %s %s here; taking it as false", op, word);
		t->g->unknown = true;
		return 0;
	}
	split_file(t->g, word, &f);
	r = host_stat(t->g, &f, &size, &dir);
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

/* search [-f|-l|-u] [-s|--set[=VAR]] [--no-floppy] [--hint[=]HINT...] NAME, and the
 * search.fs_uuid / search.fs_label / search.file NAME [VAR] forms (grub's search_wrap.c and
 * search.c): the first filesystem that matches sets VAR (`root` for a bare --set); none leaves
 * it as it was and fails. 1 found, 0 not, < 0 error. */
static int do_search(struct grub_state *g, const struct command *cmd, size_t from)
{
	const struct vd_boot_grub_host *h = g->host;
	const char *w0 = cmd->w[from].s, *var = NULL, *key = NULL;
	const char *hints[16];
	size_t n_hints = 0;
	char kind = 0, *dev = NULL;
	bool by_file = false, by_label = false, by_uuid = false;
	int r = 0;

	if (!strcmp(w0, "search.fs_uuid") || !strcmp(w0, "search.fs_label") ||
	    !strcmp(w0, "search.file")) {
		kind = w0[7] == 'f' && w0[8] == 's' ? (w0[10] == 'u' ? 'u' : 'l') : 'f';
		if (from + 1 >= cmd->n)
			return 0;
		key = cmd->w[from + 1].s;
		var = from + 2 < cmd->n ? cmd->w[from + 2].s : NULL;
		for (size_t i = from + 3; i < cmd->n && n_hints < ARRAY_SIZE(hints); i++)
			hints[n_hints++] = cmd->w[i].s;
	} else {
		for (size_t i = from + 1; i < cmd->n; i++) {
			const char *a = cmd->w[i].s;
			const char *next = i + 1 < cmd->n ? cmd->w[i + 1].s : NULL;

			if (!strcmp(a, "--file") || !strcmp(a, "-f")) {
				by_file = true;
			} else if (!strcmp(a, "--label") || !strcmp(a, "-l")) {
				by_label = true;
			} else if (!strcmp(a, "--fs-uuid") || !strcmp(a, "-u")) {
				by_uuid = true;
			} else if (!strcmp(a, "--no-floppy") || !strcmp(a, "-n")) {
			} else if (!strncmp(a, "--set=", 6)) {
				var = a + 6;
			} else if (!strcmp(a, "--set") || !strcmp(a, "-s")) {
				/* the value is optional: the next word when it is no option */
				var = "root";
				if (next && (a[1] == '-' ? next[0] != '-' : strlen(next) < 2 ||
									    next[0] != '-')) {
					var = next;
					i++;
				}
			} else if (!strncmp(a, "--hint=", 7) || !strncmp(a, "--hint-baremetal=", 17)) {
				if (n_hints < ARRAY_SIZE(hints))
					hints[n_hints++] = strchr(a, '=') + 1;
			} else if (!strcmp(a, "--hint") || !strcmp(a, "--hint-baremetal") ||
				   !strcmp(a, "-h")) {
				if (next && n_hints < ARRAY_SIZE(hints))
					hints[n_hints++] = next;
				i += next != NULL;
			} else if (!strncmp(a, "--hint-", 7)) {
				/* hints for other platforms (bios, efi, ieee1275, arc) */
				if (!strchr(a, '=') && next && next[0] != '-')
					i++;
			} else if (a[0] == '-' && a[1]) {
				/* distributions' own flags (Fedora's --root-dev-only) */
			} else if (!key) {
				key = a;
			}
		}
		/* grub takes --label over --fs-uuid over --file */
		kind = by_label ? 'l' : by_uuid ? 'u' : by_file ? 'f' : 0;
	}
	if (!key || !kind) {
		vd_debug("grub.cfg: %s without a name or a search type; it fails", w0);
		return 0;
	}
	if (!h || !h->search) {
		vd_debug("grub.cfg: search %s: no disk to search here", key);
		return 0;
	}
	for (size_t i = 0; i < n_hints && r == 0; i++) {
		size_t hl = strlen(hints[i]);

		if (hl == 0)
			continue;
		/* "hd0," means the partitions of hd0: grub names them in full */
		r = h->search(h->userdata, kind, key, hints[i][hl - 1] == ',' ? NULL : hints[i],
			      &dev);
		if (r == 0 && hints[i][hl - 1] == ',')
			break;
	}
	if (r == 0)
		r = h->search(h->userdata, kind, key, NULL, &dev);
	if (r <= 0) {
		vd_debug("grub.cfg: search: no such device: %s%s%s", key, var ? "; $" : "",
			 var ? var : "");
		return r;
	}
	if (var && valid_var_name(var, strlen(var)))
		r = vd_boot_vars_set(&g->vars, var, dev);
	vd_debug("grub.cfg: search %s: %s", key, dev);
	free(dev);
	return r < 0 ? r : 1;
}

/* The exit status of a condition command as a truth value. Only `[`, `test`, `true`, `false`
 * and `search` are evaluated; any other command (search, loadfont, keystatus, a function, ...) is taken as
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
	if (!strcmp(w, "search") || !strncmp(w, "search.", 7))
		return (do_search(g, cmd, t.i) > 0) != negate;
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

/* if/then/elif/else/fi as grub runs them, and for/while/until/do/done where they do not run.
 * Returns the index of the first word left to run as a command (cmd->n when none), after any
 * keyword it consumed; a loop that runs is left to the caller. */
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
		if ((!strcmp(w, "for") || !strcmp(w, "while") || !strcmp(w, "until")) &&
		    running(g) && !(fr && fr->in_cond))
			return i; /* a loop that runs: run_loop reads it whole */
		if (!strcmp(w, "if") || !strcmp(w, "while") || !strcmp(w, "until") ||
		    !strcmp(w, "for")) {
			bool outer = running(g);

			/* a loop in a branch not taken (or in a condition) runs nothing: it is
			 * tracked as an if whose body never runs, for its do/done to pair up */
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
	char **argv; /* a menuentry's or submenu's arguments: its body's $1 (the title), $2.. */
	size_t argc;
	char *own_id; /* its --id alone, as its own menu knows it */
};

static void free_argv(char **argv, size_t argc)
{
	for (size_t i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

static void ctx_dispose(struct ctx *c)
{
	free_argv(c->argv, c->argc);
	free(c->own_id);
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

/* The words of a menuentry/submenu command that are no option (menuentry.c's argv): the title
 * and what follows it, which its body sees as $1, $2, ... */
static int block_args(const struct command *cmd, char ***ret_argv, size_t *ret_argc)
{
	char **argv = calloc(cmd->n, sizeof(*argv));
	size_t argc = 0;

	if (!argv)
		return -ENOMEM;
	for (size_t i = 1; i + 1 < cmd->n; i++) {
		const char *w = cmd->w[i].s;

		if (!strcmp(w, "--id") || !strcmp(w, "--class") || !strcmp(w, "--users") ||
		    !strcmp(w, "--hotkey") || !strcmp(w, "--source")) {
			i++;
			continue;
		}
		if (!strncmp(w, "--", 2))
			continue;
		if (!(argv[argc++] = strdup(w))) {
			free_argv(argv, argc);
			return -ENOMEM;
		}
	}
	*ret_argv = argv;
	*ret_argc = argc;
	return 0;
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
	if (!strcmp(key, "root")) {
		/* grub's write hook on root drops the parentheses of "(hd0,1)" */
		size_t vl = strlen(eq + 1);

		if (vl >= 2 && eq[1] == '(' && eq[vl] == ')') {
			char *v = strndup(eq + 2, vl - 2);
			int r;

			if (!v)
				return -ENOMEM;
			r = vd_boot_vars_set(vars, key, v);
			free(v);
			return r;
		}
	}
	if (!strcmp(key, "default")) {
		char *d = strdup(eq + 1);

		if (!d)
			return -ENOMEM;
		free(*default_spec);
		*default_spec = d;
	}
	return vd_boot_vars_set(vars, key, eq + 1);
}

/* An entry's linux and initrd commands. root: $root as they run; grub opens a FILE without a
 * "(device)" on it, so the entry keeps it (initrds on another device than the kernel's carry
 * theirs in the path). */
static int entry_command(struct ctx *c, const struct command *cmd, const char *root)
{
	const char *w0 = cmd->w[0].s;
	struct vd_boot_entry *e = &c->entry;
	int r;

	if (root && !*root)
		root = NULL;
	if (!strcmp(w0, "linux") || !strcmp(w0, "linux16") || !strcmp(w0, "linuxefi")) {
		if (cmd->n < 2)
			return -EBADMSG;
		free(e->kernel);
		free(e->args);
		free(e->device);
		e->args = NULL;
		e->device = NULL;
		e->kernel = strdup(cmd->w[1].s);
		if (!e->kernel || (root && !(e->device = strdup(root))))
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
			if (cmd->w[i].s[0] != '(' && root &&
			    (!e->device || strcmp(e->device, root))) {
				if (asprintf(&e->initrds[e->n_initrds], "(%s)%s", root,
					     cmd->w[i].s) < 0)
					e->initrds[e->n_initrds] = NULL;
			} else {
				e->initrds[e->n_initrds] = strdup(cmd->w[i].s);
			}
			if (!e->initrds[e->n_initrds])
				return -ENOMEM;
			e->n_initrds++;
		}
		return 0;
	}
	return 0;
}

/* load_env [-f FILE] [-s] [NAME...] (commands/loadenv.c): the variables of FILE, by default
 * $prefix/grubenv, read when the command runs and from where $prefix then points (after a
 * configfile, the new one's); only the NAMEs when given. Without a host to read files, the
 * grubenv the caller found stands in for it. A file that cannot be read loads nothing. */
static int load_env(struct grub_state *g, char **default_spec, const struct command *cmd,
		    size_t shift)
{
	const struct vd_boot_grub_host *h = g->host;
	const struct vd_boot_vars *env = g->env;
	struct vd_boot_vars from_file = {};
	const char *file = NULL, *names[MAX_WORDS];
	char *owned = NULL;
	size_t n_names = 0;
	int r = 0;

	for (size_t i = shift + 1; i < cmd->n; i++) {
		const char *a = cmd->w[i].s;

		if ((!strcmp(a, "-f") || !strcmp(a, "--file")) && i + 1 < cmd->n)
			file = cmd->w[++i].s;
		else if (!strncmp(a, "--file=", 7))
			file = a + 7;
		else if (a[0] != '-')
			names[n_names++] = a;
	}
	if (h && h->read_file) {
		const char *prefix = vd_boot_vars_get(&g->vars, "prefix");
		struct file_arg f;
		char *text = NULL;
		size_t len = 0;

		if (!file && asprintf(&owned, "%s/grubenv", prefix ? prefix : "") < 0)
			return -ENOMEM;
		split_file(g, file ? file : owned, &f);
		r = host_read(g, &f, &text, &len);
		if (r < 0)
			vd_debug("grub.cfg: load_env: cannot read %s; nothing loaded",
				 file ? file : owned);
		free(owned);
		if (r < 0)
			return 0;
		r = vd_boot_grubenv_parse(text, len, &from_file);
		free(text);
		if (r < 0)
			return r == -ENOMEM ? r : 0;
		env = &from_file;
	}
	for (size_t i = 0; env && i < env->n && r == 0; i++) {
		bool wanted = n_names == 0;
		char *assign;

		for (size_t k = 0; k < n_names && !wanted; k++)
			wanted = !strcmp(names[k], env->keys[i]);
		if (!wanted)
			continue;
		if (asprintf(&assign, "%s=%s", env->keys[i], env->values[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		r = do_set(&g->vars, default_spec, assign);
		free(assign);
	}
	vd_boot_vars_dispose(&from_file);
	return r;
}

/* grub_env_export: marks the variable, creating it empty when unset. */
static int do_export(struct grub_state *g, const char *name)
{
	int r;

	if (!valid_var_name(name, strlen(name)))
		return 0;
	if (!vd_boot_vars_get(&g->vars, name) && (r = vd_boot_vars_set(&g->vars, name, "")) < 0)
		return r;
	return vd_boot_vars_set(&g->exports, name, "1");
}

/* What grub itself defines (and exports) before it reads grub.cfg, for a Xen guest's grub
 * (pvgrub2): kern/main.c's root and prefix, normal/main.c's features and platform,
 * read_config_file's config_file and config_directory. */
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
		{ "color_normal", "white/black" },
		{ "color_highlight", "black/white" },
	};
	const struct vd_boot_grub_host *h = g->host;
	const char *cfg = h && h->config_path ? h->config_path : NULL;
	const char *dev = h && h->config_device ? h->config_device : NULL;
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(builtin) && r == 0; i++) {
		r = vd_boot_vars_set(&g->vars, builtin[i][0], builtin[i][1]);
		if (r == 0)
			r = do_export(g, builtin[i][0]);
	}
	if (r == 0 && dev)
		r = vd_boot_vars_set(&g->vars, "root", dev);
	if (r == 0 && cfg) {
		const char *slash = strrchr(cfg, '/');
		char *dir, *file;

		if (asprintf(&dir, "%s%s%s%.*s", dev ? "(" : "", dev ? dev : "", dev ? ")" : "",
			     slash ? (int)(slash - cfg) : 0, cfg) < 0)
			return -ENOMEM;
		if (asprintf(&file, "%s/%s", dir, slash ? slash + 1 : cfg) < 0) {
			free(dir);
			return -ENOMEM;
		}
		r = vd_boot_vars_set(&g->vars, "prefix", dir);
		if (r == 0)
			r = vd_boot_vars_set(&g->vars, "config_directory", dir);
		if (r == 0)
			r = vd_boot_vars_set(&g->vars, "config_file", file);
		free(dir);
		free(file);
	}
	for (size_t i = 0; r == 0 && i < 4; i++)
		r = do_export(g, (const char *[]){ "root", "prefix", "config_directory",
						   "config_file" }[i]);
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
#define MAX_CALL_DEPTH 16	/* functions, sourced and configfile'd files nested; deeper: skipped */
#define MAX_STEPS 200000	/* commands run in all (and words searched for a loop's end) */
#define MAX_POSITIONAL 9
#define MAX_SOURCED 16		/* files `source` and `configfile` may read in all */
#define MAX_COPIED (16u << 20) /* bytes of variables copied into new contexts in all */
#define MAX_LEXED (16u << 20)  /* bytes of words read (and expanded) in all */
#define MAX_SUBMENUS VD_BOOT_MAX_ENTRIES

struct function {
	char *name;
	const char *body; /* a slice of a text the world keeps */
	size_t len;
};

/* What every context of one grub.cfg shares: functions are global in grub (a configfile'd
 * script or a submenu calls what grub.cfg defined), the texts read stay while bodies point into
 * them, and the bounds count everything. */
struct world {
	struct function fns[MAX_FUNCTIONS];
	size_t n_fns;
	char *texts[MAX_SOURCED];
	size_t n_texts;
	unsigned long steps;
	uint64_t copied;
	uint64_t lexed_left; /* MAX_LEXED, counted down by next_command */
};

/* A menuentry's or submenu's body, and the context whose variables it runs with. */
struct body {
	const char *p;
	size_t len;
	size_t ctx;
	char **argv; /* $1 (the title), $2, ... */
	size_t argc;
	char *own_id; /* an entry's --id alone */
};

/* grub runs a submenu's body when its menu is entered (grub_menu_execute_entry), in a new
 * context that starts with the exported variables only (grub_env_context_open); its entries
 * belong to that context. */
struct submenu {
	char *title_path, *id_path, *index_path;
	struct body body;
	char *own_default; /* what its body set `default` to: its menu's default */
};

/* A context's variables as they stand at its end (the script's for the top level, the body's
 * for a submenu): what its entries' bodies run with, and what its submenus inherit. */
struct context {
	struct vd_boot_vars vars, exports;
};

struct interp {
	struct world *w;
	struct grub_state g;
	struct vd_boot_menu menu;
	struct body *bodies; /* menu.entries[i]'s commands, run once the script has run */
	size_t n_bodies;
	struct submenu *subs;
	size_t n_subs;
	struct context *ctxs; /* [0]: the top level */
	size_t n_ctxs;
	size_t cur_ctx; /* the context entries and submenus defined now belong to */
	struct vd_boot_vars bls_vars;
	bool blscfg;
	struct ctx stack[MAX_DEPTH];
	size_t depth;
	struct vd_boot_entry *entry; /* while an entry's body runs: the entry it fills */
	bool returning;		     /* `return` ran: leave the function */
	unsigned loops;		     /* loops running in this function (grub's active_loops) */
	unsigned breaks;	     /* loop levels `break`/`continue` still leaves */
	bool continuing;
	bool stop;		 /* `configfile` showed a menu of its own: nothing more runs here */
	struct interp *replaced; /* that configfile's context */
	/* the function definition or body being skipped: where its text began, and at which
	 * stack depth its "}" closes it */
	const char *record_start;
	size_t record_depth;
	char *record_fn; /* the name, for a function */
	bool record_sub; /* a submenu's body */
};

static const struct function *find_function(const struct world *w, const char *name)
{
	for (size_t i = 0; i < w->n_fns; i++)
		if (!strcmp(w->fns[i].name, name))
			return &w->fns[i];
	return NULL;
}

static int define_function(struct world *w, const char *name, const char *body, size_t len)
{
	struct function *f = (struct function *)find_function(w, name);

	if (!f) {
		if (w->n_fns >= MAX_FUNCTIONS) {
			vd_debug("grub.cfg: more than %d functions; ignoring '%s'", MAX_FUNCTIONS,
				 name);
			return 0;
		}
		f = &w->fns[w->n_fns];
		f->name = strdup(name);
		if (!f->name)
			return -ENOMEM;
		w->n_fns++;
	}
	f->body = body; /* a later definition replaces an earlier one, as in grub */
	f->len = len;
	return 0;
}

/* What copying v costs: its bytes and, for each variable, its two allocations and slots. */
static int count_copy(struct world *w, const struct vd_boot_vars *v)
{
	for (size_t i = 0; i < v->n; i++)
		w->copied += strlen(v->keys[i]) + strlen(v->values[i]) + 64;
	return w->copied > MAX_COPIED ? -E2BIG : 0;
}

/* The variables a new context starts with: the exported ones of from (grub_env_new_context),
 * exported there too. */
static int new_context(struct world *w, const struct vd_boot_vars *vars,
		       const struct vd_boot_vars *exports, struct grub_state *to)
{
	int r = count_copy(w, exports);

	vd_boot_vars_dispose(&to->vars);
	vd_boot_vars_dispose(&to->exports);
	for (size_t i = 0; i < exports->n && r == 0; i++) {
		const char *v = vd_boot_vars_get(vars, exports->keys[i]);

		if (!*exports->values[i] || !v)
			continue;
		r = vd_boot_vars_set(&to->vars, exports->keys[i], v);
		if (r == 0)
			r = vd_boot_vars_set(&to->exports, exports->keys[i], "1");
	}
	return r;
}

static int snapshot(struct interp *I, size_t k)
{
	int r = count_copy(I->w, &I->g.vars);

	if (r == 0)
		r = copy_vars(&I->g.vars, &I->ctxs[k].vars);
	if (r == 0)
		r = copy_vars(&I->g.exports, &I->ctxs[k].exports);
	return r;
}

static int add_context(struct interp *I, size_t *ret)
{
	struct context *grown;

	if (I->n_ctxs > MAX_SUBMENUS)
		return -E2BIG;
	grown = realloc(I->ctxs, (I->n_ctxs + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	I->ctxs = grown;
	memset(&I->ctxs[I->n_ctxs], 0, sizeof(*grown));
	*ret = I->n_ctxs++;
	return 0;
}

static struct interp *interp_new(struct world *w, const struct vd_boot_vars *env,
				 const struct vd_boot_grub_host *host)
{
	struct interp *I = calloc(1, sizeof(*I));
	size_t top;

	if (!I)
		return NULL;
	I->w = w;
	I->g.env = env;
	I->g.host = host;
	I->stack[0].kind = CTX_TOP;
	if (add_context(I, &top) < 0) {
		free(I);
		return NULL;
	}
	return I;
}

static void interp_free(struct interp *I)
{
	while (I) {
		struct interp *next = I->replaced;

		for (size_t i = 0; i <= I->depth && i < MAX_DEPTH; i++)
			ctx_dispose(&I->stack[i]);
		free(I->record_fn);
		for (size_t i = 0; i < I->n_bodies; i++) {
			free_argv(I->bodies[i].argv, I->bodies[i].argc);
			free(I->bodies[i].own_id);
		}
		free(I->bodies);
		for (size_t i = 0; i < I->n_subs; i++) {
			free_argv(I->subs[i].body.argv, I->subs[i].body.argc);
			free(I->subs[i].own_default);
			free(I->subs[i].title_path);
			free(I->subs[i].id_path);
			free(I->subs[i].index_path);
		}
		free(I->subs);
		for (size_t i = 0; i < I->n_ctxs; i++) {
			vd_boot_vars_dispose(&I->ctxs[i].vars);
			vd_boot_vars_dispose(&I->ctxs[i].exports);
		}
		free(I->ctxs);
		vd_boot_menu_dispose(&I->menu);
		vd_boot_vars_dispose(&I->bls_vars);
		vd_boot_vars_dispose(&I->g.vars);
		vd_boot_vars_dispose(&I->g.exports);
		free(I);
		I = next;
	}
}

static int run_text(struct interp *I, const char *text, size_t len, unsigned call_depth);

/* $# and $1..$9 for a body that runs with these arguments (an entry's, a submenu's). */
static int set_positional(struct grub_state *g, char **argv, size_t argc)
{
	char key[4], count[24];
	int r;

	snprintf(count, sizeof(count), "%zu", argc);
	r = vd_boot_vars_set(&g->vars, "#", count);
	for (size_t i = 1; i <= MAX_POSITIONAL && r == 0; i++) {
		snprintf(key, sizeof(key), "%zu", i);
		r = vd_boot_vars_set(&g->vars, key, i <= argc ? argv[i - 1] : "");
	}
	return r;
}

/* A call: $1..$9 and $# are the arguments while the body runs, as in grub; every other variable
 * is global. if/fi left open by the body close with it; its loops are its own. */
static int call_function(struct interp *I, const struct function *f, const struct command *cmd,
			 size_t from, unsigned call_depth)
{
	char *saved[MAX_POSITIONAL + 1] = {};
	char key[4], count[8];
	size_t if_depth = I->g.if_depth, nargs = cmd->n - from - 1;
	unsigned loops = I->loops;
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
	I->loops = 0;
	if (r == 0)
		r = run_text(I, f->body, f->len, call_depth + 1);
	I->returning = false;
	I->loops = loops;
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

/* A file `source` or `configfile` names, read and kept in the world: 1 and its text, 0 when
 * grub would fail to open it (it reports that and goes on), or when past the bounds. */
static int read_script(struct interp *I, const char *word, unsigned call_depth, const char **ret,
		       size_t *ret_len)
{
	const struct vd_boot_grub_host *h = I->g.host;
	struct file_arg f;
	char *text = NULL;
	size_t len = 0;

	if (!h || !h->read_file || !*word)
		return 0;
	if (call_depth >= MAX_CALL_DEPTH || I->w->n_texts >= MAX_SOURCED) {
		vd_debug("grub.cfg: %s: too many or too deeply nested files; skipped", word);
		return 0;
	}
	split_file(&I->g, word, &f);
	if (host_read(&I->g, &f, &text, &len) < 0)
		return 0;
	if (memchr(text, '\0', len)) {
		free(text);
		return 0;
	}
	I->w->texts[I->w->n_texts++] = text;
	*ret = text;
	*ret_len = len;
	return 1;
}

/* After a file's syntax error: grub reports it and goes on without what the file left open. */
static void drop_open_blocks(struct interp *I, size_t depth, const char *word)
{
	vd_debug("grub.cfg: %s: syntax error; skipped what it left open", word);
	while (I->depth > depth)
		ctx_dispose(&I->stack[I->depth--]);
	if (I->record_start && I->record_depth > depth) {
		I->record_start = NULL;
		free(I->record_fn);
		I->record_fn = NULL;
	}
}

/* `source FILE`: its commands run here, as if written in place; a missing or unreadable file
 * does nothing. Nesting counts as a call. */
static int source_file(struct interp *I, const char *word, unsigned call_depth)
{
	const char *text;
	size_t len, depth = I->depth, if_depth = I->g.if_depth;
	int r = read_script(I, word, call_depth, &text, &len);

	if (r <= 0)
		return r;
	r = run_text(I, text, len, call_depth + 1);
	I->returning = false;
	I->g.if_depth = if_depth;
	if (r == -EBADMSG) {
		drop_open_blocks(I, depth, word);
		r = 0;
	}
	return r;
}

/* `configfile FILE` (commands/configfile.c): FILE runs in a new context, which starts with the
 * exported variables only, and fills a new menu; when that menu has entries grub shows it and
 * boots from it (normal/main.c grub_normal_execute), so it replaces this one and nothing after
 * the command runs. An empty one is dropped with its context, and the script goes on. */
static int configfile(struct interp *I, const char *word, unsigned call_depth)
{
	struct interp *J;
	const char *text, *slash;
	size_t len;
	char *dir;
	int r = read_script(I, word, call_depth, &text, &len);

	if (r <= 0)
		return r;
	J = interp_new(I->w, I->g.env, I->g.host);
	if (!J)
		return -ENOMEM;
	r = new_context(I->w, &I->g.vars, &I->g.exports, &J->g);
	/* read_config_file sets and exports config_file and config_directory */
	slash = strrchr(word, '/');
	dir = strndup(word, slash ? (size_t)(slash - word) : 0);
	if (r == 0 && !dir)
		r = -ENOMEM;
	if (r == 0)
		r = vd_boot_vars_set(&J->g.vars, "config_file", word);
	if (r == 0)
		r = vd_boot_vars_set(&J->g.vars, "config_directory", dir);
	if (r == 0)
		r = do_export(&J->g, "config_file");
	if (r == 0)
		r = do_export(&J->g, "config_directory");
	free(dir);
	if (r == 0)
		r = run_text(J, text, len, call_depth + 1);
	if (r == -EBADMSG) {
		drop_open_blocks(J, 0, word);
		r = 0;
	}
	if (r == 0 && (J->replaced || J->menu.n > 0 || J->n_subs > 0 || J->blscfg)) {
		vd_debug("grub.cfg: configfile %s: its menu replaces this one", word);
		if (!J->menu.origin && !(J->menu.origin = strdup(word))) {
			interp_free(J);
			return -ENOMEM;
		}
		I->replaced = J;
		I->stop = true;
		return 0;
	}
	if (r == 0)
		vd_debug("grub.cfg: configfile %s: no menu entries; going on", word);
	interp_free(J);
	return r;
}

/* set, unset, NAME=VALUE, load_env, export: wherever they run. */
static int assignment(struct interp *I, const struct command *cmd, size_t shift, char **dflt,
		      bool *ret_handled)
{
	const char *w0 = cmd->w[shift].s;
	int r = 0;

	*ret_handled = true;
	if (!strcmp(w0, "set") && shift + 1 < cmd->n)
		return do_set(&I->g.vars, dflt, cmd->w[shift + 1].s);
	if (strchr(w0, '=') && shift + 1 == cmd->n)
		return do_set(&I->g.vars, dflt, w0);
	if (!strcmp(w0, "unset")) {
		/* the variable goes, its export mark with it */
		for (size_t i = shift + 1; i < cmd->n && r == 0; i++) {
			r = vd_boot_vars_set(&I->g.vars, cmd->w[i].s, "");
			if (r == 0 && vd_boot_vars_get(&I->g.exports, cmd->w[i].s))
				r = vd_boot_vars_set(&I->g.exports, cmd->w[i].s, "");
		}
		return r;
	}
	if (!strcmp(w0, "export")) {
		for (size_t i = shift + 1; i < cmd->n && r == 0; i++)
			r = do_export(&I->g, cmd->w[i].s);
		return r;
	}
	if (!strcmp(w0, "load_env"))
		return load_env(&I->g, dflt, cmd, shift);
	*ret_handled = false;
	return 0;
}

/* Where the loop whose keyword starts at kw ends, read without running anything: its `do` (the
 * end of a while/until condition, the start of the body) and its `done`. Keywords count only
 * where a command starts, as grub's lexer sees them. */
static int find_loop_end(struct interp *I, const char *kw, const char *end,
			 const struct word **ret_do, const struct word **ret_done,
			 struct command *scratch, struct word *ret_words)
{
	struct lexer lx = { .p = kw, .end = end, .raw = true, .budget = &I->w->lexed_left };
	unsigned depth = 0;
	bool have_do = false;
	int r;

	while ((r = next_command(&lx, scratch)) > 0) {
		for (size_t i = 0; i < scratch->n; i++) {
			const struct word *wd = &scratch->w[i];
			const char *prev = i > 0 && !scratch->w[i - 1].brace ? scratch->w[i - 1].s : "";

			if (++I->w->steps > MAX_STEPS)
				return -E2BIG;
			if (wd->brace || (i > 0 && strcmp(prev, "then") && strcmp(prev, "else") &&
					  strcmp(prev, "do")))
				continue;
			if (!strcmp(wd->s, "for") || !strcmp(wd->s, "while") ||
			    !strcmp(wd->s, "until")) {
				depth++;
			} else if (!strcmp(wd->s, "do") && depth == 1 && !have_do) {
				ret_words[0] = (struct word){ .start = wd->start, .end = wd->end };
				have_do = true;
			} else if (!strcmp(wd->s, "done") && depth > 0 && --depth == 0) {
				if (!have_do)
					return -EBADMSG;
				ret_words[1] = (struct word){ .start = wd->start, .end = wd->end };
				*ret_do = &ret_words[0];
				*ret_done = &ret_words[1];
				return 0;
			}
		}
	}
	return r < 0 ? r : -EBADMSG; /* no done: grub cannot parse the loop */
}

/* A while/until condition: its commands as an if's, the last one's status counting. */
static int loop_condition(struct interp *I, const char *p, size_t len, unsigned call_depth,
			  bool *ret)
{
	size_t depth = I->g.if_depth;
	int r;

	*ret = false;
	if (depth >= MAX_IF_DEPTH)
		return 0;
	I->g.ifs[depth] = (struct if_frame){ .outer_active = true, .in_cond = true };
	I->g.if_depth++;
	r = run_text(I, p, len, call_depth);
	*ret = I->g.ifs[depth].cond;
	I->g.if_depth = depth;
	return r;
}

/* One pass of a loop's body; false when the loop ends here (break, return, configfile). */
static bool loop_goes_on(struct interp *I)
{
	if (I->breaks == 1 && I->continuing) {
		I->breaks = 0;
		I->continuing = false;
	}
	return !I->breaks && !I->returning && !I->stop;
}

/* for NAME in WORDS; do ...; done and while/until COND; do ...; done, run as grub's
 * script/execute.c runs them: the words are expanded once, the condition before each pass,
 * break/continue [N] leave N loops. Every command run counts against MAX_STEPS, so `while true`
 * ends with -E2BIG, not never. The lexer goes on after `done`. */
static int run_loop(struct interp *I, struct lexer *lx, const struct command *cmd, size_t shift,
		    unsigned call_depth)
{
	const struct word *kw = &cmd->w[shift], *dw, *donew;
	struct word marks[2] = {};
	struct command *scratch = calloc(1, sizeof(*scratch));
	char **words = NULL;
	size_t n_words = 0, if_depth = I->g.if_depth;
	const char *body;
	size_t blen;
	int r;

	if (!scratch)
		return -ENOMEM;
	r = find_loop_end(I, kw->start, lx->end, &dw, &donew, scratch, marks);
	command_clear(scratch);
	free(scratch);
	if (r < 0)
		return r;
	lx->p = donew->end;
	body = dw->end;
	blen = (size_t)(donew->start - dw->end);
	if (!strcmp(kw->s, "for")) {
		if (cmd->n < shift + 3 || strcmp(cmd->w[shift + 2].s, "in") ||
		    !valid_var_name(cmd->w[shift + 1].s, strlen(cmd->w[shift + 1].s)))
			return -EBADMSG;
		n_words = cmd->n - shift - 3;
		words = calloc(n_words + 1, sizeof(*words));
		if (!words)
			return -ENOMEM;
		for (size_t i = 0; i < n_words; i++)
			if (!(words[i] = strdup(cmd->w[shift + 3 + i].s)))
				r = -ENOMEM;
	}
	I->loops++;
	if (words) {
		const char *name = cmd->w[shift + 1].s;

		for (size_t i = 0; i < n_words && r == 0; i++) {
			if (!loop_goes_on(I))
				break;
			r = vd_boot_vars_set(&I->g.vars, name, words[i]);
			if (r == 0)
				r = run_text(I, body, blen, call_depth);
			I->g.if_depth = if_depth;
		}
	} else {
		bool until = kw->s[0] == 'u', cond;

		while (r == 0) {
			if (++I->w->steps > MAX_STEPS) {
				r = -E2BIG;
				break;
			}
			r = loop_condition(I, kw->end, (size_t)(dw->start - kw->end), call_depth,
					   &cond);
			if (r < 0 || I->returning || I->stop || cond == until)
				break;
			r = run_text(I, body, blen, call_depth);
			I->g.if_depth = if_depth;
			if (r < 0 || !loop_goes_on(I))
				break;
		}
	}
	if (I->breaks && --I->breaks == 0)
		I->continuing = false;
	I->loops--;
	for (size_t i = 0; i < n_words; i++)
		free(words[i]);
	free(words);
	return r;
}

/* The end of a body kept for later: an entry's, a submenu's or a function's. */
static int end_record(struct interp *I, const char *end)
{
	size_t blen = (size_t)(end - I->record_start);
	struct ctx *c = &I->stack[I->depth];
	int r = 0;

	if (I->record_fn) {
		r = define_function(I->w, I->record_fn, I->record_start, blen);
		free(I->record_fn);
		I->record_fn = NULL;
	} else if (I->record_sub) {
		struct submenu *grown;

		if (I->n_subs >= MAX_SUBMENUS)
			return -E2BIG;
		grown = realloc(I->subs, (I->n_subs + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		I->subs = grown;
		grown[I->n_subs] = (struct submenu){
			.title_path = c->title_path,
			.id_path = c->id_path,
			.index_path = c->index_path,
			.body = { I->record_start, blen, I->cur_ctx, c->argv, c->argc },
		};
		c->title_path = c->id_path = c->index_path = NULL;
		c->argv = NULL;
		c->argc = 0;
		I->n_subs++;
		I->record_sub = false;
	} else {
		struct body *grown;

		r = vd_boot_menu_add(&I->menu, &c->entry);
		grown = r < 0 ? NULL : realloc(I->bodies, I->menu.n * sizeof(*grown));
		if (r == 0 && !grown)
			r = -ENOMEM;
		if (r == 0) {
			I->bodies = grown;
			I->bodies[I->menu.n - 1] = (struct body){ I->record_start, blen, I->cur_ctx,
								  c->argv, c->argc, c->own_id };
			I->n_bodies = I->menu.n;
			c->own_id = NULL;
			c->argv = NULL;
			c->argc = 0;
		}
	}
	I->record_start = NULL;
	return r;
}

/* menuentry/submenu TITLE ... {: the title and id paths, and the body kept. */
static int open_block(struct interp *I, const struct command *cmd, const char *w0,
		      const char *body_start)
{
	struct ctx *c = &I->stack[I->depth], *child;
	const char *title, *id;
	char index[32];

	if (I->depth + 1 >= MAX_DEPTH)
		return -E2BIG;
	block_title_id(cmd, &title, &id);
	if (!title)
		return -EBADMSG;
	child = &I->stack[++I->depth];
	memset(child, 0, sizeof(*child));
	child->kind = CTX_ENTRY; /* not run now: an entry's body at boot, a submenu's when entered */
	snprintf(index, sizeof(index), "%zu", c->children++);
	child->index_path = join_path(c->index_path, index);
	child->title_path = join_path(c->title_path, title);
	child->id_path = (c->kind == CTX_TOP || c->id_path) && id ? join_path(c->id_path, id)
								  : NULL;
	if (!child->index_path || !child->title_path ||
	    (id && (c->kind == CTX_TOP || c->id_path) && !child->id_path))
		return -ENOMEM;
	if (block_args(cmd, &child->argv, &child->argc) < 0 || (id && !(child->own_id = strdup(id))))
		return -ENOMEM;
	if (!strcmp(w0, "menuentry")) {
		child->entry.index_path = strdup(child->index_path);
		child->entry.title = strdup(child->title_path);
		child->entry.id = child->id_path ? strdup(child->id_path) : NULL;
		if (!child->entry.index_path || !child->entry.title ||
		    (child->id_path && !child->entry.id))
			return -ENOMEM;
	}
	I->record_sub = strcmp(w0, "menuentry") != 0;
	I->record_start = body_start;
	I->record_depth = I->depth;
	return 0;
}

static int push_skip(struct interp *I)
{
	if (++I->depth >= MAX_DEPTH)
		return -E2BIG;
	memset(&I->stack[I->depth], 0, sizeof(I->stack[I->depth]));
	I->stack[I->depth].kind = CTX_SKIP;
	return 0;
}

/* break/continue [N]: leave N of the loops running (grub_script_break). */
static void do_break(struct interp *I, const struct command *cmd, size_t shift)
{
	unsigned long n = 1;

	if (shift + 1 < cmd->n) {
		char *end;

		n = strtoul(cmd->w[shift + 1].s, &end, 10);
		if (*end || n == 0)
			n = 1;
	}
	I->breaks = n < I->loops ? (unsigned)n : I->loops;
	I->continuing = cmd->w[shift].s[0] == 'c';
}

/* Runs text (grub.cfg, a function's, an entry's or a submenu's body, a loop's body or
 * condition) against the interpreter's state: the commands grub would run, in the branches it
 * would take. Menu entries and submenus are collected with their bodies, which run once the
 * whole script has (grub runs an entry's commands when it boots it, a submenu's when it enters
 * it). */
static int run_text(struct interp *I, const char *text, size_t len, unsigned call_depth)
{
	struct command cmd = {};
	struct lexer lx = {
		.p = text, .end = text + len, .vars = &I->g.vars, .budget = &I->w->lexed_left
	};
	size_t base = I->depth;
	int r = 0;

	while (!I->returning && !I->stop && !I->breaks && (r = next_command(&lx, &cmd)) > 0) {
		struct ctx *c = &I->stack[I->depth];
		const char *w0 = cmd.w[0].s;
		bool opens = cmd.w[cmd.n - 1].brace && !strcmp(cmd.w[cmd.n - 1].s, "{");
		size_t shift;

		if (++I->w->steps > MAX_STEPS) {
			r = -E2BIG;
			break;
		}
		if (cmd.w[0].brace && !strcmp(w0, "}")) {
			if (I->depth <= base) {
				r = -EBADMSG;
				break;
			}
			if (I->record_start && I->depth == I->record_depth) {
				r = end_record(I, lx.p - 1);
				if (r < 0)
					break;
			}
			ctx_dispose(&I->stack[I->depth]);
			I->depth--;
			continue;
		}
		if (c->kind == CTX_SKIP || c->kind == CTX_ENTRY) {
			/* not running: a body kept for later or a block grub does not run */
			if (opens && (r = push_skip(I)) < 0)
				break;
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
			if ((r = push_skip(I)) < 0)
				break;
			I->record_depth = I->depth;
			continue;
		}
		if (opens && (!running(&I->g) || shift > 0 || I->entry || I->record_start ||
			      (strcmp(w0, "menuentry") && strcmp(w0, "submenu")))) {
			/* entries in branches grub does not take, blocks inside an entry: not ours */
			if ((r = push_skip(I)) < 0)
				break;
			continue;
		}
		if (opens) {
			r = open_block(I, &cmd, w0, lx.p);
			if (r < 0)
				break;
			continue;
		}
		if (!running(&I->g))
			continue;
		if (!cmd.w[shift].brace &&
		    (!strcmp(w0, "for") || !strcmp(w0, "while") || !strcmp(w0, "until"))) {
			r = run_loop(I, &lx, &cmd, shift, call_depth);
			if (r < 0)
				break;
			continue;
		}
		if ((!strcmp(w0, "source") || !strcmp(w0, ".")) && shift + 1 < cmd.n) {
			r = source_file(I, cmd.w[shift + 1].s, call_depth);
			if (r < 0)
				break;
			continue;
		}
		if (!strcmp(w0, "configfile") && shift + 1 < cmd.n) {
			if (c->kind != CTX_TOP || I->entry) {
				/* a menu inside a submenu or an entry: one level vdloader does not
				 * follow */
				vd_debug("grub.cfg: configfile %s inside %s is not followed",
					 cmd.w[shift + 1].s, I->entry ? "an entry" : "a submenu");
				continue;
			}
			r = configfile(I, cmd.w[shift + 1].s, call_depth);
			if (r < 0)
				break;
			continue;
		}
		if (!strcmp(w0, "return") && call_depth > 0) {
			I->returning = true;
			break;
		}
		if (!strcmp(w0, "break") || !strcmp(w0, "continue")) {
			do_break(I, &cmd, shift);
			continue;
		}
		{
			const struct function *f = find_function(I->w, w0);
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
		if (!strcmp(w0, "search") || !strncmp(w0, "search.", 7)) {
			r = do_search(&I->g, &cmd, shift);
			if (r < 0)
				break;
			r = 0;
			continue;
		}
		if (I->entry) {
			struct ctx ec = { .kind = CTX_ENTRY };
			struct command sub = { .n = 0 };

			/* view the command without its then/else keyword */
			for (size_t i = shift; i < cmd.n; i++)
				sub.w[sub.n++] = cmd.w[i];
			ec.entry = *I->entry;
			r = entry_command(&ec, &sub, vd_boot_vars_get(&I->g.vars, "root"));
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

/* The submenus, as grub runs one when its menu is entered: in a new context made of the
 * exported variables of the one it was defined in, as that one ended. Their own submenus join
 * the queue. */
static int run_submenus(struct interp *I)
{
	int r = 0;

	for (size_t k = 0; k < I->n_subs && r == 0; k++) {
		struct submenu sm = I->subs[k]; /* I->subs grows as this runs */
		struct ctx *top = &I->stack[0];
		size_t ctx;

		r = add_context(I, &ctx);
		if (r == 0)
			r = new_context(I->w, &I->ctxs[sm.body.ctx].vars,
					&I->ctxs[sm.body.ctx].exports, &I->g);
		if (r < 0)
			break;
		ctx_dispose(top);
		top->kind = CTX_SUBMENU;
		top->title_path = strdup(sm.title_path);
		top->index_path = strdup(sm.index_path);
		top->id_path = sm.id_path ? strdup(sm.id_path) : NULL;
		if (!top->title_path || !top->index_path || (sm.id_path && !top->id_path)) {
			r = -ENOMEM;
			break;
		}
		I->depth = 0;
		I->g.if_depth = 0;
		I->cur_ctx = ctx;
		/* grub sets `default` to the rest of the menu's default path before the body runs,
		 * which may set its own; the path is matched at the end (submenu_default) */
		r = set_positional(&I->g, sm.body.argv, sm.body.argc);
		if (r == 0)
			r = vd_boot_vars_set(&I->g.vars, "default", "");
		if (r == 0)
			r = run_text(I, sm.body.p, sm.body.len, 0);
		I->returning = false;
		I->breaks = 0;
		if (r == 0)
			r = snapshot(I, ctx);
		if (r == 0 && *vd_boot_vars_get(&I->g.vars, "default") &&
		    !(I->subs[k].own_default = strdup(vd_boot_vars_get(&I->g.vars, "default"))))
			r = -ENOMEM;
	}
	ctx_dispose(&I->stack[0]);
	return r;
}

/* Each entry's body, as grub runs it when it boots that entry: after the whole script, from the
 * variables its context was left with, and without what other entries' bodies set. */
static int run_entry_bodies(struct interp *I)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < I->menu.n; i++) {
		const struct context *cx = &I->ctxs[I->bodies[i].ctx];

		r = count_copy(I->w, &cx->vars);
		if (r == 0)
			r = copy_vars(&cx->vars, &I->g.vars);
		if (r == 0)
			r = set_positional(&I->g, I->bodies[i].argv, I->bodies[i].argc);
		if (r < 0)
			break;
		I->g.if_depth = 0;
		I->entry = &I->menu.entries[i];
		r = run_text(I, I->bodies[i].p, I->bodies[i].len, 0);
		I->entry = NULL;
		I->returning = false;
		I->breaks = 0;
		if (r == 0 && !I->menu.entries[i].args && !(I->menu.entries[i].args = strdup("")))
			r = -ENOMEM;
	}
	return r;
}

/* "1>10" after "1>2": index paths in grub's menu order. */
static int index_path_cmp(const void *a, const void *b)
{
	const char *x = ((const struct vd_boot_entry *)a)->index_path;
	const char *y = ((const struct vd_boot_entry *)b)->index_path;

	for (;;) {
		char *xe, *ye;
		unsigned long u = strtoul(x, &xe, 10), v = strtoul(y, &ye, 10);

		if (u != v)
			return u < v ? -1 : 1;
		if (*xe != '>' || *ye != '>')
			return (*xe == '>') - (*ye == '>');
		x = xe + 1;
		y = ye + 1;
	}
}

static bool component_is(const char *path, const char *spec, size_t n)
{
	const char *last = path ? strrchr(path, '>') : NULL;

	last = last ? last + 1 : path;
	return last && strlen(last) == n && !strncmp(last, spec, n);
}

/* A menu default that names a top-level submenu whose body sets `default` of its own: grub
 * enters the submenu with the rest of the path as its default, and the body's `set default`
 * replaces that (menu.c grub_menu_execute_entry runs the body after setting it). The entry it
 * names in the submenu (index, title or id) becomes the default's index path. */
static int submenu_default(struct interp *I)
{
	const char *spec = I->menu.default_spec, *gt;
	size_t n;

	if (!spec)
		return 0;
	gt = strchr(spec, '>');
	n = gt ? (size_t)(gt - spec) : strlen(spec);
	for (size_t k = 0; k < I->n_subs; k++) {
		const struct submenu *sm = &I->subs[k];
		const char *want = sm->own_default;
		size_t pl = strlen(sm->index_path);

		if (!want || strchr(sm->index_path, '>') ||
		    !(component_is(sm->index_path, spec, n) || component_is(sm->title_path, spec, n) ||
		      (sm->id_path && component_is(sm->id_path, spec, n))))
			continue;
		for (size_t i = 0; i < I->menu.n; i++) {
			const struct vd_boot_entry *e = &I->menu.entries[i];
			char *d;

			if (strncmp(e->index_path, sm->index_path, pl) || e->index_path[pl] != '>' ||
			    strchr(e->index_path + pl + 1, '>'))
				continue;
			if (!component_is(e->index_path, want, strlen(want)) &&
			    !component_is(e->title, want, strlen(want)) &&
			    !(I->bodies[i].own_id && !strcmp(I->bodies[i].own_id, want)))
				continue;
			vd_debug("grub.cfg: submenu '%s' sets its default to '%s'", sm->title_path,
				 want);
			if (!(d = strdup(e->index_path)))
				return -ENOMEM;
			free(I->menu.default_spec);
			I->menu.default_spec = d;
			return 0;
		}
		return 0;
	}
	return 0;
}

/* The menu grub shows: the script's context (or the configfile that replaced it) once it ran,
 * its submenus entered, its entries' bodies run, entries in menu order. */
static int finish(struct interp *I)
{
	int r = snapshot(I, 0);

	if (r == 0)
		r = run_submenus(I);
	if (r == 0)
		r = run_entry_bodies(I);
	if (r == 0)
		r = submenu_default(I);
	if (r == 0 && I->menu.n > 1)
		qsort(I->menu.entries, I->menu.n, sizeof(*I->menu.entries), index_path_cmp);
	return r;
}

int vd_boot_grub_parse_full(const char *text, size_t len, const struct vd_boot_vars *env,
			    const struct vd_boot_grub_host *host, struct vd_boot_menu *ret,
			    struct vd_boot_vars *ret_bls_vars, bool *ret_blscfg)
{
	struct world *w;
	struct interp *I, *W;
	int r;

	if (memchr(text, '\0', len))
		return -EILSEQ;
	w = calloc(1, sizeof(*w));
	if (w)
		w->lexed_left = MAX_LEXED;
	I = w ? interp_new(w, env, host) : NULL;
	if (!I) {
		free(w);
		return -ENOMEM;
	}
	r = grub_builtin_vars(&I->g);
	if (r == 0)
		r = run_text(I, text, len, 0);
	for (W = I; W->replaced; W = W->replaced)
		;
	if (r == 0)
		r = finish(W);
	if (r < 0)
		goto out;
	if (W->menu.default_spec && !*W->menu.default_spec) {
		free(W->menu.default_spec);
		W->menu.default_spec = NULL;
	}
	{
		const char *next = env ? vd_boot_vars_get(env, "next_entry") : NULL;

		/* grub-reboot's one-time choice: grub.cfg makes it the default and clears it with
		 * save_env; vdloader never writes the guest's disk, so it holds until the guest
		 * boots grub or clears it */
		if (next && *next && W->menu.default_spec && !strcmp(W->menu.default_spec, next))
			vd_warn("grubenv's next_entry (grub-reboot) chooses '%s'; vdloader cannot clear "
				"it in the guest, so it applies at every boot until the guest runs "
				"'grub-editenv - unset next_entry'", next);
	}
	*ret = W->menu;
	memset(&W->menu, 0, sizeof(W->menu));
	if (ret_bls_vars) {
		*ret_bls_vars = W->bls_vars;
		memset(&W->bls_vars, 0, sizeof(W->bls_vars));
	}
	if (ret_blscfg)
		*ret_blscfg = W->blscfg;
out:
	interp_free(I);
	for (size_t i = 0; i < w->n_fns; i++)
		free(w->fns[i].name);
	for (size_t i = 0; i < w->n_texts; i++)
		free(w->texts[i]);
	free(w);
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
