// The synthetic review benchmark generator; see synth.h and docs/synth.md.
// Sections: seeds, world (items + phrase pools), users (latent preferences), reviews
// (context text woven with preference text, spans recorded), JSONL output.
#include "synth/synth.h"

#include <ctype.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "synth/synth_words.h"

static const char *const kind_names[SK_COUNT] = {"opener", "persona", "sentiment", "petword",
                                                 "aspect", "signoff", "habit", "case"};
const char *synth_kind_name(int kind) {
  return kind >= 0 && kind < SK_COUNT ? kind_names[kind] : "?";
}

static const char *const split_names[3] = {"train", "valid", "test"};

// Habits: sentence-final marks replacing '.', an emoticon at the end, or all lowercase.
enum { H_EXCLAIM, H_ELLIPSIS, H_SMILE, H_GRIN, H_WINK, H_LOWER, H_COUNT };
static const char *const habit_text[H_COUNT] = {"!!", "...", ":)", ":D", ";)", "lowercase"};

void synth_params_default(synth_params *p) {
  *p = (synth_params){.seed = 1234, .seed_offset = 0, .users = 400, .reviews_min = 8,
                      .reviews_max = 12, .items = 600, .min_profile = 1, .cold_share = 0.2,
                      .brands = 1500, .pool_size = 150, .zipf_s = 1.1, .rare_share = 0.01,
                      .pref_share = 0.85, .pref_strength = 0.85, .petwords_max = 2,
                      .habit_share = 0.3, .length_max = 3};
}

const char *synth_params_check(const synth_params *p) {
  if (p->reviews_max < p->reviews_min) return "synth.reviews_max must be >= synth.reviews_min";
  if (p->reviews_min < p->min_profile + 2)
    return "synth.reviews_min must be >= synth.min_profile + 2 (valid and test need a profile)";
  if (p->users < 1 || p->items < 1 || p->brands < 1 || p->pool_size < 1 || p->length_max < 1)
    return "synth.users, items, brands, pool_size and length_max must be >= 1";
  return NULL;
}

// ---- seeds ---------------------------------------------------------------------------------
static uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// stream 0 is the world; user u is stream u + 1.
static gsl_rng *rng_for(const synth_params *p, uint64_t stream) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  if (!r) error("gsl_rng_alloc failed for synth stream %llu", (unsigned long long)stream);
  uint64_t h = splitmix64(splitmix64(splitmix64(p->seed) ^ p->seed_offset) ^ stream);
  gsl_rng_set(r, (unsigned long)(h & 0xffffffffUL) | 1UL);
  return r;
}

static int pick(gsl_rng *r, int n) { return (int)gsl_rng_uniform_int(r, (unsigned long)n); }

// ---- world -----------------------------------------------------------------------------------
typedef struct {
  char *text;
  double share;   // expected share of users holding it
  int rare;
} phrase;

typedef struct {
  phrase *v;
  int n;
  double *cdf;    // Zipf(s) over ranks 0..n-1
} pool;

typedef struct {
  int cat, noun, feat[2];
  char *title, *description;
  double quality;
} item;

enum { P_OPENER, P_SIGNOFF, P_PERSONA, P_PETWORD, P_ASPECT, P_COUNT };

struct synth_world {
  synth_params p;
  item *items;
  int *cat_items, *cat_start;  // items grouped by category: cat_items[cat_start[c]..cat_start[c+1])
  pool pools[P_COUNT];
  double intens_cdf[6];
};

static const double bias_prob[3] = {0.3, 0.4, 0.3};
static const double bias_shift[3] = {-0.8, 0.0, 0.5};

// Set of made-up words, so brands, names and rare pet words never collide.
typedef struct {
  char **w;
  size_t n;
} wordset;

static int wordset_has(const wordset *s, const char *w) {
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->w[i], w)) return 1;
  return 0;
}

static char *fresh_word(gsl_rng *r, wordset *s, const char *suffix) {
  char buf[48];
  for (;;) {
    synth_pseudo_word(r, buf, 32);
    strcat(buf, suffix);
    if (strlen(buf) >= 4 && !wordset_has(s, buf)) break;
  }
  s->w = xrealloc(s->w, (s->n + 1) * sizeof *s->w);
  s->w[s->n++] = xstrdup(buf);
  return s->w[s->n - 1];
}

