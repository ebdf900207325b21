// WordNet 3.0 lookups the way NLTK's WordNetCorpusReader does them (nltk 3.8,
// corpus/reader/wordnet.py): index.<pos> gives lemma -> synset offsets, *.exc the
// morphological exceptions, data.<pos> the synset lines whose lemma names we return.
// We read Debian's database files directly (not libwordnet's morphstr(), whose rules
// and exception handling differ from NLTK's _morphy).
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "metrics/metrics.h"
#include "base/util.h"

static const char POS_CH[4] = {'n', 'v', 'a', 'r'};
static const char *POS_NAME[4] = {"noun", "verb", "adj", "adv"};

// ---- a string-keyed open-addressing hash map ---------------------------------------------
typedef struct { const char *key; void *val; } slot;
typedef struct { slot *s; size_t cap, n; } hmap;

static void hm_init(hmap *h) { h->cap = 1024; h->n = 0; h->s = xcalloc(h->cap, sizeof *h->s); }

static size_t hm_find(const hmap *h, const char *key) {
  size_t i = (size_t)fnv1a64(key, strlen(key)) & (h->cap - 1);
  while (h->s[i].key && strcmp(h->s[i].key, key) != 0) i = (i + 1) & (h->cap - 1);
  return i;
}

static void *hm_get(const hmap *h, const char *key) {
  size_t i = hm_find(h, key);
  return h->s[i].key ? h->s[i].val : NULL;
}

static void hm_put(hmap *h, const char *key, void *val) {
  if (2 * (h->n + 1) > h->cap) {
    hmap g = {xcalloc(2 * h->cap, sizeof(slot)), 2 * h->cap, 0};
    for (size_t i = 0; i < h->cap; i++)
      if (h->s[i].key) { g.s[hm_find(&g, h->s[i].key)] = h->s[i]; g.n++; }
    free(h->s);
    *h = g;
  }
  size_t i = hm_find(h, key);
  if (!h->s[i].key) h->n++;
  h->s[i].key = key;
  h->s[i].val = val;
}

// ---- the database -------------------------------------------------------------------------
typedef struct {
  long *off[4];  // synset offsets per POS (NULL: lemma absent in that POS)
  int n[4];
} lemma_entry;

struct wordnet {
  char *index_text[4], *exc_text[4], *data[4];
  size_t data_len[4];
  hmap lemmas;     // lemma -> lemma_entry*
  hmap exc[4];     // inflected form -> NULL-terminated char*[] of base forms
};

static char *read_db(const char *dir, const char *name, size_t *len) {
  char *path = path_join(dir, name);
  size_t n = 0;
  char *t = read_file(path, &n);
  if (!t) fatal("%s: cannot read the WordNet database file (install wordnet-base)", path);
  free(path);
  if (len) *len = n;
  return t;
}

static void load_index(wordnet *wn, int p) {
  char *t = wn->index_text[p];
  for (char *line = t, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    if (line[0] == ' ' || !line[0]) continue;  // license header
    char *save = NULL;
    char *lemma = strtok_r(line, " ", &save);
    strtok_r(NULL, " ", &save);  // pos
    char *tok = strtok_r(NULL, " ", &save);
    int n_syn = tok ? atoi(tok) : 0;
    tok = strtok_r(NULL, " ", &save);
    int n_ptr = tok ? atoi(tok) : -1;
    for (int k = 0; k < n_ptr; k++) strtok_r(NULL, " ", &save);
    strtok_r(NULL, " ", &save);  // sense_cnt
    strtok_r(NULL, " ", &save);  // tagsense_cnt
    if (n_syn <= 0 || n_ptr < 0) fatal("index.%s: malformed line for '%s'", POS_NAME[p], lemma);
    lemma_entry *e = hm_get(&wn->lemmas, lemma);
    if (!e) { e = xcalloc(1, sizeof *e); hm_put(&wn->lemmas, lemma, e); }
    e->off[p] = xmalloc((size_t)n_syn * sizeof(long));
    e->n[p] = n_syn;
    for (int k = 0; k < n_syn; k++) {
      tok = strtok_r(NULL, " ", &save);
      if (!tok) fatal("index.%s: '%s' lists fewer offsets than %d", POS_NAME[p], lemma, n_syn);
      e->off[p][k] = atol(tok);
    }
  }
}

