# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The demo model's shape and vocab, stdlib only: the local path writes it into a GGUF file (``gguf_demo``),
the LLMPerf runner makes the matching Hugging Face tokenizer from it (``llmperf_runner``), in the Job too.
"""

from __future__ import annotations

import string

# Sized so that, on a 2-core machine, single-stream decode runs in the tens of tokens/s (the server is
# the bottleneck, not the benchmark client): ~197 M parameters, ~210 MB at Q8_0.
DEFAULT_PARAMETERS = {
    "vocab_size": 8192,
    "embedding_length": 1024,
    "block_count": 16,
    "feed_forward_length": 2816,
    "head_count": 16,
    "head_count_kv": 4,
    "context_length": 4096,
    "weight_type": "q8_0",
    "seed": 1234,
}
# gguf-py's TokenType values (gguf/constants.py: NORMAL=1, UNKNOWN=2, CONTROL=3, BYTE=6), as llama.cpp reads them.
TOKEN_NORMAL, TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_BYTE = 1, 2, 3, 6
# Control tokens, 256 byte tokens and the single characters fit in this many.
MIN_VOCAB_SIZE = 512
SPACE = "\u2581"  # SentencePiece's word-boundary marker
# A fixed word list gives the vocab whole-word pieces, so English text tokenizes to fewer tokens than characters.
COMMON_WORDS = (
    "the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are", "as", "with", "his",
    "they", "at", "be", "this", "have", "from", "or", "one", "had", "by", "word", "but", "not", "what", "all", "were",
    "we", "when", "your", "can", "said", "there", "use", "an", "each", "which", "she", "do", "how", "their", "if",
    "will", "up", "other", "about", "out", "many", "then", "them", "these", "so", "some", "her", "would", "make",
    "like", "him", "into", "time", "has", "look", "two", "more", "write", "go", "see", "number", "no", "way", "could",
    "people", "my", "than", "first", "water", "been", "call", "who", "oil", "its", "now", "find", "long", "down",
    "day", "did", "get", "come", "made", "may", "part", "over", "new", "sound", "take", "only", "little", "work",
    "know", "place", "year", "live", "me", "back", "give", "most", "very", "after", "thing", "our", "just", "name",
    "good", "sentence", "man", "think", "say", "great", "where", "help", "through", "much", "before", "line", "right",
    "too", "mean", "old", "any", "same", "tell", "boy", "follow", "came", "want", "show", "also", "around", "form",
    "three", "small", "set", "put", "end", "does", "another", "well", "large", "must", "big", "even", "such",
    "because", "turn", "here", "why", "ask", "went", "men", "read", "need", "land", "different", "home", "us", "move",
    "try", "kind", "hand", "picture", "again", "change", "off", "play", "spell", "air", "away", "animal", "house",
    "point", "page", "letter", "mother", "answer", "found", "study", "still", "learn", "should", "america", "world",
    "model", "server", "token", "cloud", "cluster", "node", "pool", "request", "response", "latency", "throughput",
    "benchmark", "kubernetes", "oracle", "ampere", "llama", "chat", "hello", "question",
)


class DemoModelError(ValueError):
    """Invalid parameters for the demo model."""


def build_vocab(vocab_size: int) -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and token types of a SentencePiece (``llama``) vocab, filled up to vocab_size.

    Order: <unk> <s> </s>, ChatML control tokens, the 256 byte-fallback tokens, single characters,
    whole words, then letter bigrams and trigrams until the size is reached. A lower index scores higher,
    so the tokenizer prefers the whole words over their letters.
    """
    normal, unknown, control, byte = TOKEN_NORMAL, TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_BYTE
    tokens = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    types = [unknown, control, control, control, control]
    tokens += [f"<0x{value:02X}>" for value in range(256)]
    types += [byte] * 256
    seen = set(tokens)
    pieces = [SPACE] + [SPACE + char for char in string.ascii_letters + string.digits]
    pieces += list(string.ascii_letters + string.digits + string.punctuation)
    pieces += [SPACE + word for word in COMMON_WORDS] + [SPACE + word.capitalize() for word in COMMON_WORDS]
    pieces += list(COMMON_WORDS)
    letters = string.ascii_lowercase
    pieces += [a + b for a in letters for b in letters] + [SPACE + a + b for a in letters for b in letters]
    pieces += [a + b + c for a in letters for b in letters for c in letters]
    for piece in pieces:
        if vocab_size and len(tokens) >= vocab_size:
            break
        if piece not in seen:
            seen.add(piece)
            tokens.append(piece)
            types.append(normal)
    if vocab_size and len(tokens) < vocab_size:
        raise DemoModelError(f"vocab_size {vocab_size} exceeds the {len(tokens)} pieces the generator can make")
    scores = [0.0] * 5 + [0.0] * 256 + [-float(index) for index in range(len(tokens) - 261)]
    return tokens, scores, types