static void zipf_cdf(double *cdf, int n, double s) {
  double z = 0;
  for (int k = 0; k < n; k++) cdf[k] = (z += pow(k + 1.0, -s));
  for (int k = 0; k < n; k++) cdf[k] /= z;
  cdf[n - 1] = 1.0;
}

static double zipf_pmf(const double *cdf, int k) { return k == 0 ? cdf[0] : cdf[k] - cdf[k - 1]; }

static int zipf_draw(gsl_rng *r, const double *cdf, int n) {
  double u = gsl_rng_uniform(r);
  int lo = 0, hi = n - 1;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (cdf[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

static void shuffle_strs(gsl_rng *r, char **v, int n) {
  for (int i = n - 1; i > 0; i--) {
    int j = pick(r, i + 1);
    char *t = v[i];
    v[i] = v[j];
    v[j] = t;
  }
}

// Takes ownership of the first `keep` of `cand` (frees the rest) in rank order.
static void pool_make(pool *pl, char **cand, int n_cand, int keep, double s, double weight,
                      double rare_share) {
  if (keep > n_cand) keep = n_cand;
  pl->n = keep;
  pl->v = xcalloc((size_t)keep, sizeof *pl->v);
  pl->cdf = xmalloc((size_t)keep * sizeof *pl->cdf);
  zipf_cdf(pl->cdf, keep, s);
  for (int k = 0; k < n_cand; k++) {
    if (k >= keep) { free(cand[k]); continue; }
    pl->v[k].text = cand[k];
    pl->v[k].share = weight * zipf_pmf(pl->cdf, k);
    pl->v[k].rare = pl->v[k].share < rare_share;
  }
}

static char *str_printf(const char *fmt, const char *a, const char *b) {
  strbuf sb;
  sb_init(&sb);
  sb_printf(&sb, fmt, a, b);
  return sb_detach(&sb);
}

static void build_pools(synth_world *w, gsl_rng *r, wordset *made) {
  const synth_params *p = &w->p;
  double held = p->pref_share;
  // openers: "Head, tail."
  int n = sw_n_opener_heads * sw_n_opener_tails, k = 0;
  char **c = xmalloc((size_t)n * sizeof *c);
  for (int i = 0; i < sw_n_opener_heads; i++)
    for (int j = 0; j < sw_n_opener_tails; j++)
      c[k++] = str_printf("%s, %s.", sw_opener_heads[i], sw_opener_tails[j]);
  shuffle_strs(r, c, n);
  pool_make(&w->pools[P_OPENER], c, n, p->pool_size, p->zipf_s, held, p->rare_share);
  free(c);
  // sign-offs: "Head, tail." where tails are address words and made-up first names
  int n_names = (p->pool_size + sw_n_signoff_heads - 1) / sw_n_signoff_heads;
  int n_tails = sw_n_signoff_tails + n_names;
  char **tails = xmalloc((size_t)n_tails * sizeof *tails);
  for (int j = 0; j < sw_n_signoff_tails; j++) tails[j] = xstrdup(sw_signoff_tails[j]);
  for (int j = 0; j < n_names; j++) {
    char *nm = xstrdup(fresh_word(r, made, ""));
    nm[0] = (char)toupper((unsigned char)nm[0]);
    tails[sw_n_signoff_tails + j] = nm;
  }
  n = sw_n_signoff_heads * n_tails, k = 0;
  c = xmalloc((size_t)n * sizeof *c);
  for (int i = 0; i < sw_n_signoff_heads; i++)
    for (int j = 0; j < n_tails; j++) c[k++] = str_printf("%s, %s.", sw_signoff_heads[i], tails[j]);
  for (int j = 0; j < n_tails; j++) free(tails[j]);
  free(tails);
  shuffle_strs(r, c, n);
  pool_make(&w->pools[P_SIGNOFF], c, n, p->pool_size, p->zipf_s, held, p->rare_share);
  free(c);
  // personas: "I got this for my sister."
  n = sw_n_persona_frames * sw_n_persona_targets, k = 0;
  c = xmalloc((size_t)n * sizeof *c);
  for (int i = 0; i < sw_n_persona_frames; i++)
    for (int j = 0; j < sw_n_persona_targets; j++)
      c[k++] = str_printf(sw_persona_frames[i], sw_persona_targets[j], NULL);
  shuffle_strs(r, c, n);
  pool_make(&w->pools[P_PERSONA], c, n, p->pool_size, p->zipf_s, held, p->rare_share);
  free(c);
  // pet words: real ones take the popular ranks, made-up slang ("-ly") the tail
  n = p->pool_size > sw_n_petwords ? p->pool_size : sw_n_petwords;
  c = xmalloc((size_t)n * sizeof *c);
  for (int j = 0; j < sw_n_petwords; j++) c[j] = xstrdup(sw_petwords[j]);
  shuffle_strs(r, c, sw_n_petwords);
  for (int j = sw_n_petwords; j < n; j++) c[j] = xstrdup(fresh_word(r, made, "ly"));
  double mean_pets = p->petwords_max > 0 ? (1.0 + p->petwords_max) / 2.0 : 0.0;
  pool_make(&w->pools[P_PETWORD], c, n, p->pool_size, p->zipf_s, held * mean_pets, p->rare_share);
  free(c);
  // aspects: a fixed set of 12, popularity order shuffled; text is the aspect keyword
  n = sw_n_aspects;
  c = xmalloc((size_t)n * sizeof *c);
  for (int j = 0; j < n; j++) c[j] = xstrdup(sw_aspects[j].kw);
  shuffle_strs(r, c, n);
  pool_make(&w->pools[P_ASPECT], c, n, n, p->zipf_s, held, p->rare_share);
  free(c);
  zipf_cdf(w->intens_cdf, 6, p->zipf_s);
}

static void build_items(synth_world *w, gsl_rng *r, wordset *made) {
  const synth_params *p = &w->p;
  char **brands = xmalloc((size_t)p->brands * sizeof *brands);
  for (int b = 0; b < p->brands; b++) brands[b] = fresh_word(r, made, "");
  w->items = xcalloc((size_t)p->items, sizeof *w->items);
  for (int i = 0; i < p->items; i++) {
    item *it = &w->items[i];
    it->cat = pick(r, sw_n_categories);
    const sw_category *cat = &sw_categories[it->cat];
    it->noun = pick(r, cat->n_nouns);
    it->feat[0] = pick(r, cat->n_features);
    it->feat[1] = (it->feat[0] + 1 + pick(r, cat->n_features - 1)) % cat->n_features;
    it->quality = 1.6 + 3.4 * pow(gsl_rng_uniform(r), 0.6);
    const char *brand = brands[pick(r, p->brands)];
    const char *model = sw_model_words[pick(r, sw_n_model_words)];
    strbuf sb;
    sb_init(&sb);
    sb_printf(&sb, "%c%s %s ", toupper((unsigned char)brand[0]), brand + 1, model);
    const char *noun = cat->nouns[it->noun];
    for (const char *q = noun; *q; q++)  // title case
      sb_printf(&sb, "%c", (q == noun || q[-1] == ' ') ? toupper((unsigned char)*q) : *q);
    it->title = sb_detach(&sb);
    const char *a0 = sw_desc_adjs[pick(r, sw_n_desc_adjs)];
    const char *a1 = sw_desc_adjs[pick(r, sw_n_desc_adjs)];
    const char *a2 = sw_desc_adjs[pick(r, sw_n_desc_adjs)];
    sb_init(&sb);
    sb_printf(&sb, "%s %s %s with %s %s and %s %s", strchr("aeiou", a0[0]) ? "An" : "A", a0, noun,
              a1, cat->features[it->feat[0]], a2, cat->features[it->feat[1]]);
    it->description = sb_detach(&sb);
  }
  free(brands);
  // group by category for category-preferring users
  w->cat_start = xcalloc((size_t)sw_n_categories + 1, sizeof *w->cat_start);
  w->cat_items = xmalloc((size_t)p->items * sizeof *w->cat_items);
  for (int i = 0; i < p->items; i++) w->cat_start[w->items[i].cat + 1]++;
  for (int c = 0; c < sw_n_categories; c++) w->cat_start[c + 1] += w->cat_start[c];
  int *fill = xcalloc((size_t)sw_n_categories, sizeof *fill);
  for (int i = 0; i < p->items; i++) {
    int c = w->items[i].cat;
    w->cat_items[w->cat_start[c] + fill[c]++] = i;
  }
  free(fill);
}

synth_world *synth_world_new(const synth_params *p) {
  const char *bad = synth_params_check(p);
  if (bad) error("synth_world_new: %s", bad);
  synth_world *w = xcalloc(1, sizeof *w);
  w->p = *p;
  gsl_rng *r = rng_for(p, 0);
  wordset made = {0};
  build_pools(w, r, &made);
  build_items(w, r, &made);
  for (size_t i = 0; i < made.n; i++) free(made.w[i]);
  free(made.w);
  gsl_rng_free(r);
  return w;
}

void synth_world_free(synth_world *w) {
  if (!w) return;
  for (int i = 0; i < w->p.items; i++) {
    free(w->items[i].title);
    free(w->items[i].description);
  }
  free(w->items);
  free(w->cat_items);
  free(w->cat_start);
  for (int k = 0; k < P_COUNT; k++) {
    for (int j = 0; j < w->pools[k].n; j++) free(w->pools[k].v[j].text);
    free(w->pools[k].v);
    free(w->pools[k].cdf);
  }
  free(w);
}

int synth_user_is_cold(const synth_params *p, int u) {
  return floor((u + 1.0) * p->cold_share) > floor((double)u * p->cold_share);
}

// ---- users -------------------------------------------------------------------------------------
// A held preference: the phrase as this user writes it (lowercased for lowercase writers).
typedef struct {
  int held;
  char *text;
  int rare;
} pref;

typedef struct {
  int cold, n_reviews;
  pref opener, signoff, persona, aspect, intens, habit;
  pref pets[4];
  int n_pets;
  int aspect_id, aspect_lead;  // index into sw_aspects / sw_aspect_leads
  int bias, length, habit_id;  // habit_id -1 when none
  int fav[2];
  int topic;                   // persona_topic_share > 0: the persona's category, else -1
  int start_day;               // days since 1970-01-01 of the first review
} user;

static void pref_set(pref *pr, const char *text, int rare, int lower) {
  pr->held = 1;
  pr->text = xstrdup(text);
  pr->rare = rare;
  if (lower)
    for (char *q = pr->text; *q; q++) *q = (char)tolower((unsigned char)*q);
}

static void pref_from_pool(pref *pr, const pool *pl, gsl_rng *r, int lower) {
  int k = zipf_draw(r, pl->cdf, pl->n);
  pref_set(pr, pl->v[k].text, pl->v[k].rare, lower);
}

static void user_make(const synth_world *w, int u, gsl_rng *r, user *us) {
  const synth_params *p = &w->p;
  memset(us, 0, sizeof *us);
  us->cold = synth_user_is_cold(p, u);
  us->n_reviews = p->reviews_min + pick(r, p->reviews_max - p->reviews_min + 1);
  us->habit_id = gsl_rng_uniform(r) < p->habit_share ? pick(r, H_COUNT) : -1;
  int lower = us->habit_id == H_LOWER;
  if (us->habit_id >= 0)
    pref_set(&us->habit, habit_text[us->habit_id], p->habit_share / H_COUNT < p->rare_share, 0);
  if (gsl_rng_uniform(r) < p->pref_share) pref_from_pool(&us->opener, &w->pools[P_OPENER], r, lower);
  if (gsl_rng_uniform(r) < p->pref_share) pref_from_pool(&us->signoff, &w->pools[P_SIGNOFF], r, lower);
  if (gsl_rng_uniform(r) < p->pref_share) pref_from_pool(&us->persona, &w->pools[P_PERSONA], r, lower);
  if (gsl_rng_uniform(r) < p->pref_share) {
    const pool *pl = &w->pools[P_ASPECT];
    int k = zipf_draw(r, pl->cdf, pl->n);
    pref_set(&us->aspect, pl->v[k].text, pl->v[k].rare, lower);
    for (int a = 0; a < sw_n_aspects; a++)
      if (!strcmp(sw_aspects[a].kw, pl->v[k].text)) us->aspect_id = a;
    us->aspect_lead = pick(r, sw_n_aspect_leads);
  }
  if (p->petwords_max > 0 && gsl_rng_uniform(r) < p->pref_share) {
    int want = 1 + pick(r, p->petwords_max > 4 ? 4 : p->petwords_max);
    const pool *pl = &w->pools[P_PETWORD];
    int ids[4];
    for (int tries = 0; us->n_pets < want && tries < 50; tries++) {
      int k = zipf_draw(r, pl->cdf, pl->n), dup = 0;
      for (int j = 0; j < us->n_pets; j++) dup |= ids[j] == k;
      if (dup) continue;
      ids[us->n_pets] = k;
      pref_set(&us->pets[us->n_pets++], pl->v[k].text, pl->v[k].rare, lower);
    }
  }
  // sentiment bias: shifts ratings and picks the user's intensifier word
  double b = gsl_rng_uniform(r);
  us->bias = b < bias_prob[0] ? 0 : b < bias_prob[0] + bias_prob[1] ? 1 : 2;
  int ki = zipf_draw(r, w->intens_cdf, 6);
  pref_set(&us->intens, sw_intensifiers[us->bias][ki],
           bias_prob[us->bias] * zipf_pmf(w->intens_cdf, ki) < p->rare_share, lower);
  us->length = 1 + pick(r, p->length_max);
  us->fav[0] = pick(r, sw_n_categories);
  us->fav[1] = (us->fav[0] + 1 + pick(r, sw_n_categories - 1)) % sw_n_categories;
  us->start_day = 16801 + pick(r, 1500);  // 2016-01-01 + up to ~4 years
  us->topic = -1;   // drawn last and only when asked: the default benchmark's bytes stay as they were
  if (p->persona_topic_share > 0) {
    do us->topic = pick(r, sw_n_categories);
    while (us->topic == us->fav[0] || us->topic == us->fav[1]);
  }
}

static void user_free(user *us) {
  pref *all[] = {&us->opener, &us->signoff, &us->persona, &us->aspect, &us->intens, &us->habit,
                 &us->pets[0], &us->pets[1], &us->pets[2], &us->pets[3]};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]->text);
}

// ---- reviews -----------------------------------------------------------------------------------
typedef struct {
  int start, end, kind, rare;
  const char *phrase;  // occurs inside [start, end) of the text
} span;

typedef struct {
  strbuf t;
  span *sp;
  int n, cap;
  int lower;           // lowercase writer: context capitals become 1-byte `case` spans
} review;

typedef struct {
  int item, rating, day;
  char *text;
  span *sp;
  int n_sp;
} written;

static const char *const letters[26] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k",
    "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z"};

