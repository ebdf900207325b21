// Fuzz target: a Hugging Face tokenizer.json through tok_load_json (vocab, merges, added tokens,
// the pre-tokenizer regex), then a loaded tokenizer encodes and decodes a fixed text and its
// own specials, and saves itself (tok_save_json), as nq-shard and nq-export use it.
#include "fuzz.h"

#include "text/tokenizer.h"

static const char *TEXT = "Hello, world! It's 2024 - caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 <|endoftext|>  tabs\tand\nlines 's 'll";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fz_write_file("tokenizer.json", data, size);
  char err[512];
  tokenizer *volatile t = NULL;
  FZ_TRY(t = tok_load_json(path, err, sizeof err));
  if (fz_fataled || !t) return 0;
  int32_t *ids = NULL;
  size_t n = 0, cap = 0;
  FZ_TRY({
    (void)tok_digest(t);
    int V = tok_vocab_size(t);
    if (tok_encode(t, TEXT, strlen(TEXT), &ids, &n, &cap) == 0) {
      for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= V) abort();   // an id outside the vocabulary
      size_t len;
      char *s = tok_decode(t, ids, n, &len);
      free(s);
    }
    char buf[64];
    for (int id = 0; id < V && id < 1024; id++) {
      (void)tok_id_string(t, id);
      (void)tok_token_bytes(t, id, buf, (int)sizeof buf);
    }
    char out[1200];
    snprintf(out, sizeof out, "%s/out.json", fz_dir());
    tok_save_json(t, out);
  });
  free(ids);
  tok_free(t);
  return 0;
}
