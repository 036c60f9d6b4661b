"""LLM.encode on an encoder-only model: every token attends to every other."""

from minivllm import LLM
from minivllm.engine import tokenize

MODEL_NAME = "intfloat/multilingual-e5-small"


def test_encoder_attention_is_bidirectional():
    llm = LLM(MODEL_NAME)
    llm.hidden_states(tokenize("one two three four"))
    assert all(w > 0.0 for row in llm.attn.last_weights for w in row)


def test_hidden_states_stay_in_convex_hull():
    llm = LLM(MODEL_NAME)
    tokens = tokenize("alpha beta gamma")
    rows = [llm.embed_token(t) for t in tokens]
    for state in llm.hidden_states(tokens):
        for d, value in enumerate(state):
            column = [r[d] for r in rows]
            assert min(column) - 1e-12 <= value <= max(column) + 1e-12