static void rv_span(review *rv, int start, int kind, int rare, const char *phrase) {
  if (rv->n == rv->cap) {
    rv->cap = rv->cap ? 2 * rv->cap : 16;
    rv->sp = xrealloc(rv->sp, (size_t)rv->cap * sizeof *rv->sp);
  }
  rv->sp[rv->n++] = (span){start, (int)rv->t.len, kind, rare, phrase};
}

// Context text (item/rating driven). A leading space separates it from what came before.
static void rv_ctx(review *rv, const char *s) {
  if (rv->t.len && s[0] != ' ' && s[0] != '.' && s[0] != ',') sb_puts(&rv->t, " ");
  for (const char *q = s; *q; q++) {
    if (rv->lower && isupper((unsigned char)*q)) {
      int at = (int)rv->t.len;
      char ch = (char)tolower((unsigned char)*q);
      sb_append(&rv->t, &ch, 1);
      rv_span(rv, at, SK_CASE, 0, letters[ch - 'a']);
    } else {
      sb_append(&rv->t, q, 1);
    }
  }
}

// Preference text: the span includes the separating space before it (GPT-2 style tokens
// carry their leading space), never the one after it.
static void rv_pref(review *rv, const char *s, int kind, const pref *pr, int space) {
  int at = (int)rv->t.len;
  if (space && rv->t.len) sb_puts(&rv->t, " ");
  strbuf tmp;
  sb_init(&tmp);
  sb_puts(&tmp, s);
  if (rv->lower)
    for (size_t i = 0; i < tmp.len; i++) tmp.data[i] = (char)tolower((unsigned char)tmp.data[i]);
  sb_append(&rv->t, tmp.data, tmp.len);
  sb_free(&tmp);
  rv_span(rv, at, kind, pr->rare, pr->text);
}

