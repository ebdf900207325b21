// libconfig loader validated against the installed schema (config_set_schema).
// Errors are user-facing: one line naming file:line and the key (or the --set argument).
#include "config/config.h"

#include <libconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "config/config_ints.h"
#include "config/config_source.h"

struct config {
  config_t lc;
  char *path;
  config_source src;      // the file and its @includes as libconfig read them (line map)
  int n_overrides;
  char **override_keys;   // keys given with --set, so errors can name the argument
  char **override_args;
  void **owned;           // the arrays config_fill made (string_list, string_map members)
  int n_owned;
};

// ---- schema ------------------------------------------------------------------------

static cfg_key *schema_all;   // the installed tables, flattened
static int schema_count;

void config_set_schema(const cfg_key *const *tables, int n_tables) {
  free(schema_all);
  int total = 0;
  for (int t = 0; t < n_tables; t++)
    for (const cfg_key *k = tables[t]; k->path; k++) total++;
  schema_all = xcalloc((size_t)total + 1, sizeof *schema_all);
  schema_count = 0;
  for (int t = 0; t < n_tables; t++)
    for (const cfg_key *k = tables[t]; k->path; k++) schema_all[schema_count++] = *k;
}

const cfg_key *config_schema(int *n) {
  if (!schema_all) error("config: no schema installed (call config_set_schema first)");
  *n = schema_count;
  return schema_all;
}

static const cfg_key *schema_find(const char *path) {
  int n;
  const cfg_key *s = config_schema(&n);
  for (int i = 0; i < n; i++)
    if (strcmp(s[i].path, path) == 0) return &s[i];
  return NULL;
}

// Is `path` a group that holds schema keys (a section or sub-section)?
static int schema_is_group(const char *path) {
  int n;
  const cfg_key *s = config_schema(&n);
  size_t len = strlen(path);
  for (int i = 0; i < n; i++)
    if (strncmp(s[i].path, path, len) == 0 && s[i].path[len] == '.') return 1;
  return 0;
}

static const char *type_name(cfg_type t) {
  switch (t) {
    case CFG_INT: return "an integer";
    case CFG_FLOAT: return "a number";
    case CFG_BOOL: return "a boolean (true/false)";
    case CFG_STRING: case CFG_CHOICE: return "a string";
    case CFG_STRING_LIST: return "a list of strings";
    case CFG_STRING_MAP: return "a group of strings";
  }
  return "?";
}

// Index of `v` in "a|b|c", or -1.
static int choice_index(const char *choices, const char *v) {
  size_t lv = strlen(v);
  int i = 0;
  for (const char *p = choices; *p; i++) {
    size_t len = strcspn(p, "|");
    if (len == lv && !strncmp(p, v, len)) return i;
    p += len + (p[len] == '|');
  }
  return -1;
}

// ---- setting paths and copying ----------------------------------------------------------

static void setting_path(const config_setting_t *s, char *buf, size_t n) {
  const char *names[32];
  int depth = 0;
  for (const config_setting_t *p = s; p && config_setting_parent(p) && depth < 32;
       p = config_setting_parent(p))
    names[depth++] = config_setting_name(p) ? config_setting_name(p) : "?";
  buf[0] = 0;
  for (int i = depth - 1; i >= 0; i--) {
    strncat(buf, names[i], n - strlen(buf) - 1);
    if (i) strncat(buf, ".", n - strlen(buf) - 1);
  }
}

static void copy_value(config_setting_t *dst, const config_setting_t *src);

static config_setting_t *add_child(config_setting_t *parent, const char *name, int type) {
  config_setting_t *s = config_setting_add(parent, name, type);
  if (!s) error("libconfig refused to add setting '%s'", name ? name : "(element)");
  return s;
}

