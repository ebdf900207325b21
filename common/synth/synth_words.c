// Word lists of the synthetic review benchmark; see synth_words.h.
#include "synth/synth_words.h"

#include <string.h>

// ---- categories ----------------------------------------------------------------------
static const char *const kitchen_n[] = {"kettle", "skillet", "blender", "toaster", "cutting board",
    "knife set", "coffee grinder", "stock pot", "mixing bowl", "rice cooker", "teapot", "colander"};
static const char *const kitchen_f[] = {"lid", "handle", "base", "blade", "coating", "spout",
    "cord", "dial", "rim", "switch"};
static const char *const kitchen_u[] = {"weeknight dinners", "big batches", "morning coffee",
    "holiday baking", "meal prep", "a small kitchen", "family brunch", "quick snacks"};

static const char *const elec_n[] = {"headphones", "charger", "speaker", "keyboard", "mouse",
    "webcam", "power bank", "smart plug", "desk lamp", "router", "earbuds", "tablet stand"};
static const char *const elec_f[] = {"battery", "cable", "buttons", "screen", "sound", "app",
    "casing", "connector", "volume", "signal"};
static const char *const elec_u[] = {"long calls", "travel", "the home office", "gaming nights",
    "video meetings", "the commute", "late night work", "streaming"};

static const char *const out_n[] = {"tent", "backpack", "water bottle", "camp stove",
    "sleeping bag", "headlamp", "hammock", "trekking poles", "cooler", "rain jacket",
    "folding chair", "compass"};
static const char *const out_f[] = {"zipper", "straps", "fabric", "frame", "buckle", "seams",
    "pockets", "clip", "mesh", "lining"};
static const char *const out_u[] = {"weekend hikes", "car camping", "rainy trails",
    "beach days", "long treks", "the backyard", "fishing trips", "cold mornings"};

static const char *const book_n[] = {"novel", "cookbook", "memoir", "mystery", "atlas",
    "poetry collection", "field guide", "thriller", "biography", "history book", "workbook",
    "travel guide"};
static const char *const book_f[] = {"plot", "characters", "pacing", "ending", "cover",
    "dialogue", "chapters", "photos", "index", "prose"};
static const char *const book_u[] = {"a long flight", "bedtime reading", "a book club",
    "rainy weekends", "the beach", "a gift", "quiet evenings", "the train ride"};

static const char *const toy_n[] = {"puzzle", "building set", "board game", "plush bear",
    "toy car", "kite", "doll house", "card game", "rocking horse", "train set", "yo-yo",
    "marble run"};
static const char *const toy_f[] = {"pieces", "colors", "wheels", "box", "rules", "paint",
    "edges", "stickers", "instructions", "stitching"};
static const char *const toy_u[] = {"game night", "a birthday", "rainy afternoons",
    "road trips", "toddlers", "the playroom", "family visits", "the holidays"};

static const char *const beauty_n[] = {"face cream", "shampoo", "lip balm", "hair dryer",
    "nail kit", "body wash", "sunscreen", "perfume", "hand lotion", "face mask", "razor",
    "hair brush"};
static const char *const beauty_f[] = {"scent", "texture", "bottle", "pump", "bristles",
    "formula", "cap", "finish", "nozzle", "grip"};
static const char *const beauty_u[] = {"dry winters", "sensitive skin", "the gym bag",
    "daily use", "travel kits", "summer days", "a quick routine", "date night"};

static const char *const tool_n[] = {"drill", "hammer", "tape measure", "screwdriver set",
    "level", "wrench", "saw", "glue gun", "tool box", "ladder", "work light", "clamp"};
static const char *const tool_f[] = {"motor", "trigger", "bits", "case", "chuck", "latch",
    "markings", "blades", "hinge", "rubber grip"};
static const char *const tool_u[] = {"small repairs", "the garage", "flat pack furniture",
    "weekend projects", "the shed", "hanging shelves", "fixing fences", "the workshop"};

static const char *const home_n[] = {"pillow", "blanket", "curtains", "rug", "vase",
    "shelf", "laundry basket", "wall clock", "candle", "storage bin", "mirror", "doormat"};
static const char *const home_f[] = {"fabric", "color", "trim", "corners", "thickness",
    "pattern", "frame", "backing", "seams", "fill"};
static const char *const home_u[] = {"the guest room", "a new apartment", "the hallway",
    "cozy nights", "the nursery", "a dorm room", "the living room", "spring cleaning"};

