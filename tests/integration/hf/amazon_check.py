"""configs/amazon-reviews-qwen.cfg on a tiny DPL-shaped corpus (tests/integration/hf_parity.sh).

  amazon_check.py write FILE.jsonl   9 users, 10 past reviews each, item_title/item_desc joined
  amazon_check.py check SHARD.h5     every sample's prompts carry the ChatML specials as single
                                     Qwen ids (<|im_start|> 151644 x3, <|im_end|> 151645 x2)
                                     and the 8 newest reviews
"""
import json
import sys


def write(path):
    with open(path, "w") as f:
        for u in range(9):
            prof = [{"asin": f"B{u}{k}", "rating": 4.0, "title": f"Great read {k}",
                     "text": f"I loved book {k}, 情节 👍.", "timestamp": 1600000000 + k,
                     "item_title": f"Book {k}", "item_desc": "A novel."} for k in range(10)]
            data = {"asin": "X", "rating": 5.0, "title": "Wow", "text": f"Another great one, user {u}.",
                    "item_title": "New Book", "item_desc": "Sequel."}
            rec = {"user_id": f"U{u}", "profile": prof, "data": data, "id": f"Books-{u}",
                   "split": ["train", "valid", "test"][u % 3]}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def check(path):
    import h5py
    f = h5py.File(path, "r")
    tok, n = f["tokens"][...], len(f["id"])
    bad = []
    for i in range(n):
        p = tok[f["hist_offset"][i]:f["hist_offset"][i] + f["hist_length"][i]]
        q = tok[f["nohist_offset"][i]:f["nohist_offset"][i] + f["nohist_length"][i]]
        if p[0] != 151644 or (p == 151644).sum() != 3 or (p == 151645).sum() != 2 or (q == 151644).sum() != 3:
            bad.append(f"sample {i}: ChatML specials are not single ids")
        if f["history_items"][i] != 8:
            bad.append(f"sample {i}: {f['history_items'][i]} history items, not 8")
    if n != 9:
        bad.append(f"{n} samples, not 9")
    print(f"not ok config shard: {bad[0]}" if bad else
          f"ok config shard: {n} samples, ChatML specials single ids, 8 history reviews each")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(sys.argv[2])
        sys.exit(0)
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