static void copy_value(config_setting_t *dst, const config_setting_t *src) {
  int ok = CONFIG_TRUE;
  switch (config_setting_type(src)) {
    case CONFIG_TYPE_INT: ok = config_setting_set_int(dst, config_setting_get_int(src)); break;
    case CONFIG_TYPE_INT64: ok = config_setting_set_int64(dst, config_setting_get_int64(src)); break;
    case CONFIG_TYPE_FLOAT: ok = config_setting_set_float(dst, config_setting_get_float(src)); break;
    case CONFIG_TYPE_BOOL: ok = config_setting_set_bool(dst, config_setting_get_bool(src)); break;
    case CONFIG_TYPE_STRING: ok = config_setting_set_string(dst, config_setting_get_string(src)); break;
    case CONFIG_TYPE_GROUP: case CONFIG_TYPE_ARRAY: case CONFIG_TYPE_LIST: {
      int n = config_setting_length(src);
      for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(src, (unsigned)i);
        config_setting_t *d = add_child(dst, config_setting_name(e), config_setting_type(e));
        copy_value(d, e);
      }
      break;
    }
    default: break;
  }
  if (ok != CONFIG_TRUE) error("libconfig could not copy a setting value");
}

// Parse `literal` as a libconfig value. Returns a new config_t holding `v = literal;`, or
// NULL if it does not parse.
static config_t *parse_literal(const char *literal) {
  config_t *t = xmalloc(sizeof *t);
  config_init(t);
  char *text = xmalloc(strlen(literal) + 16);
  sprintf(text, "v = %s;", literal);
  int ok = config_read_string(t, text);
  free(text);
  if (ok != CONFIG_TRUE) {
    config_destroy(t);
    free(t);
    return NULL;
  }
  return t;
}

// Set dotted `path` in `lc` to the value held in `val` (creating parent groups).
static void set_path(config_t *lc, const char *path, const config_setting_t *val) {
  char *p = xstrdup(path);
  config_setting_t *g = config_root_setting(lc);
  char *save = NULL;
  char *tok = strtok_r(p, ".", &save);
  while (tok) {
    char *next = strtok_r(NULL, ".", &save);
    config_setting_t *child = config_setting_get_member(g, tok);
    if (!next) {
      if (child && config_setting_remove(g, tok) != CONFIG_TRUE)
        error("libconfig could not replace '%s'", path);
      copy_value(add_child(g, tok, config_setting_type(val)), val);
    } else {
      if (child && !config_setting_is_group(child))
        fatal("config: '%s' is not a group, cannot set '%s'", tok, path);
      g = child ? child : add_child(g, tok, CONFIG_TYPE_GROUP);
    }
    tok = next;
  }
  free(p);
}

// ---- validation ---------------------------------------------------------------------

static const char *override_arg(const config *c, const char *key) {
  for (int i = c->n_overrides - 1; i >= 0; i--)
    if (strcmp(c->override_keys[i], key) == 0) return c->override_args[i];
  return NULL;
}

// "file:line" or "--set k=v" for messages about `s`.
static void where(const config *c, const config_setting_t *s, const char *key, char *buf, size_t n) {
  const char *arg = override_arg(c, key);
  if (arg) snprintf(buf, n, "--set %s", arg);
  else config_source_where(&c->src, (int)config_setting_source_line(s), buf, n);
}

static int is_string_array(const config_setting_t *s) {
  if (!config_setting_is_array(s) && !config_setting_is_list(s)) return 0;
  for (int i = 0; i < config_setting_length(s); i++)
    if (config_setting_type(config_setting_get_elem(s, (unsigned)i)) != CONFIG_TYPE_STRING) return 0;
  return 1;
}


