// nq-export, a tool rather than a pipeline stage (no config file, no MPI job): write one of our
// checkpoints (HDF5, or a HF directory) as a Hugging Face model directory (docs/hf.md).
#ifndef NQ_EXPORT_TOOL_H
#define NQ_EXPORT_TOOL_H

// The whole command line of build/nq-export; returns the exit code (0, or 2 on bad usage).
int export_tool_main(int argc, char **argv);

#endif
