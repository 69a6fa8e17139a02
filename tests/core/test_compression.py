"""Compressed pages that stay BREACH-safe: the CSRF token of each response is masked afresh, so no
secret repeats byte for byte between responses, while each masked token still works, in a
form and in htmx's header; a page that reflects what the request sent goes out compressed with no
unmasked secret in it."""
import gzip
import re

import brotli
import pytest

from gridapp.core.csrf import mask, unmask
from tests.grid.helpers import logged_in

TOKENS = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def _tokens(html: str) -> list[str]:
    return [a or b for a, b in TOKENS.findall(html)]


def _body(resp) -> str:
    data = resp.get_data()
    encoding = resp.headers.get("Content-Encoding")
    if encoding == "br":
        data = brotli.decompress(data)
    elif encoding == "gzip":
        data = gzip.decompress(data)
    return data.decode("utf-8")


def test_mask_round_trip_and_refusals():
    signed = "ImFiYzEyMyI.aBcDeF.sIgNaTuRe_-"
    masked = [mask(signed) for _ in range(20)]
    assert len(set(masked)) == 20 and all("." not in m and signed not in m for m in masked)
    assert {unmask(m) for m in masked} == {signed}
    assert unmask(signed) == signed  # a token from before masking is checked as it is
    for junk in ("", None, "!!!", "abc", "a" * 7):
        assert unmask(junk) == junk or "." not in (unmask(junk) or "")


def test_two_responses_carry_different_tokens_that_both_work(make_client, world):
    sec = logged_in(make_client, "secretary1")
    pages = [sec.get(url).get_data(as_text=True) for url in ("/grid/households/", "/grid/households/", "/")]
    per_page = [set(_tokens(html)) for html in pages]
    assert all(len(p) == 1 for p in per_page) and len(_tokens(pages[0])) >= 3  # one per response...
    tokens = [p.pop() for p in per_page]
    assert len(set(tokens)) == 3  # ...never the same string in two responses
    assert len({unmask(t).split(".")[0] for t in tokens}) == 1  # one secret beneath them all (signed)
    # Each works, in the form and in htmx's header; a token altered by one character does not.
    for token in (tokens[0], tokens[-1]):
        resp = sec.post("/lang", {"lang": "en", "next": "/", "csrf_token": token})
        assert resp.status_code in (302, 303), resp.status_code
    resp = sec._open("post", "/lang", data={"lang": "zh", "next": "/"},
                     headers={"X-CSRFToken": tokens[1], "HX-Request": "true"})
    assert resp.status_code in (200, 204, 302, 303)
    i = len(tokens[2]) // 2 + 4  # within the signed payload: a trailing base64 bit may not count
    broken = tokens[2][:i] + ("A" if tokens[2][i] != "A" else "B") + tokens[2][i + 1:]
    assert sec.post("/lang", {"lang": "en", "next": "/", "csrf_token": broken}).status_code == 400
    other = logged_in(make_client, "gridder1")
    stolen = sec.post("/lang", {"lang": "en", "next": "/", "csrf_token": _tokens(other.get("/").text)[0]})
    assert stolen.status_code == 400  # another session's token


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_a_reflected_input_never_sits_beside_an_unmasked_secret(app, make_client, world, encoding):
    sec = logged_in(make_client, "secretary1")
    probe = "csrf_token=ImFi"
    resp = sec.get(f"/grid/households/?q={probe}", headers={"Accept-Encoding": encoding})
    assert resp.status_code == 200 and resp.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in resp.headers["Vary"]
    html = _body(resp)
    assert probe in html  # the request's text is reflected (the search box, the language form's next)
    signed = unmask(_tokens(html)[0])
    with sec.raw.session_transaction() as s:
        raw_secret = s["csrf_token"]
    payload = signed.split(".")[0]
    for secret in (signed, payload, raw_secret):
        assert secret not in html
    assert len(resp.get_data()) < len(html.encode()) / 2  # and it is compressed


def test_a_small_response_is_left_alone(make_client, world):
    resp = logged_in(make_client, "secretary1").get("/healthz", headers={"Accept-Encoding": "br, gzip"})
    assert len(resp.get_data()) < 500 and "Content-Encoding" not in resp.headers