// Normalises an int literal of a float key ("16") to a float setting, so accessors
// (config_setting_get_float reads an int setting as 0) and the canonical text agree.
static void int_to_float(config_setting_t *s, const char *key) {
  double v = (double)config_setting_get_int64(s);
  config_setting_t *parent = config_setting_parent(s);
  char *name = xstrdup(config_setting_name(s));
  if (config_setting_remove(parent, name) != CONFIG_TRUE) error("libconfig remove '%s'", key);
  if (config_setting_set_float(add_child(parent, name, CONFIG_TYPE_FLOAT), v) != CONFIG_TRUE)
    error("libconfig set '%s'", key);
  free(name);
}
static void validate_leaf(config *c, config_setting_t *s, const char *key, const cfg_key *k) {
  char at[1024];
  where(c, s, key, at, sizeof at);
  int t = config_setting_type(s);
  int ok = 0;
  switch (k->type) {
    case CFG_INT: ok = t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64; break;
    case CFG_FLOAT: ok = t == CONFIG_TYPE_FLOAT || t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64; break;
    case CFG_BOOL: ok = t == CONFIG_TYPE_BOOL; break;
    case CFG_STRING: case CFG_CHOICE: ok = t == CONFIG_TYPE_STRING; break;
    case CFG_STRING_LIST: ok = is_string_array(s); break;
    case CFG_STRING_MAP: {
      ok = config_setting_is_group(s);
      for (int i = 0; ok && i < config_setting_length(s); i++)
        ok = config_setting_type(config_setting_get_elem(s, (unsigned)i)) == CONFIG_TYPE_STRING;
      break;
    }
  }
  if (!ok) fatal("%s: key '%s' must be %s", at, key, type_name(k->type));
  if ((k->type == CFG_INT || k->type == CFG_FLOAT) && k->min <= k->max) {
    double v = t == CONFIG_TYPE_FLOAT ? config_setting_get_float(s) : (double)config_setting_get_int64(s);
    if (!(v >= k->min && v <= k->max))
      fatal("%s: key '%s' = %g is out of range [%g, %g]", at, key, v, k->min, k->max);
  }
  if (k->type == CFG_FLOAT && t != CONFIG_TYPE_FLOAT) int_to_float(s, key);
  if ((k->type == CFG_STRING || k->type == CFG_CHOICE) && k->choices) {
    const char *v = config_setting_get_string(s);
    if (choice_index(k->choices, v) < 0) fatal("%s: key '%s' = \"%s\" is not one of %s", at, key, v, k->choices);
  }
}

static void validate_group(config *c, config_setting_t *g) {
  // iterate over a snapshot of names: validate_leaf may replace a child (int -> float)
  int n = config_setting_length(g);
  char **names = xcalloc((size_t)n, sizeof *names);
  for (int i = 0; i < n; i++) names[i] = xstrdup(config_setting_name(config_setting_get_elem(g, (unsigned)i)));
  for (int i = 0; i < n; i++) {
    config_setting_t *s = config_setting_get_member(g, names[i]);
    char key[1024];
    setting_path(s, key, sizeof key);
    const cfg_key *k = schema_find(key);
    if (k) validate_leaf(c, s, key, k);
    else if (config_setting_is_group(s) && schema_is_group(key)) validate_group(c, s);
    else {
      char at[1024];
      where(c, s, key, at, sizeof at);
      fatal("%s: unknown key '%s'%s", at, key,
            schema_is_group(key) ? " (a section, not a value)" : " (see --help for the keys)");
    }
  }
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
}

