// Keys of the `tokenizer` section; each row names the tokenizer_settings member it fills.
#include "settings/tokenizer_settings.h"

#include <stddef.h>

#define F(m) offsetof(tokenizer_settings, m)

const cfg_key tokenizer_keys[] = {
    {"tokenizer.path", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "HF tokenizer.json to load (byte-level BPE); \"\" = train one on the corpus's train split", F(path)},
    {"tokenizer.vocab_size", CFG_INT, "4096", 260, 262144, NULL,
     "vocabulary size when training: 256 bytes + merges + specials", F(vocab_size)},
    {"tokenizer.train_samples", CFG_INT, "20000", 1, 100000000, NULL,
     "how many train-split records (prompt and target texts each) rank 0 trains the tokenizer on", F(train_samples)},
    {"tokenizer.specials", CFG_STRING_LIST, "[\"<|endoftext|>\", \"<pad>\"]", CFG_NO_RANGE, NULL,
     "special tokens, matched verbatim in text and encoded as single ids", F(specials)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
};