// End of a context sentence: '.', or the user's punctuation habit.
static void rv_end(review *rv, const user *us, gsl_rng *r, double strength) {
  if ((us->habit_id == H_EXCLAIM || us->habit_id == H_ELLIPSIS) && gsl_rng_uniform(r) < strength)
    rv_pref(rv, habit_text[us->habit_id], SK_HABIT, &us->habit, 0);
  else
    sb_puts(&rv->t, ".");
}

static int polarity(int rating) { return rating <= 2 ? 0 : rating == 3 ? 1 : 2; }

static void write_review(const synth_world *w, const user *us, gsl_rng *r, const item *it,
                         int rating, review *rv) {
  const synth_params *p = &w->p;
  const sw_category *cat = &sw_categories[it->cat];
  double st = p->pref_strength;
  int pol = polarity(rating);
  char buf[256];
  if (us->opener.held && gsl_rng_uniform(r) < st) rv_pref(rv, us->opener.text, SK_OPENER, &us->opener, 1);
  int persona_here = us->topic < 0 || it->cat == us->topic;   // persona_topic_share: its topic only
  if (us->persona.held && persona_here && gsl_rng_uniform(r) < st) rv_pref(rv, us->persona.text, SK_PERSONA, &us->persona, 1);
  // overall sentence: "This kettle is [intensifier] good."
  snprintf(buf, sizeof buf, sw_rating_frames[pick(r, sw_n_rating_frames)], cat->nouns[it->noun]);
  rv_ctx(rv, buf);
  if (gsl_rng_uniform(r) < st) rv_pref(rv, us->intens.text, SK_SENTIMENT, &us->intens, 1);
  rv_ctx(rv, sw_rating_adjs[rating - 1][pick(r, 6)]);
  rv_end(rv, us, r, st);
  // feature sentences: "The lid feels [pet word] sturdy."; count = the user's length preference
  int pet_at = us->n_pets && gsl_rng_uniform(r) < st ? pick(r, us->length) : -1;
  for (int s = 0; s < us->length; s++) {
    int f = gsl_rng_uniform(r) < 0.75 ? it->feat[s % 2] : pick(r, cat->n_features);
    const char *fn = cat->features[f];
    size_t fl = strlen(fn);
    int plural = fn[fl - 1] == 's' && fn[fl - 2] != 's';  // "buttons" but not "glass"
    const int vi = pick(r, sw_n_feature_verbs);
    snprintf(buf, sizeof buf, "The %s %s", fn, plural ? sw_feature_verbs_pl[vi] : sw_feature_verbs[vi]);
    rv_ctx(rv, buf);
    if (s == pet_at) {
      const pref *pw = &us->pets[pick(r, us->n_pets)];
      rv_pref(rv, pw->text, SK_PETWORD, pw, 1);
    }
    rv_ctx(rv, sw_feature_adjs[pol][pick(r, 8)]);
    rv_end(rv, us, r, st);
  }
  if (gsl_rng_uniform(r) < 0.5) {  // use sentence (context)
    snprintf(buf, sizeof buf, sw_use_frames[pol][pick(r, 3)], cat->uses[pick(r, cat->n_uses)]);
    rv_ctx(rv, buf);
    rv_end(rv, us, r, st);
  }
  if (us->aspect.held && gsl_rng_uniform(r) < st) {
    const sw_aspect *a = &sw_aspects[us->aspect_id];
    snprintf(buf, sizeof buf, "%s %s, and %s %s.", sw_aspect_leads[us->aspect_lead], a->kw, a->pron,
             a->pred[pol]);
    rv_pref(rv, buf, SK_ASPECT, &us->aspect, 1);
  }
  if (us->signoff.held && gsl_rng_uniform(r) < st) rv_pref(rv, us->signoff.text, SK_SIGNOFF, &us->signoff, 1);
  if (us->habit_id >= H_SMILE && us->habit_id <= H_WINK && gsl_rng_uniform(r) < st)
    rv_pref(rv, us->habit.text, SK_HABIT, &us->habit, 1);
}