static void apply_override(config *c, const char *arg) {
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg) fatal("--set %s: expected key=value", arg);
  char *key = strndup(arg, (size_t)(eq - arg));
  if (!key) error("out of memory");
  const char *val = eq + 1;
  const cfg_key *k = schema_find(key);
  if (!k) fatal("--set %s: unknown key '%s'%s", arg, key, schema_is_group(key) ? " (a section, not a value)" : "");
  config_t *t = NULL;
  if ((k->type == CFG_STRING || k->type == CFG_CHOICE) && val[0] != '"') {
    // plain strings need no quotes on the command line: --set run_dir=/scratch/x
    strbuf b;
    sb_init(&b);
    sb_puts(&b, "\"");
    for (const char *p = val; *p; p++) {
      if (*p == '"' || *p == '\\') sb_append(&b, "\\", 1);
      sb_append(&b, p, 1);
    }
    sb_puts(&b, "\"");
    t = parse_literal(b.data);
    sb_free(&b);
  } else if (k->type == CFG_STRING_LIST && val[0] != '[' && val[0] != '(') {
    strbuf b;  // comma separated: --set data.files=a.jsonl,b.jsonl
    sb_init(&b);
    sb_puts(&b, "[\"");
    for (const char *p = val; *p; p++) {
      if (*p == ',') sb_puts(&b, "\", \"");
      else {
        if (*p == '"' || *p == '\\') sb_append(&b, "\\", 1);
        sb_append(&b, p, 1);
      }
    }
    sb_puts(&b, "\"]");
    t = parse_literal(b.data);
    sb_free(&b);
  } else {
    char err[256];
    char *wide = config_widen_ints(val, err, sizeof err);   // 64-bit literals kept whole
    if (!wide) fatal("--set %s: %s", arg, strchr(err, ':') + 2);
    t = parse_literal(wide);
    free(wide);
  }
  if (!t) fatal("--set %s: cannot parse value '%s' as %s", arg, val, type_name(k->type));
  set_path(&c->lc, key, config_lookup(t, "v"));
  config_destroy(t);
  free(t);
  c->override_keys = xrealloc(c->override_keys, sizeof(char *) * (size_t)(c->n_overrides + 1));
  c->override_args = xrealloc(c->override_args, sizeof(char *) * (size_t)(c->n_overrides + 1));
  c->override_keys[c->n_overrides] = key;
  c->override_args[c->n_overrides] = xstrdup(arg);
  c->n_overrides++;
}

static void apply_defaults(config *c) {
  int n;
  const cfg_key *s = config_schema(&n);
  for (int i = 0; i < n; i++) {
    if (!s[i].def || config_lookup(&c->lc, s[i].path)) continue;
    config_t *t = parse_literal(s[i].def);
    if (!t) error("schema default of '%s' does not parse: %s", s[i].path, s[i].def);
    set_path(&c->lc, s[i].path, config_lookup(t, "v"));
    config_destroy(t);
    free(t);
    config_setting_t *v = config_lookup(&c->lc, s[i].path);
    if (s[i].type == CFG_FLOAT && v && config_setting_type(v) != CONFIG_TYPE_FLOAT) int_to_float(v, s[i].path);
  }
}

config *config_load(const char *path, const char *const *overrides, int n_overrides) {
  config *c = xcalloc(1, sizeof *c);
  c->path = xstrdup(path);
  config_init(&c->lc);
  config_source_read(&c->src, path);   // @include expanded here: libconfig sees one text
  if (config_read_string(&c->lc, c->src.text) != CONFIG_TRUE) {
    char at[1200];
    config_source_where(&c->src, config_error_line(&c->lc), at, sizeof at);
    fatal("%s: %s", at, config_error_text(&c->lc));
  }
  validate_group(c, config_root_setting(&c->lc));
  for (int i = 0; i < n_overrides; i++) apply_override(c, overrides[i]);
  // re-validate with overrides (types, ranges, choices) before defaults fill the rest
  validate_group(c, config_root_setting(&c->lc));
  apply_defaults(c);
  return c;
}

void config_free(config *c) {
  if (!c) return;
  config_destroy(&c->lc);
  config_source_free(&c->src);
  for (int i = 0; i < c->n_overrides; i++) {
    free(c->override_keys[i]);
    free(c->override_args[i]);
  }
  free(c->override_keys);
  free(c->override_args);
  for (int i = 0; i < c->n_owned; i++) free(c->owned[i]);
  free(c->owned);
  free(c->path);
  free(c);
}

const char *config_path(const config *c) { return c->path; }

// ---- accessors --------------------------------------------------------------------

static const config_setting_t *get(const config *c, const char *key, cfg_type want) {
  const cfg_key *k = schema_find(key);
  if (!k) error("config key '%s' is not in the schema (programming error)", key);
  if (k->type != want && !(k->type == CFG_CHOICE && want == CFG_STRING))
    error("config key '%s' is %s, read as %s", key, type_name(k->type), type_name(want));
  const config_setting_t *s = config_lookup(&c->lc, key);
  if (!s) fatal("%s: missing required key '%s' (%s)", c->path, key, k->help ? k->help : "no default");
  return s;
}

