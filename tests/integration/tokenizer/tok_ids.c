// Parity driver: loads a tokenizer (GPT-2 encoder.json + vocab.bpe, or a tokenizer.json),
// encodes a UTF-8 file and prints the ids on one line (space separated). Exits 2 if the
// text is not valid UTF-8 and 3 if decode(encode(text)) differs from the text.
//   tok_ids gpt2 ENCODER_JSON VOCAB_BPE TEXT_FILE
//   tok_ids json TOKENIZER_JSON TEXT_FILE [RESAVED_JSON]
// With RESAVED_JSON the tokenizer is saved there and reloaded before encoding; exits 4 if
// the reloaded digest differs.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer.h"
#include "base/util.h"

int main(int argc, char **argv) {
  char err[512];
  tokenizer *t = NULL;
  const char *textfile = NULL;
  if (argc == 5 && strcmp(argv[1], "gpt2") == 0) {
    t = tok_load_gpt2(argv[2], argv[3], err, sizeof err);
    textfile = argv[4];
  } else if ((argc == 4 || argc == 5) && strcmp(argv[1], "json") == 0) {
    t = tok_load_json(argv[2], err, sizeof err);
    textfile = argv[3];
    if (t && argc == 5) {
      char digest[65];
      snprintf(digest, sizeof digest, "%s", tok_digest(t));
      tok_save_json(t, argv[4]);
      tok_free(t);
      t = tok_load_json(argv[4], err, sizeof err);
      if (t && strcmp(digest, tok_digest(t)) != 0) {
        fprintf(stderr, "tok_ids: %s: digest %s after save/load, %s before\n", argv[4], tok_digest(t), digest);
        tok_free(t);
        return 4;
      }
    }
  } else {
    fprintf(stderr, "usage: tok_ids gpt2 ENCODER_JSON VOCAB_BPE TEXT | tok_ids json TOKENIZER_JSON TEXT [RESAVED_JSON]\n");
    return 1;
  }
  if (!t) { fprintf(stderr, "tok_ids: %s\n", err); return 1; }
  size_t len;
  char *text = read_file(textfile, &len);
  if (!text) { perror(textfile); tok_free(t); return 1; }
  int32_t *ids = NULL;
  size_t n = 0, cap = 0;
  if (tok_encode(t, text, len, &ids, &n, &cap) != 0) {
    fprintf(stderr, "tok_ids: %s: not valid UTF-8\n", textfile);
    return 2;
  }
  for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
  printf("\n");
  size_t dl;
  char *back = tok_decode(t, ids, n, &dl);
  int rc = (back && dl == len && memcmp(back, text, len) == 0) ? 0 : 3;
  if (rc) fprintf(stderr, "tok_ids: decode(encode(text)) != text\n");
  free(back);
  free(ids);
  free(text);
  tok_free(t);
  return rc;
}