static int choose_item(const synth_world *w, const user *us, gsl_rng *r, const written *prev, int n_prev) {
  int it = 0;
  for (int tries = 0; tries < 20; tries++) {
    if (us->topic >= 0 && gsl_rng_uniform(r) < w->p.persona_topic_share) {
      int c = us->topic, n = w->cat_start[c + 1] - w->cat_start[c];
      it = n ? w->cat_items[w->cat_start[c] + pick(r, n)] : pick(r, w->p.items);
    } else if (gsl_rng_uniform(r) < 0.7) {
      int c = us->fav[pick(r, 2)];
      int n = w->cat_start[c + 1] - w->cat_start[c];
      it = n ? w->cat_items[w->cat_start[c] + pick(r, n)] : pick(r, w->p.items);
    } else {
      it = pick(r, w->p.items);
    }
    int seen = 0;
    for (int j = 0; j < n_prev; j++) seen |= prev[j].item == it;
    if (!seen) break;
  }
  return it;
}

// ---- JSONL output --------------------------------------------------------------------------------
static void json_str(strbuf *b, const char *s) {
  sb_puts(b, "\"");
  for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
    if (*q == '"' || *q == '\\') {
      char e[2] = {'\\', (char)*q};
      sb_append(b, e, 2);
    } else if (*q < 0x20) {
      sb_printf(b, "\\u%04x", *q);
    } else {
      sb_append(b, (const char *)q, 1);
    }
  }
  sb_puts(b, "\"");
}

