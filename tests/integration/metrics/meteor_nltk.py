"""METEOR parity: our C metrics (via metrics_driver) against NLTK run under /usr/bin/python3.

NLTK reads Debian's WordNet 3.0 files (/usr/share/wordnet): WordNetCorpusReader only needs a
directory with the database files under their usual names plus a `lexnames` file, which
Debian does not ship, so we write it (45 lines, index<TAB>name<TAB>pos; only the count and
order matter for METEOR). Checks, each printing `ok NAME` or `not ok NAME: why`:
  stem      NLTK PorterStemmer() vs porter_stem_nltk on every WordNet lemma + inflections
  synonyms  lemma-name sets of wn.synsets(w) vs wordnet_synonyms on inflected/odd words
  meteor    meteor_score([ref], hyp) vs meteor_text on >= 200 generated pairs, |diff| <= 1e-3
  tokenizers  rouge_tokenize (with/without stemming) and bleu_tokenize_13a against the
            reference packages' regexes, re-stated below from rouge/tokenize.py and
            sacrebleu/tokenizers/tokenizer_13a.py + tokenizer_re.py (neither package is in
            Debian), on random text with Unicode letters, Unicode spaces and HTML entities
Usage: meteor_nltk.py DRIVER WORKDIR
"""
import os
import random
import re
import subprocess
import sys
import warnings

warnings.simplefilter("ignore")

from nltk.corpus.reader.wordnet import WordNetCorpusReader  # noqa: E402
from nltk.stem.porter import PorterStemmer  # noqa: E402
from nltk.translate.meteor_score import meteor_score  # noqa: E402

LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute "
    "noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group "
    "noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant "
    "noun.possession noun.process noun.quantity noun.relation noun.shape noun.state "
    "noun.substance noun.time verb.body verb.change verb.cognition verb.communication "
    "verb.competition verb.consumption verb.contact verb.creation verb.emotion verb.motion "
    "verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()
WN_DIR = os.environ.get("NQ_WORDNET_DIR", "/usr/share/wordnet")

fails = 0


def report(name, bad, why):
    global fails
    if bad:
        fails += 1
        print(f"not ok {name}: {why}")
    else:
        print(f"ok {name}")


def make_wordnet(work):
    d = os.path.join(work, "nltk_data", "corpora", "wordnet")
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(WN_DIR):
        link = os.path.join(d, f)
        if not os.path.lexists(link):
            os.symlink(os.path.join(WN_DIR, f), link)
    with open(os.path.join(d, "lexnames"), "w") as fp:
        for i, n in enumerate(LEXNAMES):
            fp.write("%02d\t%s\t%d\n" % (i, n, {"adj": 3, "adv": 4, "noun": 1, "verb": 2}[n.split(".")[0]]))
    return WordNetCorpusReader(d, None)


def run_driver(driver, mode, lines):
    out = subprocess.run([driver, mode], input="\n".join(lines) + "\n", capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"driver {mode} failed: {out.stderr.strip()[:300]}")
    return out.stdout.split("\n")[: len(lines)]


def wordnet_lemmas():
    words = set()
    for suffix in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(WN_DIR, "index." + suffix)) as fp:
            for line in fp:
                if not line.startswith(" "):
                    w = line.split(" ", 1)[0]
                    if w.isalpha():
                        words.add(w)
    return sorted(words)


def inflect(w):
    return [w + "s", w + "es", w + "ed", w + "ing", w + "ly", w + "er", w + "est", w + "ness"]


# Sentence material: synonym groups (WordNet stage), inflections (stem stage), function words.
SYN = [["big", "large", "huge"], ["quick", "fast", "speedy"], ["car", "automobile", "auto"],
       ["buy", "purchase", "bought"], ["begin", "start", "commence"], ["happy", "glad", "felicitous"],
       ["small", "little", "minor"], ["book", "volume", "books"], ["house", "home", "household"],
       ["say", "tell", "said"], ["film", "movie", "picture"], ["shop", "store", "stores"],
       ["child", "kid", "children"], ["road", "route", "roads"], ["smart", "clever", "bright"],
       ["sick", "ill", "unwell"], ["answer", "reply", "response"], ["help", "aid", "assist"],
       ["end", "finish", "terminate"], ["rich", "wealthy", "affluent"], ["story", "tale", "narrative"]]
