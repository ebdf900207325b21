#include "config/config.h"

// Keys of the `tokenizer` section (read by the shard stage through common/tokenizer.h).
const cfg_key schema_tokenizer[] = {
    {"tokenizer.path", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "HF tokenizer.json to load (byte-level BPE); \"\" = train one on the corpus's train split"},
    {"tokenizer.vocab_size", CFG_INT, "4096", 260, 262144, NULL,
     "vocabulary size when training: 256 bytes + merges + specials"},
    {"tokenizer.train_samples", CFG_INT, "20000", 1, 100000000, NULL,
     "how many train-split records (prompt and target texts each) rank 0 trains the tokenizer on"},
    {"tokenizer.specials", CFG_STRING_LIST, "[\"<|endoftext|>\", \"<pad>\"]", CFG_NO_RANGE, NULL,
     "special tokens, matched verbatim in text and encoded as single ids"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};
