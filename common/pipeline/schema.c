// The union of every section's keys. Each section's table lives beside the code that reads
// it (<folder>/schema_<section>.c); add a section by adding one line here.
#include "pipeline/schema.h"

#include "config/config.h"

extern const cfg_key schema_top[], schema_data[], schema_tokenizer[], schema_shard[],
    schema_synth[], schema_model[], schema_train[], schema_effect[], schema_annotate[],
    schema_eval[], schema_pipeline[];

static const cfg_key *const tables[] = {
    schema_top, schema_data, schema_tokenizer, schema_shard, schema_synth,
    schema_model, schema_train, schema_effect, schema_annotate, schema_eval, schema_pipeline,
};

void schema_install(void) {
  config_set_schema(tables, (int)(sizeof tables / sizeof *tables));
}
