// Fuzz target: an experiment config (libconfig text) through settings_load with the full schema,
// as every stage loads it (every section filled, then checked); NUL bytes split off
// `--set key=value` overrides. An accepted config is printed back (settings_text, also per
// section) and the printed text read again.
#include "fuzz.h"

#include "settings/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int installed;
  if (!installed) { settings_schema_install(); installed = 1; }
  const uint8_t *nul = memchr(data, 0, size);
  size_t flen = nul ? (size_t)(nul - data) : size;
  const char *path = fz_write_file("exp.cfg", data, flen);
  // overrides: the NUL-separated strings after the file (at most 8)
  size_t rlen = nul ? size - flen - 1 : 0;
  char *rest = malloc(rlen + 1);
  if (!rest) abort();
  if (rlen) memcpy(rest, nul + 1, rlen);
  rest[rlen] = 0;
  const char *ov[8];
  int n_ov = 0;
  for (size_t i = 0; nul && i <= rlen && n_ov < 8; i += strlen(rest + i) + 1) ov[n_ov++] = rest + i;
  settings *volatile s = NULL;
  FZ_TRY(s = settings_load(path, ov, n_ov));
  if (!fz_fataled && s) {
    FZ_TRY({
      char *text = settings_text(s, NULL);
      char *part = config_text_sections(text, "seed,data,tokenizer,shard");
      free(part);
      free(text);
      settings_check(s, NULL);
    });
    settings_free(s);
  }
  free(rest);
  return 0;
}
