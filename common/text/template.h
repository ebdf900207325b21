// Prompt templates: `{field}` and dotted `{a.b}` placeholders filled from a JSON object
// (strings verbatim, integers in decimal, reals with %.17g, booleans true/false, null as "").
// `{{` and `}}` are literal braces. `{field:N}` gives a field a budget of N tokens: a longer
// text is cut at a token boundary (then back to a whole UTF-8 character), keeping its first N
// tokens, or its last N when the budget says so (data.truncate = "start"). `{history}` is special when the caller passes the
// rendered history text; otherwise it is an ordinary field.
#ifndef NQ_TEMPLATE_H
#define NQ_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "base/util.h"
#include "text/tokenizer.h"

// How `{field:N}` budgets apply. With tok == NULL they are ignored (the whole text is used).
typedef struct {
  const tokenizer *tok;
  int cut_start;        // cut the start of a long field (keep its end) instead of its end
  int truncated;        // set to 1 when a field was cut
} tpl_budget;

// Syntax check (unclosed or empty braces, a budget that is not a positive integer); fatal naming the template `name` (its config key).
void tpl_check(const char *tpl, const char *name);
// Append the rendering of `tpl` to `out` (`budget` may be NULL). Returns 0, or -1 with `err` =
// "field 'x': <reason> (used by <name>)" when a field is missing or not a scalar.
int tpl_render(const char *tpl, const char *name, const json_t *obj, const char *history,
               tpl_budget *budget, strbuf *out, char *err, size_t errlen);

#endif