long cfg_int(const config *c, const char *key) { return (long)config_setting_get_int64(get(c, key, CFG_INT)); }
double cfg_float(const config *c, const char *key) { return config_setting_get_float(get(c, key, CFG_FLOAT)); }
int cfg_bool(const config *c, const char *key) { return config_setting_get_bool(get(c, key, CFG_BOOL)); }
const char *cfg_str(const config *c, const char *key) { return config_setting_get_string(get(c, key, CFG_STRING)); }
int cfg_list_len(const config *c, const char *key) { return config_setting_length(get(c, key, CFG_STRING_LIST)); }
const char *cfg_list_str(const config *c, const char *key, int i) {
  return config_setting_get_string_elem(get(c, key, CFG_STRING_LIST), i);
}
int cfg_map_len(const config *c, const char *key) { return config_setting_length(get(c, key, CFG_STRING_MAP)); }
const char *cfg_map_name(const config *c, const char *key, int i) {
  return config_setting_name(config_setting_get_elem(get(c, key, CFG_STRING_MAP), (unsigned)i));
}
const char *cfg_map_value(const config *c, const char *key, int i) {
  return config_setting_get_string(config_setting_get_elem(get(c, key, CFG_STRING_MAP), (unsigned)i));
}

int config_print_value(const config *c, const char *key, FILE *out) {
  const cfg_key *k = schema_find(key);
  if (!k) return -1;
  switch (k->type) {
    case CFG_INT: fprintf(out, "%ld\n", cfg_int(c, key)); break;
    case CFG_FLOAT: fprintf(out, "%.17g\n", cfg_float(c, key)); break;
    case CFG_BOOL: fprintf(out, "%s\n", cfg_bool(c, key) ? "true" : "false"); break;
    case CFG_STRING: case CFG_CHOICE: fprintf(out, "%s\n", cfg_str(c, key)); break;
    case CFG_STRING_LIST:
      for (int i = 0; i < cfg_list_len(c, key); i++) fprintf(out, "%s\n", cfg_list_str(c, key, i));
      break;
    case CFG_STRING_MAP:
      for (int i = 0; i < cfg_map_len(c, key); i++) fprintf(out, "%s\t%s\n", cfg_map_name(c, key, i), cfg_map_value(c, key, i));
      break;
  }
  return 0;
}

int string_list_has(const string_list *l, const char *s) {
  for (int i = 0; i < l->n; i++)
    if (!strcmp(l->v[i], s)) return 1;
  return 0;
}

const char *string_map_get(const string_map *m, const char *name) {
  for (int i = 0; i < m->n; i++)
    if (!strcmp(m->name[i], name)) return m->value[i];
  return NULL;
}

// ---- filling a section's struct ----------------------------------------------------------

static void *owned_array(config *c, size_t n, size_t size) {
  void *p = xcalloc(n ? n : 1, size);
  c->owned = xrealloc(c->owned, sizeof *c->owned * (size_t)(c->n_owned + 1));
  c->owned[c->n_owned++] = p;
  return p;
}

const char *config_choice_name(const char *choices, int i) {
  static struct { const char *choices; int i; char *name; } seen[64];   // names, kept for the program
  static int n_seen;
  for (int k = 0; k < n_seen; k++)
    if (seen[k].choices == choices && seen[k].i == i) return seen[k].name;
  const char *p = choices;
  for (int k = 0; k < i && *p; k++) p += strcspn(p, "|") + (p[strcspn(p, "|")] == '|');
  if (!*p || i < 0) error("config: choice %d of '%s' does not exist", i, choices);
  char *name = strndup(p, strcspn(p, "|"));
  if (!name) error("out of memory");
  if (n_seen == (int)(sizeof seen / sizeof *seen)) return name;   // (never: a handful of keys)
  seen[n_seen].choices = choices, seen[n_seen].i = i, seen[n_seen].name = name;
  return seen[n_seen++].name;
}