#define CAT(name, n, f, u) {name, n, SW_COUNT(n), f, SW_COUNT(f), u, SW_COUNT(u)}
const sw_category sw_categories[] = {
    CAT("Kitchen", kitchen_n, kitchen_f, kitchen_u),
    CAT("Electronics", elec_n, elec_f, elec_u),
    CAT("Outdoors", out_n, out_f, out_u),
    CAT("Books", book_n, book_f, book_u),
    CAT("Toys", toy_n, toy_f, toy_u),
    CAT("Beauty", beauty_n, beauty_f, beauty_u),
    CAT("Tools", tool_n, tool_f, tool_u),
    CAT("Home", home_n, home_f, home_u),
};
const int sw_n_categories = SW_COUNT(sw_categories);

// ---- context vocabulary ----------------------------------------------------------------
const char *const sw_model_words[] = {"Compact", "Classic", "Pro", "Deluxe", "Mini", "Ultra",
    "Essential", "Prime", "Lite", "Max", "Studio", "Travel", "Urban", "Heritage", "Nova",
    "Select", "Signature", "Basic", "Plus", "Elite", "Everyday", "Summit", "Breeze", "Core",
    "Aero", "Royal", "Swift", "Terra", "Vista", "Zen"};
const int sw_n_model_words = SW_COUNT(sw_model_words);

const char *const sw_desc_adjs[] = {"matte", "glossy", "padded", "foldable", "reinforced",
    "lightweight", "removable", "adjustable", "textured", "curved", "slim", "oversized",
    "vintage", "modern", "rugged", "soft", "tinted", "brushed", "woven", "sealed", "rounded",
    "washable", "detachable", "compact", "bright", "quiet", "heavy", "thin", "wide", "narrow",
    "ribbed", "smooth", "layered", "colorful", "plain", "sturdy", "flexible", "stackable",
    "portable", "classic"};
const int sw_n_desc_adjs = SW_COUNT(sw_desc_adjs);

const char *const sw_rating_adjs[5][6] = {
    {"awful", "useless", "terrible", "dreadful", "worthless", "horrible"},
    {"disappointing", "flimsy", "mediocre", "underwhelming", "weak", "clumsy"},
    {"decent", "okay", "average", "fine", "passable", "serviceable"},
    {"good", "solid", "nice", "reliable", "handy", "pleasant"},
    {"excellent", "fantastic", "superb", "wonderful", "outstanding", "brilliant"},
};

const char *const sw_feature_adjs[3][8] = {
    {"poor", "weak", "cheap", "sloppy", "lacking", "fragile", "uneven", "annoying"},
    {"okay", "fine", "ordinary", "acceptable", "so-so", "unremarkable", "average", "plain"},
    {"great", "impressive", "well done", "solid", "lovely", "top notch", "excellent", "sturdy"},
};

const char *const sw_feature_verbs[] = {"feels", "looks", "seems", "is", "turned out", "comes across as"};
const char *const sw_feature_verbs_pl[] = {"feel", "look", "seem", "are", "turned out", "come across as"};
const int sw_n_feature_verbs = SW_COUNT(sw_feature_verbs);

const char *const sw_rating_frames[] = {"This %s is", "Overall the %s is", "As a %s it is",
    "All in all this %s is", "For a %s it is"};
const int sw_n_rating_frames = SW_COUNT(sw_rating_frames);

const char *const sw_use_frames[3][3] = {
    {"Not usable for %s", "I would skip it for %s", "It fails at %s"},
    {"Fine for %s, nothing more", "It gets by for %s", "Acceptable for %s"},
    {"Works great for %s", "Perfect for %s", "It shines for %s"},
};

// ---- preference vocabulary ---------------------------------------------------------------
const char *const sw_opener_heads[] = {"Okay", "Alright", "Well", "So", "Right", "Listen",
    "Friends", "Hey all", "Greetings", "Folks", "Quick one", "Real talk", "Heads up",
    "Hello there", "Gather round", "Good news", "Fair warning", "Hi team"};
const int sw_n_opener_heads = SW_COUNT(sw_opener_heads);
const char *const sw_opener_tails[] = {"here is my take", "here goes", "my two cents",
    "let me be brief", "straight to it", "buckle up", "this one is for you", "quick verdict",
    "time for a review", "another one from me", "let us talk", "notes from my desk"};
const int sw_n_opener_tails = SW_COUNT(sw_opener_tails);

const char *const sw_signoff_heads[] = {"Cheers", "Peace", "Take care", "Happy shopping",
    "Stay cozy", "Over and out", "Later", "Ciao", "Be well", "Good luck", "Enjoy",
    "Thanks for reading", "Until next time", "Onward"};
const int sw_n_signoff_heads = SW_COUNT(sw_signoff_heads);
const char *const sw_signoff_tails[] = {"friends", "all", "folks", "everyone", "y'all",
    "fellow shoppers", "team", "neighbors"};
