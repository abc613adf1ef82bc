import pytest

from intents.templates import TemplateError, expand, expand_word_sets, slots_in


def test_alternatives_and_optional_words_expand_in_order():
    assert expand("why (are|do) my legs [feel] numb") == [
        "why are my legs feel numb", "why are my legs numb",
        "why do my legs feel numb", "why do my legs numb"]


def test_nested_groups_and_slots():
    assert expand("tell me [more [please]] about {cause}") == [
        "tell me more please about {cause}", "tell me more about {cause}", "tell me about {cause}"]
    assert slots_in("what is {cause} and {symptom}") == {"cause", "symptom"}


def test_word_sets_drop_order_and_duplicates():
    sets = expand_word_sets("(legs|legs) [go] numb", lambda w: (w,))
    assert sets == {frozenset({"legs", "go", "numb"}), frozenset({"legs", "numb"})}


@pytest.mark.parametrize("bad, where", [
    ("(a|b", "never closed"), ("a)", "character 2"), ("(a|)", "empty alternative"),
    ("[a b", "never closed"), ("a ] b", "unexpected ']'"), ("{Cause}", "unexpected"),
])
def test_syntax_errors_say_what_and_where(bad, where):
    with pytest.raises(TemplateError, match=where.replace("(", r"\(").replace("[", r"\[")):
        expand(bad)


def test_explosive_template_is_refused():
    template = " ".join(["(a|b|c|d|e|f|g|h|i|j)"] * 6)
    with pytest.raises(TemplateError, match="split it"):
        expand(template)


def test_covering_sentences_use_every_option():
    import random

    from intents.templates import cover, sample, widest

    template = "(why|how come) my (leg|foot|toes) [keep] (going|go) {cause}"
    made = {cover(template, k, lambda slot: "X") for k in range(widest(template))}
    words = {word for sentence in made for word in sentence.split()}
    assert {"why", "how", "come", "leg", "foot", "toes", "keep", "going", "go", "X"} <= words
    rng = random.Random(1)
    assert all(sample(template, rng, lambda slot: "X").endswith("X") for _ in range(20))
