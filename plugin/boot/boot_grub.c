/* grub2 grub.cfg and grubenv. grub.cfg is a shell-like script; we do not run it: we tokenise it
 * as grub does (quotes, escapes, $var expansion, ';' and newlines), treat if/else as
 * transparent, and collect menuentry/submenu blocks and the last `set default=`. */
#include <ctype.h>
#include <string.h>

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
	} else {
		while (lx->p < lx->end && is_name_char(*lx->p) && n < sizeof(name) - 1)
			name[n++] = *lx->p++;
		if (n == 0)
			return vd_boot_strbuf_append(buf, len, "$", 1);
	}
	name[n] = '\0';
	value = vd_boot_vars_get(lx->vars, name);
	return value ? vd_boot_strbuf_append(buf, len, value, strlen(value)) : 0;
}

/* 1: a command in cmd; 0: end of text; < 0: error. */
static int next_command(struct lexer *lx, struct command *cmd)
{
	int r;

	command_clear(cmd);
	for (;;) {
		char *buf = NULL;
		size_t len = 0;
		bool have_word = false;

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

			have_word = true;
			r = 0;
			if (c == '\\') {
				if (lx->p < lx->end) {
					if (*lx->p != '\n')
						r = vd_boot_strbuf_append(&buf, &len, lx->p, 1);
					lx->p++;
				}
			} else if (c == '\'') {
				const char *close = memchr(lx->p, '\'', (size_t)(lx->end - lx->p));

				if (!close)
					r = -EBADMSG;
				else {
					r = vd_boot_strbuf_append(&buf, &len, lx->p,
								  (size_t)(close - lx->p));
					lx->p = close + 1;
				}
			} else if (c == '"') {
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
				r = expand(lx, &buf, &len);
			} else {
				r = vd_boot_strbuf_append(&buf, &len, &c, 1);
			}
			if (r < 0) {
				free(buf);
				return r;
			}
		}
		if (have_word) {
			if (!buf && !(buf = strdup(""))) /* "" is a word too */
				return -ENOMEM;
			cmd->w[cmd->n].s = buf;
			cmd->w[cmd->n].len = len;
			cmd->w[cmd->n].brace = false;
			cmd->n++;
		}
	}
}

enum ctx_kind { CTX_TOP, CTX_SUBMENU, CTX_ENTRY, CTX_SKIP };

/* We do not evaluate conditions. To pick the branch grub would take in the usual generated
 * configs, a variable given a non-empty value in an if's first branch keeps it through the
 * else branch: `if [ x"${feature_menuentry_id}" = xy ]; then menuentry_id_option="--id"; else
 * menuentry_id_option=""; fi` keeps "--id", while `if [ "${next_entry}" ]; then
 * set default="${next_entry}"; else set default="${saved_entry}"; fi` takes saved_entry. */
#define MAX_IF_DEPTH 16
#define MAX_IF_NAMES 8
struct if_frame {
	bool in_else;
	char names[MAX_IF_NAMES][64];
	size_t n;
};

