// The files of a Hugging Face model directory and of a PEFT adapter directory, named once (as
// transformers and peft name them). The run's own tokenizer file is such a tokenizer.json:
// the run layout (pipeline/run_layout.c) takes its name from here.
#ifndef NQ_HF_NAMES_H
#define NQ_HF_NAMES_H

#define HF_CONFIG "config.json"
#define HF_GENERATION_CONFIG "generation_config.json"
#define HF_TOKENIZER "tokenizer.json"
#define HF_TOKENIZER_CONFIG "tokenizer_config.json"
#define HF_SPECIAL_TOKENS "special_tokens_map.json"
#define HF_VOCAB "vocab.json"
#define HF_MERGES "merges.txt"
#define HF_WEIGHTS "model.safetensors"
#define HF_WEIGHTS_INDEX "model.safetensors.index.json"
#define HF_SAFETENSORS_EXT ".safetensors"
#define HF_SAFETENSORS_INDEX_EXT ".safetensors.index.json"
#define PEFT_CONFIG "adapter_config.json"
#define PEFT_WEIGHTS "adapter_model.safetensors"

#endif
