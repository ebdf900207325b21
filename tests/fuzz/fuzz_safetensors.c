// Fuzz target: a .safetensors file (header length, JSON header, data section) through st_open,
// then every tensor through st_to_f32 and st_find, as hf_load_into reads a model's weights.
#include "fuzz.h"

#include "hf/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fz_write_file("model.safetensors", data, size);
  st_set s;
  char err[512];
  if (st_open(&s, path, err, sizeof err)) return 0;
  for (int i = 0; i < s.n; i++) {
    const st_tensor *t = &s.t[i];
    if (st_find(&s, t->name) == NULL) abort();   // every listed tensor is found by its name
    if (t->numel > (1u << 22)) continue;
    float *out = malloc((t->numel ? t->numel : 1) * sizeof *out);
    if (!out) abort();
    st_to_f32(t, out);
    free(out);
  }
  st_close(&s);
  return 0;
}
