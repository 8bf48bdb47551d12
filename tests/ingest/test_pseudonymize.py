"""Pseudonymization: the DuckDB HMAC-SHA256 equals Python's ``hmac`` (RFC 2104) for any text and
any key, including keys longer than the 64-byte block and non-ASCII text."""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from talaia.ingest.normalize import hmac_hex


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.text(max_size=80)), max_size=30),
    secret=st.binary(min_size=1, max_size=150),
)
def test_hmac_hex_is_rfc_2104(values, secret):
    got = hmac_hex(pa.array(values, pa.string()), secret).to_pylist()
    want = [
        None if v is None else hmac.new(secret, v.encode(), hashlib.sha256).hexdigest()
        for v in values
    ]
    assert got == want


def test_hmac_hex_published_vector():
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    got = hmac_hex(pa.array(["what do ya want for nothing?"]), b"Jefe").to_pylist()
    assert got == ["5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"]