static void fill_one(config *c, const cfg_key *k, char *at) {
  switch (k->type) {
    case CFG_INT: *(long *)at = cfg_int(c, k->path); break;
    case CFG_FLOAT: *(double *)at = cfg_float(c, k->path); break;
    case CFG_BOOL: *(int *)at = cfg_bool(c, k->path); break;
    case CFG_STRING: *(const char **)at = cfg_str(c, k->path); break;
    case CFG_CHOICE: {
      int i = choice_index(k->choices, cfg_str(c, k->path));
      if (i < 0) error("config key '%s': value outside its choices after validation", k->path);
      *(int *)at = i;
      break;
    }
    case CFG_STRING_LIST: {
      string_list *l = (string_list *)at;
      l->n = cfg_list_len(c, k->path);
      l->v = owned_array(c, (size_t)l->n, sizeof *l->v);
      for (int i = 0; i < l->n; i++) l->v[i] = cfg_list_str(c, k->path, i);
      break;
    }
    case CFG_STRING_MAP: {
      string_map *m = (string_map *)at;
      m->n = cfg_map_len(c, k->path);
      m->name = owned_array(c, (size_t)m->n, sizeof *m->name);
      m->value = owned_array(c, (size_t)m->n, sizeof *m->value);
      for (int i = 0; i < m->n; i++) m->name[i] = cfg_map_name(c, k->path, i), m->value[i] = cfg_map_value(c, k->path, i);
      break;
    }
  }
}

void config_fill(config *c, const cfg_key *table, void *section) {
  for (const cfg_key *k = table; k->path; k++) fill_one(c, k, (char *)section + k->field);
}

// ---- canonical text -----------------------------------------------------------------

static void emit_string(strbuf *b, const char *s) {
  sb_puts(b, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
      case '"': sb_puts(b, "\\\""); break;
      case '\\': sb_puts(b, "\\\\"); break;
      case '\n': sb_puts(b, "\\n"); break;
      case '\t': sb_puts(b, "\\t"); break;
      case '\r': sb_puts(b, "\\r"); break;
      case '\f': sb_puts(b, "\\f"); break;
      default:
        if (*p < 0x20) sb_printf(b, "\\x%02x", *p);
        else sb_append(b, (const char *)p, 1);
    }
  }
  sb_puts(b, "\"");
}

static void emit_value(strbuf *b, const config_setting_t *s, int indent) {
  switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT: case CONFIG_TYPE_INT64:
      sb_printf(b, "%lld", (long long)config_setting_get_int64(s));
      break;
    case CONFIG_TYPE_FLOAT: {
      double v = config_setting_get_float(s);
      char buf[64];
      snprintf(buf, sizeof buf, "%.15g", v);
      if (strtod(buf, NULL) != v) snprintf(buf, sizeof buf, "%.17g", v);
      if (!strpbrk(buf, ".eEn")) strcat(buf, ".0");  // keep it a float literal
      sb_puts(b, buf);
      break;
    }
    case CONFIG_TYPE_BOOL: sb_puts(b, config_setting_get_bool(s) ? "true" : "false"); break;
    case CONFIG_TYPE_STRING: emit_string(b, config_setting_get_string(s)); break;
    case CONFIG_TYPE_ARRAY: case CONFIG_TYPE_LIST: {
      sb_puts(b, "[");
      for (int i = 0; i < config_setting_length(s); i++) {
        if (i) sb_puts(b, ", ");
        emit_value(b, config_setting_get_elem(s, (unsigned)i), indent);
      }
      sb_puts(b, "]");
      break;
    }
    case CONFIG_TYPE_GROUP: {
      sb_puts(b, "{\n");
      for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        sb_printf(b, "%*s%s = ", indent + 2, "", config_setting_name(e));
        emit_value(b, e, indent + 2);
        sb_puts(b, ";\n");
      }
      sb_printf(b, "%*s}", indent, "");
      break;
    }
    default: break;
  }
}

static int in_sections(const char *key, const char *sections) {
  if (!sections) return 1;
  size_t top = strcspn(key, ".");
  const char *p = sections;
  while (*p) {
    size_t len = strcspn(p, ",");
    if (len == top && strncmp(p, key, top) == 0) return 1;
    p += len + (p[len] == ',');
  }
  return 0;
}