STEMS = [["run", "runs", "running", "ran"], ["walk", "walked", "walking", "walks"],
         ["read", "reads", "reading", "reader"], ["love", "loved", "loving", "lovely"],
         ["play", "played", "plays", "player"], ["day", "days", "daily"],
         ["write", "writes", "writing", "written", "wrote"], ["study", "studies", "studied", "studying"],
         ["happy", "happiness", "happily"], ["connect", "connected", "connection", "connections"],
         ["generous", "generously", "generosity"], ["relate", "related", "relational", "relation"]]
FILLER = ["the", "a", "an", "of", "to", "in", "on", "and", "with", "for", "is", "was", "it",
          "this", "that", "very", "really", "my", "her", "his", "their", "at", "by", ".", ",", "!"]


def gen_pairs(rng, n, lemmas):
    pairs = []
    for k in range(n):
        length = rng.randint(1 if k % 25 else 0, 18)
        ref = []
        for _ in range(length):
            r = rng.random()
            if r < 0.3:
                ref.append(rng.choice(rng.choice(SYN)))
            elif r < 0.55:
                ref.append(rng.choice(rng.choice(STEMS)))
            elif r < 0.65:
                ref.append(rng.choice(lemmas))
            else:
                ref.append(rng.choice(FILLER))
        hyp = []
        for w in ref:
            r = rng.random()
            group = next((g for g in SYN + STEMS if w in g), None)
            if r < 0.12:
                continue  # drop
            if r < 0.45 and group:
                hyp.append(rng.choice(group))  # synonym or other inflection
            elif r < 0.55:
                hyp.append(w.upper() if rng.random() < 0.5 else w.capitalize())
            else:
                hyp.append(w)
            if rng.random() < 0.08:
                hyp.append(rng.choice(FILLER + [w]))  # insertion / repetition
        if len(hyp) > 3 and rng.random() < 0.5:  # reorder a span
            i, j = sorted(rng.sample(range(len(hyp)), 2))
            hyp[i:j] = reversed(hyp[i:j]) if rng.random() < 0.5 else hyp[j - 1:j] + hyp[i:j - 1]
        if k % 40 == 7:
            hyp = []
        if k % 40 == 13:
            hyp = ["zzz", "qqq"]
        pairs.append((hyp, ref))
    return pairs


# rouge_score tokenize.tokenize (stemmer: nltk PorterStemmer() when use_stemmer)
def rouge_tokenize_ref(text, stemmer):
    text = re.sub(r"[^a-z0-9]+", " ", text.lower())
    tokens = re.split(r"\s+", text)
    if stemmer:
        tokens = [stemmer.stem(x) if len(x) > 3 else x for x in tokens]
    return [x for x in tokens if re.match(r"^[a-z0-9]+$", x)]


# sacreBLEU BLEU._preprocess_segment (no lowercase) + Tokenizer13a + TokenizerRegexp
_13A = [(re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),
        (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
        (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
        (re.compile(r"([0-9])(-)"), r"\1 \2 ")]


def bleu_tokenize_ref(line):
    line = line.rstrip()
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = f" {line} "
    for r, repl in _13A:
        line = r.sub(repl, line)
    return line.split()


PIECES = (list("abcXYZ019 .,-'\"&;:/()[]{}<>!?@#$%^*_+=|~`\\") + ["\n", "\t", "\r", "  ", "-\n"] +
          ["&quot;", "&amp;", "&lt;", "&gt;", "&amp;quot;", "<skipped>", "3.14", "1,000", "5-4", "e.g.",
           "caf\u00e9", "zah\u0103r", "\u0130stanbul", "\u212a", "\u00df", "\u4e2d\u6587", "\U0001f600",
           "\u00a0", "\u2003", "\u3000", "\u0085", "\x1c", "\u2028", "running", "Generously", "dying"])


def fuzz_texts(rng, n):
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 30))) for _ in range(n)]


