// Fuzz target: a Hugging Face config.json through hf_read_config, and an accepted config through
// the model's own checks and size arithmetic (what hf_load_into does before allocating).
#include "fuzz.h"

#include "hf/hf.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_write_file("config.json", data, size);
  model_config mc;
  char err[512];
  if (hf_read_config(fz_dir(), &mc, err, sizeof err)) return 0;
  FZ_TRY(model_config_check(&mc));
  if (fz_fataled) return 0;
  size_t sizes[P_COUNT];
  model_param_sizes(&mc, sizes);
  volatile double fl = model_flops_per_token(&mc, mc.max_seq_len, 1);
  (void)fl;
  return 0;
}
