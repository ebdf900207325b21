// Experiment configuration: one libconfig file per experiment (configs/*.cfg), validated
// against a schema that lists every key once. Unknown keys, wrong types and values out of
// range are errors naming file:line and key; `--set a.b=v` goes through the same checks.
//
// The loader knows no section: common/settings/ declares each section once, as a `cfg_key[]`
// table whose rows also say where each value lands in the section's struct (`field`), and
// installs the union with config_set_schema before loading, so a typo in any section is
// caught by whichever stage runs first. config_fill then copies a section into its struct.
#ifndef NQ_CONFIG_H
#define NQ_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
  CFG_INT,          // libconfig int / int64
  CFG_FLOAT,        // float (an int literal is accepted and converted)
  CFG_BOOL,
  CFG_STRING,       // `choices` = "a|b|c" restricts the value when non-NULL
  CFG_STRING_LIST,  // ["a", "b"]
  CFG_STRING_MAP,   // a group whose children are all strings, any names: { base = "x"; }
  CFG_CHOICE,       // a string that must be one of `choices`; its field holds the index
} cfg_type;

// What config_fill writes at a row's `field`, by type: CFG_INT long, CFG_FLOAT double,
// CFG_BOOL int, CFG_STRING const char *, CFG_CHOICE int (index into choices), CFG_STRING_LIST
// string_list, CFG_STRING_MAP string_map. Strings and arrays belong to the config (config_free).
typedef struct { int n; const char **v; } string_list;
typedef struct { int n; const char **name, **value; } string_map;
// Whether list `l` holds `s`; the value of map `m`'s entry `name`, or NULL.
int string_list_has(const string_list *l, const char *s);
const char *string_map_get(const string_map *m, const char *name);

typedef struct {
  const char *path;     // dotted: "data.max_history_items"
  cfg_type type;
  const char *def;      // default in libconfig syntax ("8", "0.05", "\"fail\"", "[]");
                        // NULL means required
  double min, max;      // numeric range, inclusive; ignored when min > max
  const char *choices;  // for CFG_STRING (optional) and CFG_CHOICE: "a|b|c"
  const char *help;     // one line, shown by --help and in docs
  size_t field;         // offsetof(the section's struct, the member the value lands in)
} cfg_key;

#define CFG_NO_RANGE 1.0, 0.0

typedef struct config config;

// Load `path`, apply overrides ("a.b=v" strings), fill defaults, validate. On any problem
// calls fatal() with a single line naming file:line and key (or the --set argument).
config *config_load(const char *path, const char *const *overrides, int n_overrides);
void config_free(config *c);

// Copies every key of `table` (NULL-path terminated) into `section` at each row's field.
void config_fill(config *c, const cfg_key *table, void *section);
// The name of choice i of "a|b|c" (the value a CFG_CHOICE field's index stands for).
const char *config_choice_name(const char *choices, int i);

// Typed accessors (tests and nq-config; code below the stages takes settings structs); the
// key must be in the schema (a typo in code is an error()). cfg_str reads CFG_CHOICE too.
long cfg_int(const config *c, const char *key);
double cfg_float(const config *c, const char *key);
int cfg_bool(const config *c, const char *key);
const char *cfg_str(const config *c, const char *key);
int cfg_list_len(const config *c, const char *key);
const char *cfg_list_str(const config *c, const char *key, int i);
// For CFG_STRING_MAP: number of entries, and name/value of entry i (file order).
int cfg_map_len(const config *c, const char *key);
const char *cfg_map_name(const config *c, const char *key, int i);
const char *cfg_map_value(const config *c, const char *key, int i);

// Prints the value of `key` (scalar: the value; list: one item per line; map: "name<TAB>value"
// lines) to `out`; -1 when the key is not in the schema.
int config_print_value(const config *c, const char *key, FILE *out);

// Effective configuration (file + overrides + defaults) as canonical libconfig text:
// the whole file, or only the listed top-level sections/keys (comma separated,
// e.g. "seed,data,tokenizer,shard") for provenance comparisons. Caller frees.
char *config_text(const config *c, const char *sections);
const char *config_path(const config *c);
// The same restriction applied to stored config text (from a file's provenance).
// Returns NULL if the text does not parse. Caller frees.
char *config_text_sections(const char *text, const char *sections);

// Install the schema: `n_tables` NULL-path-terminated key tables (one per section). Once per
// program, before config_load; config_load stops if none was installed.
void config_set_schema(const cfg_key *const *tables, int n_tables);
// The installed schema as one array of *n keys, for --help and docs.
const cfg_key *config_schema(int *n);
// Prints keys of the given top-level sections with type, default and help.
void config_print_help(const char *sections);

#endif
