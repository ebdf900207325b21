// The stages of the pipeline, stated once: name, one-line summary, the config sections each
// reads (for --help, the provenance comparisons and the stamps of pipeline/freshness.c,
// through `nq-config --reads STAGE`), its flags, and the version of what it computes.
#ifndef NQ_STAGES_H
#define NQ_STAGES_H

typedef struct {
  const char *name;       // "shard" (the executable is nq-shard)
  const char *summary;    // one line for --help
  const char *reads;      // config sections it reads: "seed,data,tokenizer,shard" (run_dir,
                          // read by every stage, is where outputs go, not what they depend on)
  int takes_resume;       // accepts --resume
  int takes_preview;      // accepts --preview N / --preview-id ID (nq-shard)
  int refuses_stale;      // outputs made with another config or input are replaced only with
                          // --force (the others are recomputed)
  int version;            // part of every stamp of the stage: bump it when the stage's output
                          // for the same config and inputs changes (a new generator)
} stage_info;

// The stage called `name`, or NULL.
const stage_info *stage_find(const char *name);
// All stages, terminated by an entry with name NULL.
extern const stage_info stage_table[];

#endif