static bool if_blocks(struct if_frame *fr, const char *assign)
{
	const char *eq = strchr(assign, '=');
	size_t klen = eq ? (size_t)(eq - assign) : 0;

	if (!fr || !eq || klen >= sizeof(fr->names[0]))
		return false;
	for (size_t i = 0; i < fr->n; i++)
		if (strlen(fr->names[i]) == klen && !strncmp(fr->names[i], assign, klen))
			return fr->in_else;
	if (!fr->in_else && eq[1] && fr->n < MAX_IF_NAMES) {
		memcpy(fr->names[fr->n], assign, klen);
		fr->names[fr->n++][klen] = '\0';
	}
	return false;
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

int vd_boot_grub_parse(const char *text, size_t len, const struct vd_boot_vars *env,
		       struct vd_boot_menu *ret)
{
	struct vd_boot_vars vars = {};
	struct vd_boot_menu menu = {};
	struct ctx stack[MAX_DEPTH] = {};
	struct command cmd = {};
	struct if_frame ifs[MAX_IF_DEPTH];
	size_t if_depth = 0;
	struct lexer lx = { .p = text, .end = text + len, .vars = &vars };
	size_t depth = 0;
	int r;

	if (memchr(text, '\0', len))
		return -EILSEQ;
	for (size_t i = 0; env && i < env->n; i++) {
		/* next_entry is a one-shot choice grub clears; we cannot, so we do not honour it. */
		if (!strcmp(env->keys[i], "next_entry"))
			continue;
		r = vd_boot_vars_set(&vars, env->keys[i], env->values[i]);
		if (r < 0)
			goto out;
	}
	stack[0].kind = CTX_TOP;

	while ((r = next_command(&lx, &cmd)) > 0) {
		struct ctx *c = &stack[depth];
		const char *w0 = cmd.w[0].s;
		bool opens = cmd.w[cmd.n - 1].brace && !strcmp(cmd.w[cmd.n - 1].s, "{");
		size_t shift = 0;

		if (cmd.w[0].brace && !strcmp(w0, "}")) {
			if (depth == 0) {
				r = -EBADMSG;
				goto out;
			}
			if (c->kind == CTX_ENTRY) {
				r = vd_boot_menu_add(&menu, &c->entry);
				if (r < 0)
					goto out;
			}
			ctx_dispose(c);
			depth--;
			continue;
		}
		if (c->kind == CTX_SKIP) {
			if (opens) {
				if (++depth >= MAX_DEPTH) {
					r = -E2BIG;
					goto out;
				}
				stack[depth].kind = CTX_SKIP;
			}
			continue;
		}
		if (!cmd.w[0].brace && (!strcmp(w0, "then") || !strcmp(w0, "else") ||
					!strcmp(w0, "do")))
			shift = 1;
		if (!strcmp(w0, "else") && if_depth > 0 && if_depth <= MAX_IF_DEPTH)
			ifs[if_depth - 1].in_else = true;
		if (shift >= cmd.n)
			continue;
		w0 = cmd.w[shift].s;
		if (!strcmp(w0, "if")) {
			if (if_depth < MAX_IF_DEPTH)
				memset(&ifs[if_depth], 0, sizeof(ifs[0]));
			if_depth++;
			continue;
		}
		if (!strcmp(w0, "elif")) {
			if (if_depth > 0 && if_depth <= MAX_IF_DEPTH)
				ifs[if_depth - 1].in_else = true;
			continue;
		}
		if (!strcmp(w0, "fi")) {
			if (if_depth > 0)
				if_depth--;
			continue;
		}
		if (!strcmp(w0, "while") || !strcmp(w0, "until") || !strcmp(w0, "done"))
			continue;

		if ((!strcmp(w0, "menuentry") || !strcmp(w0, "submenu")) && shift == 0) {
			struct ctx *child;
			const char *title, *id;
			char index[32];

			if (!opens || c->kind == CTX_ENTRY) {
				r = -EBADMSG;
				goto out;
			}
			if (depth + 1 >= MAX_DEPTH) {
				r = -E2BIG;
				goto out;
			}
			block_title_id(&cmd, &title, &id);
			if (!title) {
				r = -EBADMSG;
				goto out;
			}
			child = &stack[++depth];
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
				goto out;
			}
			if (child->kind == CTX_ENTRY) {
				child->entry.index_path = strdup(child->index_path);
				child->entry.title = strdup(child->title_path);
				child->entry.id = child->id_path ? strdup(child->id_path) : NULL;
				if (!child->entry.index_path || !child->entry.title ||
				    (child->id_path && !child->entry.id)) {
					r = -ENOMEM;
					goto out;
				}
			}
			continue;
		}
		if (opens) {
			/* function bodies and anything else in braces: not ours to run */
			if (++depth >= MAX_DEPTH) {
				r = -E2BIG;
				goto out;
			}
			memset(&stack[depth], 0, sizeof(stack[depth]));
			stack[depth].kind = CTX_SKIP;
			continue;
		}
		if (c->kind == CTX_ENTRY) {
			struct command sub = { .n = 0 };

			/* view the command without its then/else keyword */
			for (size_t i = shift; i < cmd.n; i++)
				sub.w[sub.n++] = cmd.w[i];
			r = entry_command(c, &sub);
			if (r < 0)
				goto out;
			continue;
		}
		if (c->kind == CTX_TOP || c->kind == CTX_SUBMENU) {
			char *ignored = NULL; /* a submenu's own default is not the menu's */
			char **dflt = c->kind == CTX_TOP ? &menu.default_spec : &ignored;

			struct if_frame *fr = if_depth > 0 && if_depth <= MAX_IF_DEPTH
						      ? &ifs[if_depth - 1]
						      : NULL;

			if (!strcmp(w0, "set") && shift + 1 < cmd.n) {
				if (!if_blocks(fr, cmd.w[shift + 1].s))
					r = do_set(&vars, dflt, cmd.w[shift + 1].s);
			} else if (strchr(w0, '=') && shift + 1 == cmd.n) {
				if (!if_blocks(fr, w0))
					r = do_set(&vars, dflt, w0);
			}
			free(ignored);
			if (r < 0)
				goto out;
		}
	}
	if (r < 0)
		goto out;
	if (depth != 0) {
		r = -EBADMSG;
		goto out;
	}
	if (menu.default_spec && !*menu.default_spec) {
		free(menu.default_spec);
		menu.default_spec = NULL;
	}
	*ret = menu;
	memset(&menu, 0, sizeof(menu));
	r = 0;
out:
	command_clear(&cmd);
	for (size_t i = 0; i <= depth && i < MAX_DEPTH; i++)
		ctx_dispose(&stack[i]);
	vd_boot_menu_dispose(&menu);
	vd_boot_vars_dispose(&vars);
	return r;
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
