// The experiment schema: every section's key table, installed into the config loader.
#ifndef NQ_SCHEMA_H
#define NQ_SCHEMA_H

// Installs the union of all sections' keys (config_set_schema); call before config_load.
void schema_install(void);

#endif
