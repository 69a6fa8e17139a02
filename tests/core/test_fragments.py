"""gridapp.core.fragments: a bounded store of drawn fragments, the least recently used forgotten
first, safe for threads, and off when its size is 0."""
import threading

from gridapp.core.fragments import TOKEN, Fragments, remembering, store, with_token


def test_a_fragment_is_drawn_once_per_key():
    drawn = []
    kept = Fragments(10)

    def draw(text):
        drawn.append(text)
        return text.upper()

    assert kept.get(("row", 1, "a"), lambda: draw("a")) == "A"
    assert kept.get(("row", 1, "a"), lambda: draw("a")) == "A"
    # Any value of the key that changes draws the fragment again.
    assert kept.get(("row", 1, "b"), lambda: draw("b")) == "B"
    assert drawn == ["a", "b"]


def test_the_least_recently_used_go_first_and_the_store_stays_bounded():
    kept = Fragments(3)
    for k in "abc":
        kept.get(k, lambda k=k: k)
    kept.get("a", lambda: "never drawn")  # a is now the most recent
    kept.get("d", lambda: "d")
    assert len(kept) == 3
    drawn = []
    assert kept.get("a", lambda: drawn.append("a") or "a2") == "a" and drawn == []
    assert kept.get("b", lambda: drawn.append("b") or "b2") == "b2" and drawn == ["b"]


def test_size_zero_keeps_nothing():
    kept = Fragments(0)
    drawn = []
    for _ in range(3):
        kept.get("k", lambda: drawn.append(1) or "x")
    assert len(drawn) == 3 and len(kept) == 0


def test_many_threads_at_once_get_their_own_fragments_and_the_bound_holds():
    kept = Fragments(50)
    wrong = []

    def work(t):
        for i in range(500):
            key = (t % 4, i % 80)
            if kept.get(key, lambda key=key: repr(key)) != repr(key):
                wrong.append(key)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == [] and len(kept) <= 50


def test_keys_carry_the_language_and_the_token_is_this_responses(app):
    with app.test_request_context("/"):
        from flask_babel import force_locale

        keep = remembering("t")
        assert keep("k", lambda: "zh " + TOKEN) == "zh " + TOKEN
        with force_locale("en"):
            assert remembering("t")("k", lambda: "en") == "en"
        assert remembering("t")("k", lambda: "drawn again") == "zh " + TOKEN
        assert len(store()) == 2
        html = with_token(keep("k", lambda: ""))
        assert TOKEN not in html and html.startswith("zh ") and len(html) > 20
