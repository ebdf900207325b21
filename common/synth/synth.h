// The embedded personalization benchmark (nq-synth): product reviews whose text is partly
// driven by the item and its rating (context) and partly by the writer's latent, fixed
// preferences; every byte produced by a preference is recorded as ground truth.
// See docs/synth.md for the generative process.
//
// Determinism: the shared world (items, phrase pools) comes from one RNG seeded from
// (seed, seed_offset); user u comes from its own RNG seeded from (seed, seed_offset, u).
// So any split of users over MPI ranks gives the same bytes when concatenated in user order.
#ifndef NQ_SYNTH_H
#define NQ_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

typedef struct {
  uint64_t seed;         // experiment seed (top-level `seed`)
  uint64_t seed_offset;  // synth.seed_offset: another benchmark under the same experiment seed
  int users;
  int reviews_min, reviews_max;  // per user, uniform in [min, max]
  int items;
  int min_profile;       // a warm user's review becomes a train sample from this index on
  double cold_share;     // share of users with only valid/test samples
  int brands;            // made-up brand words (the main vocabulary-size knob)
  int pool_size;         // phrases per pool (openers, sign-offs, personas, pet words)
  double zipf_s;         // popularity skew of preference phrases over users
  double rare_share;     // a phrase whose expected user share is below this is "rare"
  double pref_share;     // probability that a user has each signature kind
  double pref_strength;  // probability that a held preference shows in a given review
  int petwords_max;      // pet words per user: uniform in [1, max] (0: none)
  double habit_share;    // share of users with a spelling/punctuation habit
  int length_max;        // feature sentences per review: user's length pref in [1, max]
  double persona_topic_share;   // > 0: the persona shows only in reviews of the user's topic
                                // category, which this share of its reviews are of
} synth_params;

// Span kinds, in the order written to `pref_kinds`.
typedef enum {
  SK_OPENER, SK_PERSONA, SK_SENTIMENT, SK_PETWORD, SK_ASPECT, SK_SIGNOFF, SK_HABIT, SK_CASE,
  SK_COUNT
} synth_kind;
const char *synth_kind_name(int kind);

typedef struct {
  size_t samples[3];     // train, valid, test
  size_t users_cold;
  size_t output_bytes, output_words;
  size_t pref_bytes;     // bytes of outputs inside pref spans
  size_t spans, spans_rare;
} synth_stats;

typedef struct synth_world synth_world;

void synth_params_default(synth_params *p);
// NULL when the parameters are consistent, else a message naming the offending key.
const char *synth_params_check(const synth_params *p);

// Items and phrase pools; identical on every rank for the same parameters.
synth_world *synth_world_new(const synth_params *p);
void synth_world_free(synth_world *w);

// Appends the JSONL lines (one per sample, '\n'-terminated) of user `u` to `out` and
// adds to `st` (may be NULL). Depends only on the parameters and u.
void synth_user_jsonl(const synth_world *w, int u, strbuf *out, synth_stats *st);

// Is user u cold (only valid/test samples)? Exactly floor(users * cold_share) are.
int synth_user_is_cold(const synth_params *p, int u);

#endif
