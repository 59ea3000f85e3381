import pytest

from agentrl.models.tokenizer import SPECIAL_TOKENS, build_tokenizer, single_token_report
from agentrl.models.vocab import (
    ACTION_WORDS,
    INSTRUCTION_WORDS,
    MAX_COORD,
    ROLE_WORDS,
    UI_WORDS,
    read_word_lists,
)


def test_integers_and_grammar_words_are_single_tokens():
    tok = build_tokenizer()
    report = single_token_report(tok)
    assert report == {"integers": [], "words": []}


def test_coordinates_in_an_action_are_one_token_each():
    tok = build_tokenizer()
    text = "Action: click(start_box='(123,1000)')"
    pieces = tok.convert_ids_to_tokens(tok.encode(text, add_special_tokens=False))
    assert "123" in pieces and "1000" in pieces
    assert tok.decode(tok.encode(text, add_special_tokens=False)) == text


def test_any_text_round_trips():
    tok = build_tokenizer()
    for text in ["héllo wörld ✓ 12345 \t\n", "<|im_start|>user\nx<|im_end|>", "Zyxwv 0.5 -3 (x1,y1,x2,y2)"]:
        assert tok.decode(tok.encode(text, add_special_tokens=False)) == text


def test_special_tokens_present_and_vocab_small():
    tok = build_tokenizer()
    for t in SPECIAL_TOKENS:
        assert tok.convert_tokens_to_ids(t) is not None
        assert len(tok.encode(t, add_special_tokens=False)) == 1
    assert MAX_COORD + 1 < len(tok) < 6000


def test_deterministic_for_a_seed():
    a, b = build_tokenizer(seed=3), build_tokenizer(seed=3)
    assert a.backend_tokenizer.to_str() == b.backend_tokenizer.to_str()


def test_the_word_lists_come_from_vocab_txt_once_each():
    for words in (ACTION_WORDS, UI_WORDS, INSTRUCTION_WORDS):
        assert len(set(words)) == len(words) and all(w and " " not in w for w in words)
    assert UI_WORDS[: len(ROLE_WORDS)] == ROLE_WORDS and {"button", "textbox", "checkbox"} <= set(ROLE_WORDS)
    assert read_word_lists("# c\n[a]\nx  # note\n\ny\n[b]\nx\n") == {"a": ["x", "y"], "b": ["x"]}
    with pytest.raises(ValueError, match="listed twice"):
        read_word_lists("[a]\nx\nx\n")
