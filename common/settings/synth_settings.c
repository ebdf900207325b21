// Keys of the `synth` section (docs/synth.md explains each knob); each row names the
// synth_settings member it fills. The generator's own defaults (synth_params_default) match.
#include "settings/synth_settings.h"

#include <stddef.h>

#define F(m) offsetof(synth_settings, m)

const cfg_key synth_keys[] = {
    {"synth.output", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "JSONL file to write; \"\" = the run layout's corpus file (data/synth.jsonl under run_dir)", F(output)},
    {"synth.seed_offset", CFG_INT, "0", 0, 2147483647, NULL,
     "mixed with the top-level seed: another benchmark under the same experiment seed", F(seed_offset)},
    {"synth.users", CFG_INT, "400", 1, 10000000, NULL, "number of users (writers)", F(users)},
    {"synth.reviews_min", CFG_INT, "8", 2, 1000, NULL,
     "fewest reviews per user (uniform in [reviews_min, reviews_max]); >= min_profile + 2", F(reviews_min)},
    {"synth.reviews_max", CFG_INT, "12", 2, 1000, NULL, "most reviews per user", F(reviews_max)},
    {"synth.items", CFG_INT, "600", 1, 10000000, NULL, "number of distinct products", F(items)},
    {"synth.min_profile", CFG_INT, "1", 0, 100, NULL,
     "a warm user's review is a train sample only if at least this many reviews precede it", F(min_profile)},
    {"synth.cold_share", CFG_FLOAT, "0.2", 0, 1, NULL,
     "share of users with only valid/test samples (their history is only in the prompt)", F(cold_share)},
    {"synth.brands", CFG_INT, "1500", 1, 20000, NULL,
     "made-up brand words for item titles (the main vocabulary-size knob)", F(brands)},
    {"synth.pool_size", CFG_INT, "150", 1, 216, NULL,
     "phrases per preference pool (openers, sign-offs, personas, pet words)", F(pool_size)},
    {"synth.zipf_s", CFG_FLOAT, "1.1", 0, 5, NULL,
     "Zipf exponent of phrase popularity over users (0 = uniform; larger = few common phrases)", F(zipf_s)},
    {"synth.rare_share", CFG_FLOAT, "0.01", 0, 1, NULL,
     "a phrase whose expected share of users is below this is labelled rare", F(rare_share)},
    {"synth.pref_share", CFG_FLOAT, "0.85", 0, 1, NULL,
     "probability that a user has each signature preference (opener, sign-off, persona, aspect, pet words)", F(pref_share)},
    {"synth.pref_strength", CFG_FLOAT, "0.85", 0, 1, NULL,
     "probability that a held preference is expressed in any one review", F(pref_strength)},
    {"synth.petwords_max", CFG_INT, "2", 0, 4, NULL, "pet words per user: uniform in [1, max]; 0 = none", F(petwords_max)},
    {"synth.habit_share", CFG_FLOAT, "0.3", 0, 1, NULL,
     "share of users with a spelling/punctuation habit (!!, ..., emoticon, all lowercase)", F(habit_share)},
    {"synth.length_max", CFG_INT, "3", 1, 8, NULL,
     "longest length preference: feature sentences per review, per user uniform in [1, max]", F(length_max)},
    {"synth.persona_topic_share", CFG_FLOAT, "0", 0, 0.9, NULL,
     "0 = the persona may show in any review; > 0: each user's persona belongs to one topic category (not a "
     "favourite), this share of the user's reviews are of it, and only those show the persona, so the "
     "history items that carry it are the query-relevant ones, not the newest (docs/synth.md)", F(persona_topic_share)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
};