static void load_exc(wordnet *wn, int p) {
  hm_init(&wn->exc[p]);
  for (char *line = wn->exc_text[p], *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    char *save = NULL, *form = strtok_r(line, " ", &save);
    if (!form) continue;
    size_t cap = 4, n = 0;
    char **bases = xmalloc(cap * sizeof *bases);
    for (char *b; (b = strtok_r(NULL, " ", &save)) != NULL;) {
      if (n + 1 >= cap) bases = xrealloc(bases, (cap *= 2) * sizeof *bases);
      bases[n++] = b;
    }
    bases[n] = NULL;
    char **old = hm_get(&wn->exc[p], form);
    free(old);  // a later line for the same form wins, as in NLTK's dict
    hm_put(&wn->exc[p], form, bases);
  }
}

wordnet *wordnet_open(const char *dir) {
  if (!dir) dir = getenv("NQ_WORDNET_DIR");
  if (!dir || !*dir) dir = "/usr/share/wordnet";
  wordnet *wn = xcalloc(1, sizeof *wn);
  hm_init(&wn->lemmas);
  for (int p = 0; p < 4; p++) {
    char name[32];
    snprintf(name, sizeof name, "index.%s", POS_NAME[p]);
    wn->index_text[p] = read_db(dir, name, NULL);
    snprintf(name, sizeof name, "%s.exc", POS_NAME[p]);
    wn->exc_text[p] = read_db(dir, name, NULL);
    snprintf(name, sizeof name, "data.%s", POS_NAME[p]);
    wn->data[p] = read_db(dir, name, &wn->data_len[p]);
    load_index(wn, p);
    load_exc(wn, p);
  }
  return wn;
}

void wordnet_free(wordnet *wn) {
  if (!wn) return;
  for (size_t i = 0; i < wn->lemmas.cap; i++) {
    lemma_entry *e = wn->lemmas.s[i].val;
    if (!wn->lemmas.s[i].key) continue;
    for (int p = 0; p < 4; p++) free(e->off[p]);
    free(e);
  }
  free(wn->lemmas.s);
  for (int p = 0; p < 4; p++) {
    for (size_t i = 0; i < wn->exc[p].cap; i++)
      if (wn->exc[p].s[i].key) free(wn->exc[p].s[i].val);
    free(wn->exc[p].s);
    free(wn->index_text[p]);
    free(wn->exc_text[p]);
    free(wn->data[p]);
  }
  free(wn);
}

// ---- morphy ----------------------------------------------------------------------------------
typedef struct { const char *old, *rep; } subst;
static const subst SUB_N[] = {{"s", ""},     {"ses", "s"},   {"ves", "f"},   {"xes", "x"}, {"zes", "z"},
                              {"ches", "ch"}, {"shes", "sh"}, {"men", "man"}, {"ies", "y"}};
static const subst SUB_V[] = {{"s", ""},   {"ies", "y"}, {"es", "e"},  {"es", ""},
                              {"ed", "e"}, {"ed", ""},   {"ing", "e"}, {"ing", ""}};
static const subst SUB_A[] = {{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}};

static int has_pos(const wordnet *wn, const char *form, int p) {
  lemma_entry *e = hm_get(&wn->lemmas, form);
  return e && e->off[p];
}

static int in_list(const nq_tokens *t, const char *s) {
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->tok[i], s) == 0) return 1;
  return 0;
}

// filter_forms: keep forms in the database for POS p, first occurrence order
static void filter_forms(const wordnet *wn, const nq_tokens *forms, int p, nq_tokens *out) {
  for (size_t i = 0; i < forms->n; i++)
    if (has_pos(wn, forms->tok[i], p) && !in_list(out, forms->tok[i]))
      tokens_push(out, forms->tok[i], strlen(forms->tok[i]));
}

static void apply_rules(const nq_tokens *forms, int p, nq_tokens *out) {
  const subst *s = p == 0 ? SUB_N : p == 1 ? SUB_V : SUB_A;
  size_t ns = p == 0 ? 9 : p == 1 ? 8 : p == 2 ? 4 : 0;
  tokens_init(out);
  for (size_t i = 0; i < forms->n; i++) {
    const char *f = forms->tok[i];
    size_t fl = strlen(f);
    for (size_t k = 0; k < ns; k++) {
      size_t ol = strlen(s[k].old), rl = strlen(s[k].rep);
      if (fl < ol || strcmp(f + fl - ol, s[k].old) != 0) continue;
      char *w = xmalloc(fl - ol + rl + 1);
      memcpy(w, f, fl - ol);
      memcpy(w + fl - ol, s[k].rep, rl + 1);
      tokens_push(out, w, fl - ol + rl);
      free(w);
    }
  }
}

