// Word lists of the synthetic review benchmark (nq-synth). All hand-written here for this
// project (single common English words and short phrases; no copied text), ASCII only, so
// byte offsets equal character offsets. Brand names, people's names and rare slang words
// are made up from syllables by synth_pseudo_word(), deterministically from an RNG.
#ifndef NQ_SYNTH_WORDS_H
#define NQ_SYNTH_WORDS_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

#define SW_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

// A product category: what items are, which parts they have, what they are used for.
typedef struct {
  const char *name;           // "Kitchen"
  const char *const *nouns;   // product types: "kettle"
  int n_nouns;
  const char *const *features;  // parts/attributes named in descriptions and reviews: "lid"
  int n_features;
  const char *const *uses;    // "weeknight dinners"
  int n_uses;
} sw_category;

extern const sw_category sw_categories[];
extern const int sw_n_categories;

// Context vocabulary (item- and rating-driven text).
extern const char *const sw_model_words[];     // title middle word: "Compact"
extern const int sw_n_model_words;
extern const char *const sw_desc_adjs[];       // description adjectives: "matte"
extern const int sw_n_desc_adjs;
extern const char *const sw_rating_adjs[5][6]; // rating 1..5 -> overall adjective
extern const char *const sw_feature_adjs[3][8]; // polarity neg/mid/pos -> feature adjective
extern const char *const sw_feature_verbs[];   // "feels"
extern const char *const sw_feature_verbs_pl[];  // "feel": the same verbs for plural features
extern const int sw_n_feature_verbs;
extern const char *const sw_rating_frames[];   // "This %s is" (noun) - overall sentence heads
extern const int sw_n_rating_frames;
extern const char *const sw_use_frames[3][3];  // polarity -> "Works great for %s"

// Preference vocabulary (user-driven text).
extern const char *const sw_opener_heads[];    // "Okay"
extern const int sw_n_opener_heads;
extern const char *const sw_opener_tails[];    // "here is my take"
extern const int sw_n_opener_tails;
extern const char *const sw_signoff_heads[];   // "Cheers"
extern const int sw_n_signoff_heads;
extern const char *const sw_signoff_tails[];   // "friends" (plus made-up names)
extern const int sw_n_signoff_tails;
extern const char *const sw_persona_frames[];  // "I got this for %s."
extern const int sw_n_persona_frames;
extern const char *const sw_persona_targets[]; // "my sister"
extern const int sw_n_persona_targets;
extern const char *const sw_petwords[];        // "honestly" (common pet words)
extern const int sw_n_petwords;
extern const char *const sw_intensifiers[3][6];  // sentiment bias neg/neutral/pos
extern const char *const sw_aspect_leads[];    // "My main thing is the"
extern const int sw_n_aspect_leads;

typedef struct {
  const char *kw;             // "price" (the phrase that names the aspect)
  const char *pron;           // "it" / "they"
  const char *pred[3];        // polarity neg/mid/pos: "is way too high"
} sw_aspect;
extern const sw_aspect sw_aspects[];
extern const int sw_n_aspects;

// A made-up English-like word of 2..3 syllables, lowercase, written into buf (cap >= 16).
void synth_pseudo_word(gsl_rng *r, char *buf, size_t cap);

#endif
