// nq-export's adapter side (docs/hf.md, "LoRA adapters in PEFT's layout"): our adapter file
// (nq-train's adapter.h5, or one user of a per-user group file) to a PEFT directory or to a
// merged HF model, and a PEFT directory back to our adapter file or to a merged HF model.
//
// defines: export_adapter_request, export_is_adapter_file, export_adapter, import_peft
#ifndef NQ_EXPORT_ADAPTER_H
#define NQ_EXPORT_ADAPTER_H

typedef struct {
  const char *in, *out;    // adapter file or PEFT directory; output directory or .h5
  const char *base;        // the base model (checkpoint or HF directory); NULL = the PEFT
                           // directory's base_model_name_or_path
  const char *user;        // per-user group files: the user whose adapter to take
  const char *tokenizer;   // --merge: tokenizer files to copy (hf_export_opts)
  int bf16, merge;
} export_adapter_request;

// Whether `path` is an HDF5 adapter file (holds lora/params).
int export_is_adapter_file(const char *path);
// Adapter file -> PEFT directory (merge = 0) or merged HF model directory (merge = 1).
void export_adapter(const export_adapter_request *r);
// PEFT directory -> our adapter file r->out (merge = 0) or merged HF model directory.
void import_peft(const export_adapter_request *r);

#endif
