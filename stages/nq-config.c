// nq-config: prints a config value, the canonical text of config sections, or the sections a
// stage reads, for shell drivers (jobs/pipeline.sh); not an MPI program. The work is in
// common/config_tool/config_tool.c (`nq-config --help`).
#include "config_tool/config_tool.h"

int main(int argc, char **argv) { return config_tool_main(argc, argv); }
