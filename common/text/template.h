// Prompt templates: `{field}` and dotted `{a.b}` placeholders filled from a JSON object
// (strings verbatim, integers in decimal, reals with %.17g, booleans true/false, null as "").
// `{{` and `}}` are literal braces. `{history}` is special when the caller passes the
// rendered history text; otherwise it is an ordinary field.
#ifndef NQ_TEMPLATE_H
#define NQ_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "base/util.h"

// Syntax check (unclosed or empty braces); fatal naming the template `name` (its config key).
void tpl_check(const char *tpl, const char *name);
// Append the rendering of `tpl` to `out`. Returns 0, or -1 with `err` =
// "field 'x': <reason> (used by <name>)" when a field is missing or not a scalar.
int tpl_render(const char *tpl, const char *name, const json_t *obj, const char *history,
               strbuf *out, char *err, size_t errlen);

#endif
