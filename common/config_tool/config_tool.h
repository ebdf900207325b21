// nq-config, the config reader for shell drivers (jobs/pipeline.sh, jobs/submit.sh): prints a
// config value, the canonical text of sections, or the sections a stage reads. Not MPI.
#ifndef NQ_CONFIG_TOOL_H
#define NQ_CONFIG_TOOL_H

// The whole command line of build/nq-config; returns the exit code (0, or 2 on bad usage).
int config_tool_main(int argc, char **argv);

#endif