static int pos_index(char pos) {
  for (int p = 0; p < 4; p++)
    if (POS_CH[p] == pos) return p;
  error("wordnet_morphy: unknown part of speech '%c'", pos);
}

void wordnet_morphy(wordnet *wn, const char *form, char pos, nq_tokens *out) {
  int p = pos_index(pos);
  tokens_init(out);
  nq_tokens cand;
  tokens_init(&cand);
  tokens_push(&cand, form, strlen(form));
  char **exc = hm_get(&wn->exc[p], form);
  if (exc) {
    for (char **b = exc; *b; b++) tokens_push(&cand, *b, strlen(*b));
    filter_forms(wn, &cand, p, out);
    tokens_free(&cand);
    return;
  }
  nq_tokens forms;
  apply_rules(&cand, p, &forms);
  for (size_t i = 0; i < forms.n; i++) tokens_push(&cand, forms.tok[i], strlen(forms.tok[i]));
  filter_forms(wn, &cand, p, out);
  tokens_free(&cand);
  // keep applying the rules until something is in the database (rules only shorten words)
  while (out->n == 0 && forms.n > 0) {
    nq_tokens next;
    apply_rules(&forms, p, &next);
    tokens_free(&forms);
    forms = next;
    filter_forms(wn, &forms, p, out);
  }
  tokens_free(&forms);
}

// ---- synonyms --------------------------------------------------------------------------------
// Lemma names of the synset at `off` in data.<pos>; the syntactic marker "(a)", "(p)",
// "(ip)" is cut as NLTK's re.match(r"(.*?)(\(.*\))?$") does.
static void synset_lemmas(const wordnet *wn, int p, long off, nq_tokens *out) {
  if (off < 0 || (size_t)off >= wn->data_len[p]) fatal("data.%s: synset offset %ld out of range", POS_NAME[p], off);
  const char *line = wn->data[p] + off;
  const char *end = strchr(line, '\n');
  if (!end) end = line + strlen(line);
  if (atol(line) != off) fatal("data.%s: no synset at offset %ld", POS_NAME[p], off);
  char *copy = strndup(line, (size_t)(end - line));
  if (!copy) error("strndup failed");
  char *save = NULL;
  strtok_r(copy, " ", &save);  // offset
  strtok_r(NULL, " ", &save);  // lex_filenum
  strtok_r(NULL, " ", &save);  // ss_type
  char *tok = strtok_r(NULL, " ", &save);
  long w_cnt = tok ? strtol(tok, NULL, 16) : 0;
  for (long k = 0; k < w_cnt; k++) {
    char *name = strtok_r(NULL, " ", &save);
    strtok_r(NULL, " ", &save);  // lex_id
    if (!name) fatal("data.%s: synset %ld is truncated", POS_NAME[p], off);
    size_t len = strlen(name);
    char *paren = strchr(name, '(');
    if (paren && len > 0 && name[len - 1] == ')') len = (size_t)(paren - name);
    if (memchr(name, '_', len)) continue;
    char *n = strndup(name, len);
    if (!n) error("strndup failed");
    if (!in_list(out, n)) tokens_push(out, n, len);
    free(n);
  }
  free(copy);
}

void wordnet_synonyms(wordnet *wn, const char *word, nq_tokens *out) {
  tokens_init(out);
  // synsets() lowercases the lemma it looks up
  char *low = xstrdup(word);
  for (char *c = low; *c; c++)
    if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
  for (int p = 0; p < 4; p++) {
    nq_tokens forms;
    wordnet_morphy(wn, low, POS_CH[p], &forms);
    for (size_t i = 0; i < forms.n; i++) {
      lemma_entry *e = hm_get(&wn->lemmas, forms.tok[i]);
      for (int k = 0; k < e->n[p]; k++) synset_lemmas(wn, p, e->off[p][k], out);
    }
    tokens_free(&forms);
  }
  free(low);
  if (!in_list(out, word)) tokens_push(out, word, strlen(word));
}