static void json_pref(strbuf *b, const char *key, const pref *pr) {
  sb_printf(b, ",\"%s\":", key);
  if (pr->held) json_str(b, pr->text);
  else sb_puts(b, "null");
}

static void format_date(int day, char out[32]) {
  // days since 1970-01-01 -> civil date (H. Hinnant's algorithm)
  int z = day + 719468, era = z / 146097, doe = z - era * 146097;
  int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  int d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
  snprintf(out, 32, "%04d-%02d-%02d", y + (m <= 2), m, d);
}

static void json_sample(strbuf *b, const synth_world *w, int u, const user *us, const written *rv,
                        int i, int split) {
  const written *cur = &rv[i];
  const item *it = &w->items[cur->item];
  char date[32];
  sb_printf(b, "{\"id\":\"u%05d-r%02d\",\"user_id\":\"u%05d\",\"split\":\"%s\",\"input\":", u, i, u,
            split_names[split]);
  strbuf q;
  sb_init(&q);
  sb_printf(&q, "Write a review for %s: %s. Rating: %d", it->title, it->description, cur->rating);
  json_str(b, q.data);
  sb_free(&q);
  sb_puts(b, ",\"output\":");
  json_str(b, cur->text);
  sb_puts(b, ",\"profile\":[");
  for (int j = 0; j < i; j++) {
    const item *pj = &w->items[rv[j].item];
    format_date(rv[j].day, date);
    sb_printf(b, "%s{\"item_id\":\"i%05d\",\"title\":", j ? "," : "", rv[j].item);
    json_str(b, pj->title);
    sb_printf(b, ",\"category\":\"%s\",\"rating\":%d,\"date\":\"%s\",\"text\":",
              sw_categories[pj->cat].name, rv[j].rating, date);
    json_str(b, rv[j].text);
    sb_puts(b, "}");
  }
  sb_puts(b, "],\"pref_spans\":[");
  for (int s = 0; s < cur->n_sp; s++) sb_printf(b, "%s[%d,%d]", s ? "," : "", cur->sp[s].start, cur->sp[s].end);
  sb_puts(b, "],\"pref_decisive\":[");
  for (int s = 0; s < cur->n_sp; s++) {   // each span's first word: what the history decides
    int a = cur->sp[s].start, e = a;
    while (e < cur->sp[s].end && cur->text[e] == ' ') e++;
    while (e < cur->sp[s].end && cur->text[e] != ' ') e++;
    sb_printf(b, "%s[%d,%d]", s ? "," : "", a, e);
  }
  sb_puts(b, "],\"pref_kinds\":[");
  for (int s = 0; s < cur->n_sp; s++) sb_printf(b, "%s\"%s\"", s ? "," : "", kind_names[cur->sp[s].kind]);
  sb_puts(b, "],\"pref_rare\":[");
  for (int s = 0; s < cur->n_sp; s++) sb_printf(b, "%s%s", s ? "," : "", cur->sp[s].rare ? "true" : "false");
  sb_puts(b, "],\"pref_phrases\":[");
  for (int s = 0; s < cur->n_sp; s++) {
    if (s) sb_puts(b, ",");
    json_str(b, cur->sp[s].phrase);
  }
  format_date(cur->day, date);
  sb_printf(b, "],\"item_id\":\"i%05d\",\"title\":", cur->item);
  json_str(b, it->title);
  sb_printf(b, ",\"category\":\"%s\",\"description\":", sw_categories[it->cat].name);
  json_str(b, it->description);
  sb_printf(b, ",\"rating\":%d,\"date\":\"%s\",\"user_prefs\":{\"cold\":%s", cur->rating, date,
            us->cold ? "true" : "false");
  json_pref(b, "opener", &us->opener);
  json_pref(b, "persona", &us->persona);
  json_pref(b, "aspect", &us->aspect);
  json_pref(b, "signoff", &us->signoff);
  sb_puts(b, ",\"petwords\":[");
  for (int k = 0; k < us->n_pets; k++) {
    if (k) sb_puts(b, ",");
    json_str(b, us->pets[k].text);
  }
  static const char *const bias_names[3] = {"negative", "neutral", "positive"};
  sb_printf(b, "],\"sentiment\":\"%s\"", bias_names[us->bias]);
  json_pref(b, "intensifier", &us->intens);
  sb_printf(b, ",\"length\":%d", us->length);
  json_pref(b, "habit", &us->habit);
  if (us->topic >= 0) sb_printf(b, ",\"persona_topic\":\"%s\"", sw_categories[us->topic].name);
  sb_puts(b, "}}\n");
}