const int sw_n_signoff_tails = SW_COUNT(sw_signoff_tails);

const char *const sw_persona_frames[] = {"I got this for %s.", "Bought it for %s.",
    "This one was for %s.", "Picked it up for %s."};
const int sw_n_persona_frames = SW_COUNT(sw_persona_frames);
const char *const sw_persona_targets[] = {"my sister", "my grandpa", "my roommate", "the twins",
    "my nephew", "a coworker", "my book club", "our camper van", "our cabin", "my studio",
    "my dorm", "the boat", "my mom", "my dad", "the neighbors", "my partner", "our cottage",
    "my best friend", "the office", "my aunt", "the kids", "my brother", "the garden shed",
    "my niece", "our farm", "the beach house", "my landlord", "our team", "my grandma",
    "my son", "my daughter", "the new baby", "my pen pal", "our church", "my scout troop",
    "the youth club", "my husband", "my wife", "our dog walker", "the band"};
const int sw_n_persona_targets = SW_COUNT(sw_persona_targets);

const char *const sw_petwords[] = {"honestly", "basically", "literally", "genuinely", "totally",
    "truly", "legit", "lowkey", "frankly", "actually", "simply", "clearly", "definitely",
    "seriously", "properly", "certainly", "downright", "positively", "plainly", "no doubt",
    "no joke", "for real", "I swear", "in my book"};
const int sw_n_petwords = SW_COUNT(sw_petwords);

const char *const sw_intensifiers[3][6] = {
    {"kind of", "sort of", "somewhat", "a bit", "slightly", "marginally"},
    {"pretty", "fairly", "quite", "reasonably", "rather", "decently"},
    {"insanely", "ridiculously", "wildly", "incredibly", "stupidly", "unbelievably"},
};

const char *const sw_aspect_leads[] = {"My main thing is the", "As usual I checked the",
    "What I care about is the", "First thing I look at is the", "I always judge by the"};
const int sw_n_aspect_leads = SW_COUNT(sw_aspect_leads);

const sw_aspect sw_aspects[] = {
    {"price", "it", {"is way too high", "is about right", "is a steal"}},
    {"durability", "it", {"is a joke", "is fine so far", "is rock solid"}},
    {"look", "it", {"is pretty ugly", "is nothing special", "is gorgeous"}},
    {"packaging", "it", {"arrived crushed", "was plain", "was lovely and neat"}},
    {"delivery", "it", {"took forever", "took about a week", "was lightning fast"}},
    {"size", "it", {"runs way off", "is close enough", "is spot on"}},
    {"weight", "it", {"is a brick", "is manageable", "is feather light"}},
    {"smell", "it", {"is chemical and strong", "is faint", "is fresh and clean"}},
    {"customer service", "they", {"never replied", "were polite enough", "were amazing"}},
    {"warranty", "it", {"is useless", "is standard", "is generous"}},
    {"eco footprint", "it", {"is wasteful", "is average", "is impressively green"}},
    {"setup time", "it", {"ate my whole evening", "took a while", "took two minutes"}},
};
const int sw_n_aspects = SW_COUNT(sw_aspects);

// ---- made-up words -------------------------------------------------------------------------
static const char *const onsets[] = {"b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n",
    "p", "r", "s", "t", "v", "w", "z", "br", "cr", "dr", "fl", "gl", "pl", "pr", "st", "tr",
    "sh", "ch", "th", "gr", "kl", "sp", "sn", "qu", "bl"};
static const char *const vowels[] = {"a", "e", "i", "o", "u", "ai", "ea", "io", "ou", "y", "ee", "oa"};
static const char *const codas[] = {"", "", "", "n", "r", "l", "s", "m", "x", "t", "nd", "rk",
    "ll", "st", "ck", "v", "sh"};

void synth_pseudo_word(gsl_rng *r, char *buf, size_t cap) {
  int nsyl = 2 + (int)gsl_rng_uniform_int(r, 2);
  buf[0] = 0;
  for (int s = 0; s < nsyl; s++) {
    const char *o = onsets[gsl_rng_uniform_int(r, SW_COUNT(onsets))];
    const char *v = vowels[gsl_rng_uniform_int(r, SW_COUNT(vowels))];
    const char *c = s == nsyl - 1 ? codas[gsl_rng_uniform_int(r, SW_COUNT(codas))] : "";
    if (strlen(buf) + strlen(o) + strlen(v) + strlen(c) + 1 > cap) break;
    strcat(buf, o);
    strcat(buf, v);
    strcat(buf, c);
  }
}