// Emit in schema order (not file order), so the same settings always give the same text.
// Keys of one sub-group are contiguous in the schema tables, so groups open and close once.
static char *emit_canonical(const config_t *lc, const char *sections) {
  int n;
  const cfg_key *s = config_schema(&n);
  strbuf b;
  sb_init(&b);
  sb_puts(&b, "");
  char open[1024] = "";  // currently open group path, "" at the root
  for (int i = 0; i < n; i++) {
    const config_setting_t *v = config_lookup(lc, s[i].path);
    if (!v || !in_sections(s[i].path, sections)) continue;
    const char *last = strrchr(s[i].path, '.');
    char parent[1024] = "";
    if (last) snprintf(parent, sizeof parent, "%.*s", (int)(last - s[i].path), s[i].path);
    // close groups until `open` is a prefix of parent
    while (open[0] && !(strncmp(parent, open, strlen(open)) == 0 &&
                        (parent[strlen(open)] == '.' || parent[strlen(open)] == 0))) {
      int depth = 0;
      for (const char *p = open; *p; p++) depth += *p == '.';
      sb_printf(&b, "%*s};\n", 2 * depth, "");
      char *dot = strrchr(open, '.');
      if (dot) *dot = 0; else open[0] = 0;
    }
    // open groups down to parent
    while (strcmp(open, parent) != 0) {
      const char *rest = parent + strlen(open) + (open[0] ? 1 : 0);
      size_t len = strcspn(rest, ".");
      int depth = 0;
      if (open[0]) { depth = 1; for (const char *p = open; *p; p++) depth += *p == '.'; }
      sb_printf(&b, "%*s%.*s = {\n", 2 * depth, "", (int)len, rest);
      if (open[0]) strncat(open, ".", sizeof open - strlen(open) - 1);
      strncat(open, rest, len < sizeof open - strlen(open) - 1 ? len : sizeof open - strlen(open) - 1);
    }
    int depth = 0;
    if (open[0]) { depth = 1; for (const char *p = open; *p; p++) depth += *p == '.'; }
    sb_printf(&b, "%*s%s = ", 2 * depth, "", last ? last + 1 : s[i].path);
    emit_value(&b, v, 2 * depth);
    sb_puts(&b, ";\n");
  }
  while (open[0]) {
    int depth = 0;
    for (const char *p = open; *p; p++) depth += *p == '.';
    sb_printf(&b, "%*s};\n", 2 * depth, "");
    char *dot = strrchr(open, '.');
    if (dot) *dot = 0; else open[0] = 0;
  }
  return sb_detach(&b);
}

char *config_text(const config *c, const char *sections) { return emit_canonical(&c->lc, sections); }

char *config_text_sections(const char *text, const char *sections) {
  config_t lc;
  config_init(&lc);
  if (config_read_string(&lc, text) != CONFIG_TRUE) {
    config_destroy(&lc);
    return NULL;
  }
  char *r = emit_canonical(&lc, sections);
  config_destroy(&lc);
  return r;
}

// ---- help -------------------------------------------------------------------------

void config_print_help(const char *sections) {
  int n;
  const cfg_key *s = config_schema(&n);
  for (int i = 0; i < n; i++) {
    if (!in_sections(s[i].path, sections)) continue;
    printf("  %-34s %-8s", s[i].path,
           s[i].type == CFG_INT ? "int" : s[i].type == CFG_FLOAT ? "float" : s[i].type == CFG_BOOL ? "bool"
           : s[i].type == CFG_STRING || s[i].type == CFG_CHOICE ? "string"
           : s[i].type == CFG_STRING_LIST ? "[string]" : "{name=str}");
    printf(" %s", s[i].help ? s[i].help : "");
    if (s[i].def) printf(" (default %s)", s[i].def);
    else printf(" (required)");
    if ((s[i].type == CFG_INT || s[i].type == CFG_FLOAT) && s[i].min <= s[i].max)
      printf(" [%g..%g]", s[i].min, s[i].max);
    if (s[i].choices) printf(" {%s}", s[i].choices);
    printf("\n");
  }
}
