// The union of every section's keys. Each section's table lives beside the code that
// reads it (schema_<section>.c); add a section by adding one line here.
#include "config.h"
#include "util.h"

extern const cfg_key schema_top[], schema_data[], schema_tokenizer[], schema_shard[],
    schema_synth[], schema_model[], schema_train[], schema_effect[], schema_annotate[],
    schema_eval[], schema_pipeline[];

static const cfg_key *const tables[] = {
    schema_top, schema_data, schema_tokenizer, schema_shard, schema_synth,
    schema_model, schema_train, schema_effect, schema_annotate, schema_eval, schema_pipeline,
};

const cfg_key *config_schema(int *n) {
  static cfg_key *all = NULL;
  static int count = 0;
  if (!all) {
    int total = 0;
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
      for (const cfg_key *k = tables[t]; k->path; k++) total++;
    all = xcalloc((size_t)total + 1, sizeof *all);
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
      for (const cfg_key *k = tables[t]; k->path; k++) all[count++] = *k;
  }
  *n = count;
  return all;
}