def run_driver_bytes(driver, mode, texts):
    esc = [t.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t") for t in texts]
    out = subprocess.run([driver, mode], input=("\n".join(esc) + "\n").encode("utf-8"),
                         capture_output=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"driver {mode} failed: {out.stderr.decode(errors='replace')[:300]}")
    lines = out.stdout.decode("utf-8").split("\n")[: len(texts)]
    return [l.split("\x01") if l else [] for l in lines]


def check_tokenizers(driver, rng):
    texts = fuzz_texts(rng, 3000)
    ps = PorterStemmer()
    for mode, ref in (("rouge_tok", lambda t: rouge_tokenize_ref(t, None)),
                      ("rouge_tok_stem", lambda t: rouge_tokenize_ref(t, ps)),
                      ("bleu_tok", bleu_tokenize_ref)):
        got = run_driver_bytes(driver, mode, texts)
        bad = [(t, g, e) for t, g, e in zip(texts, got, map(ref, texts)) if g != e]
        report(f"metrics_{mode}_parity", bad, f"{len(bad)}/{len(texts)} differ, e.g. {bad[:2]!r}"[:600])


def main():
    driver, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    wn = make_wordnet(work)
    rng = random.Random(20260527)
    lemmas = wordnet_lemmas()

    # stems
    ps = PorterStemmer()
    words = lemmas + [x for w in rng.sample(lemmas, 4000) for x in inflect(w)]
    words += ["dying", "lying", "skies", "news", "innings", "dies", "tied", "cried", "sky", "y",
              "ab", "generously", "fulli", "analogi", "rational", "succeeding", "hopping"]
    want = [ps.stem(w) for w in words]
    got = run_driver(driver, "stem", words)
    bad = [(w, g, e) for w, g, e in zip(words, got, want) if g != e]
    report("meteor_stem_parity", bad, f"{len(bad)}/{len(words)} differ, e.g. {bad[:5]}")

    # synonyms
    probe = rng.sample(lemmas, 1500)
    probe += [x for w in rng.sample(lemmas, 300) for x in inflect(w)[:4]]
    probe += ["ran", "better", "geese", "children", "was", "dogs", "mice", "best", "went", "xyzzy",
              "Dog", "united_states", "a", "i", "s", "abaci", "oxen", "writting", "feet"]
    want = []
    for w in probe:
        syn = set(l.name() for s in wn.synsets(w) for l in s.lemmas() if l.name().find("_") < 0)
        want.append(" ".join(sorted(syn | {w})))
    got = run_driver(driver, "synonyms", probe)
    bad = [(w, g[:80], e[:80]) for w, g, e in zip(probe, got, want) if g != e]
    report("meteor_synonym_parity", bad, f"{len(bad)}/{len(probe)} differ, e.g. {bad[:3]}")

    check_tokenizers(driver, rng)

    # METEOR
    pairs = gen_pairs(rng, 400, lemmas[::50])
    want = [meteor_score([ref], hyp, wordnet=wn) for hyp, ref in pairs]
    got = [float(x) for x in run_driver(driver, "meteor", [" ".join(h) + "\t" + " ".join(r) for h, r in pairs])]
    diffs = [abs(g - e) for g, e in zip(got, want)]
    worst = max(range(len(pairs)), key=lambda i: diffs[i])
    nonzero = sum(1 for e in want if 0 < e < 1)
    report("meteor_nltk_parity", diffs[worst] > 1e-3 or len(pairs) < 200,
           f"max |diff| {diffs[worst]:.3g} on hyp={pairs[worst][0]} ref={pairs[worst][1]}: "
           f"ours {got[worst]:.6f} nltk {want[worst]:.6f}")
    # a test that cannot fail is worthless: the pairs must exercise partial matches
    report("meteor_pairs_varied", nonzero < 200, f"only {nonzero} pairs with 0 < score < 1")
    print(f"# {len(pairs)} pairs, max |diff| {diffs[worst]:.2e}, {nonzero} partial scores")
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
