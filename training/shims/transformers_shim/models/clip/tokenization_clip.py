"""CLIP's byte-level BPE tokenizer in Hugging Face's file layout (vocab.json + merges.txt), our code.

Text clean-up: whitespace collapsed, stripped, lower-cased (what transformers' CLIPTokenizer does with
ftfy; for the ASCII captions of this project ftfy.fix_text changes nothing). Pre-tokenization with
CLIP's regex; each piece is mapped through the byte->unicode table and BPE-merged with `</w>` marking
a word end. bos + tokens + eos, truncated to model_max_length (specials kept), padded with pad_token.
"""
import json
import os
from functools import lru_cache

import regex as re
import torch

from ...tokenization_utils import BatchEncoding, PreTrainedTokenizer


@lru_cache()
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2 ** 8):
        if b not in bs:
            bs.append(b)
            cs.append(2 ** 8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def get_pairs(word):
    return {(a, b) for a, b in zip(word[:-1], word[1:])}


def whitespace_clean(text):
    return re.sub(r"\s+", " ", text).strip()


PAT = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
                 re.IGNORECASE)


class CLIPTokenizer(PreTrainedTokenizer):
    vocab_files_names = {"vocab_file": "vocab.json", "merges_file": "merges.txt"}

    def __init__(self, vocab_file, merges_file, errors="replace", unk_token="<|endoftext|>",
                 bos_token="<|startoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                 model_max_length=77, **kwargs):
        with open(vocab_file, encoding="utf-8") as f:
            self.encoder = json.load(f)
        self.decoder = {v: k for k, v in self.encoder.items()}
        with open(merges_file, encoding="utf-8") as f:
            lines = f.read().strip().split("\n")
        merges = [tuple(m.split()) for m in lines if m and not m.startswith("#version")]
        self.bpe_ranks = dict(zip(merges, range(len(merges))))
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {v: k for k, v in self.byte_encoder.items()}
        self.errors = errors
        self.bos_token, self.eos_token, self.pad_token, self.unk_token = bos_token, eos_token, pad_token, unk_token
        self.model_max_length = model_max_length
        self.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}
        self.init_kwargs = dict(errors=errors, unk_token=unk_token, bos_token=bos_token, eos_token=eos_token,
                                pad_token=pad_token, model_max_length=model_max_length, **kwargs)

    @property
    def vocab_size(self):
        return len(self.encoder)

    @property
    def bos_token_id(self):
        return self.encoder[self.bos_token]

    @property
    def eos_token_id(self):
        return self.encoder[self.eos_token]

    @property
    def pad_token_id(self):
        return self.encoder[self.pad_token]

    def get_vocab(self):
        return dict(self.encoder)

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = get_pairs(word)
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda p: self.bpe_ranks.get(p, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        out = " ".join(word)
        self.cache[token] = out
        return out

    def tokenize(self, text):
        # transformers never splits its special tokens (bos, eos, pad, unk): they are cut out of the
        # raw text first, whole and case-sensitively, so Karlo's pad token "!" in a prompt is id 0,
        # not the word-final "!</w>" that SimpleTokenizer gives.
        specials = sorted({t for t in (self.bos_token, self.eos_token, self.pad_token, self.unk_token) if t},
                          key=len, reverse=True)
        toks = []
        for part in re.split("(" + "|".join(re.escape(t) for t in specials) + ")", text):
            if part in specials:
                toks.append(part)
                continue
            for piece in re.findall(PAT, whitespace_clean(part).lower()):
                piece = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
                toks.extend(self.bpe(piece).split(" "))
        return toks

    def encode_plain(self, text):
        unk = self.encoder[self.unk_token]
        return [self.encoder.get(t, unk) for t in self.tokenize(text)]

    def __call__(self, text, padding=False, max_length=None, truncation=False, return_tensors=None, **kwargs):
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        ml = max_length if max_length is not None else self.model_max_length
        ids = []
        for t in texts:
            body = self.encode_plain(t)
            if truncation and len(body) + 2 > ml:
                body = body[: ml - 2]
            ids.append([self.bos_token_id] + body + [self.eos_token_id])
        if padding == "max_length":
            L = ml
        elif padding in (True, "longest"):
            L = max(len(x) for x in ids)
        else:
            L = None
        masks = [[1] * len(x) for x in ids]
        if L is not None:
            masks = [m + [0] * (L - len(m)) for m in masks]
            ids = [x + [self.pad_token_id] * (L - len(x)) for x in ids]
        if return_tensors == "pt":
            enc = {"input_ids": torch.tensor(ids, dtype=torch.long), "attention_mask": torch.tensor(masks, dtype=torch.long)}
        elif single:
            enc = {"input_ids": ids[0], "attention_mask": masks[0]}
        else:
            enc = {"input_ids": ids, "attention_mask": masks}
        return BatchEncoding(enc)

    def decode(self, ids, skip_special_tokens=False, **kwargs):
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        specials = {self.bos_token_id, self.eos_token_id, self.pad_token_id} if skip_special_tokens else set()
        text = "".join(self.decoder[i] for i in ids if i not in specials)
        b = bytearray(self.byte_decoder[c] for c in text.replace("</w>", " ") if c in self.byte_decoder)
        out = b.decode("utf-8", errors=self.errors).replace("<|startoftext|>", "<|startoftext|> ")
        return out.strip()

    def batch_decode(self, seqs, **kwargs):
        return [self.decode(s, **kwargs) for s in seqs]

    @classmethod
    def from_pretrained(cls, path, subfolder=None, **kwargs):
        d = os.path.join(path, subfolder) if subfolder else path
        cfg = {}
        p = os.path.join(d, "tokenizer_config.json")
        if os.path.exists(p):
            with open(p) as f:
                cfg = json.load(f)
        for k in ("tokenizer_class", "name_or_path", "special_tokens_map_file", "add_prefix_space", "clean_up_tokenization_spaces"):
            cfg.pop(k, None)
        for k, v in list(cfg.items()):  # HF may store specials as AddedToken dicts
            if isinstance(v, dict) and "content" in v:
                cfg[k] = v["content"]
        return cls(os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt"), **cfg)

    def save_pretrained(self, save_directory, **kwargs):
        os.makedirs(save_directory, exist_ok=True)
        with open(os.path.join(save_directory, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(self.encoder, f, ensure_ascii=False)
        merges = sorted(self.bpe_ranks, key=self.bpe_ranks.get)
        with open(os.path.join(save_directory, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
        cfg = dict(self.init_kwargs)
        cfg.update(tokenizer_class="CLIPTokenizer", do_lower_case=True, add_prefix_space=False,
                   clean_up_tokenization_spaces=True)
        with open(os.path.join(save_directory, "tokenizer_config.json"), "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
        with open(os.path.join(save_directory, "special_tokens_map.json"), "w") as f:
            json.dump({"bos_token": self.bos_token, "eos_token": self.eos_token, "pad_token": self.pad_token,
                       "unk_token": self.unk_token}, f, indent=2)
        return (save_directory,)