void synth_user_jsonl(const synth_world *w, int u, strbuf *out, synth_stats *st) {
  const synth_params *p = &w->p;
  gsl_rng *r = rng_for(p, (uint64_t)u + 1);
  user us;
  user_make(w, u, r, &us);
  written *rv = xcalloc((size_t)us.n_reviews, sizeof *rv);
  int day = us.start_day;
  for (int i = 0; i < us.n_reviews; i++) {
    written *cur = &rv[i];
    cur->item = choose_item(w, &us, r, rv, i);
    const item *it = &w->items[cur->item];
    double x = it->quality + bias_shift[us.bias] + gsl_ran_gaussian(r, 0.7);
    cur->rating = x < 1.5 ? 1 : x >= 4.5 ? 5 : (int)lround(x);
    cur->day = day;
    day += 1 + pick(r, 45);
    review w1 = {.lower = us.habit_id == H_LOWER};
    sb_init(&w1.t);
    write_review(w, &us, r, it, cur->rating, &w1);
    cur->text = sb_detach(&w1.t);
    cur->sp = w1.sp;
    cur->n_sp = w1.n;
  }
  for (int i = 0; i < us.n_reviews; i++) {
    int split = i == us.n_reviews - 1 ? 2 : i == us.n_reviews - 2 ? 1 : 0;
    if (split == 0 && (us.cold || i < p->min_profile)) continue;
    json_sample(out, w, u, &us, rv, i, split);
    if (!st) continue;
    st->samples[split]++;
    size_t len = strlen(rv[i].text);
    st->output_bytes += len;
    for (size_t k = 0; k < len; k++)
      st->output_words += rv[i].text[k] != ' ' && (k == 0 || rv[i].text[k - 1] == ' ');
    for (int s = 0; s < rv[i].n_sp; s++) {
      st->pref_bytes += (size_t)(rv[i].sp[s].end - rv[i].sp[s].start);
      st->spans++;
      st->spans_rare += rv[i].sp[s].rare != 0;
    }
  }
  if (st) st->users_cold += (size_t)us.cold;
  for (int i = 0; i < us.n_reviews; i++) {
    free(rv[i].text);
    free(rv[i].sp);
  }
  free(rv);
  user_free(&us);
  gsl_rng_free(r);
}
