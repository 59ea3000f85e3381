"""The UI-TARS action space: parse/format round trips (property-based) and junk that must not raise."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.actions import (
    DIRECTIONS,
    Action,
    ActionError,
    CoordinateMapper,
    format_action,
    format_response,
    parse_action,
    smart_resize,
)

coord = st.integers(min_value=0, max_value=4000)
point = st.tuples(coord, coord)
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
nonblank = text.filter(lambda s: s.strip() != "")

actions = st.one_of(
    st.builds(Action, verb=st.sampled_from(["click", "left_double", "right_single"]), start=point),
    st.builds(Action, verb=st.just("drag"), start=point, end=point),
    st.builds(Action, verb=st.just("scroll"), start=point, direction=st.sampled_from(DIRECTIONS)),
    st.builds(Action, verb=st.just("hotkey"), key=nonblank),
    st.builds(Action, verb=st.just("type"), content=text),
    st.builds(Action, verb=st.just("finished"), content=text),
    st.builds(Action, verb=st.just("shell"), command=nonblank),
    st.just(Action("wait")),
)


@given(actions, text)
@settings(max_examples=400, deadline=None)
def test_format_then_parse_is_identity(action, thought):
    assert parse_action(format_action(action)).action == action
    parsed = parse_action(format_response(action, thought.replace("Action:", "")))
    assert parsed.action == action


@given(actions)
def test_dict_round_trip(action):
    assert Action.from_dict(action.to_dict()) == action


@given(st.text(max_size=200))
@settings(max_examples=500, deadline=None)
def test_junk_raises_only_action_error(junk):
    with contextlib.suppress(ActionError):
        parse_action(junk)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("Thought: the button.\nAction: click(start_box='(12,34)')", Action("click", (12, 34))),
        ("click(start_box='<|box_start|>(10,20)<|box_end|>')", Action("click", (10, 20))),
        ("click(start_box='(10,20,30,40)')", Action("click", (20, 30))),
        ("click(start_box='[10, 20, 30, 40]')", Action("click", (20, 30))),
        ("click(point='<point>5 6</point>')", Action("click", (5, 6))),
        ("left_double(start_box='(1.4,2.6)')", Action("left_double", (1, 3))),
        (
            "drag(start_point='<point>1 2</point>', end_point='<point>3 4</point>')",
            Action("drag", (1, 2), (3, 4)),
        ),
        ("type(content='it's ok')", Action("type", content="it's ok")),
        ("type(content='line\\n')", Action("type", content="line\n")),
        ('hotkey(key="ctrl c")', Action("hotkey", key="ctrl c")),
        ("finished()", Action("finished", content="")),
        ("Action: wait()\nAction: click(start_box='(1,1)')", Action("wait")),
    ],
)
def test_accepted_forms(response, expected):
    assert parse_action(response).action == expected


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ("", "no action call"),
        ("Action: jump()", "unknown action 'jump'"),
        ("click()", "click needs a point"),
        ("click(start_box='(1)')", "cannot read a point"),
        ("click(start_box='(-5,3)')", "non-negative"),
        ("scroll(start_box='(1,1)', direction='sideways')", "scroll direction"),
        ("drag(start_box='(1,1)')", "drag needs end_box"),
        ("hotkey(key='')", "hotkey needs key"),
    ],
)
def test_malformed_actions_explain_themselves(response, message):
    with pytest.raises(ActionError, match=message):
        parse_action(response)


def test_smart_resize_matches_qwen():
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize as qwen_smart_resize

    for h, w in [(210, 160), (1080, 1920), (50, 3000), (28, 28), (720, 1280)]:
        assert smart_resize(h, w, 28, 3136, 1003520) == qwen_smart_resize(h, w, 28, 3136, 1003520)


@given(st.integers(20, 2000), st.integers(20, 2000), st.sampled_from(["smart_resize", "relative1000"]))
def test_mapper_round_trip_within_a_pixel(w, h, space):
    m = CoordinateMapper(w, h, space)
    for p in [(0, 0), (w - 1, h - 1), (w // 3, h // 2)]:
        back = m.to_screen(m.to_model(p))
        scale = max(w / m.model_size[0], h / m.model_size[1])
        assert abs(back[0] - p[0]) <= scale and abs(back[1] - p[1]) <= scale
