"""PortOne's webhook signatures, checked as Standard Webhooks 1.0.0.

The reference vector is the one every Standard Webhooks library tests its
signer against; reproducing it is what shows that our verifier agrees with
PortOne's sender (a round trip through our own ``sign`` would pass just as
well with the delimiter, the alphabet or the key decoding all wrong).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import string
from collections.abc import Callable

import pytest
from django.http.request import HttpHeaders

from django_kakaopay.backends.portone.signatures import (
    DEFAULT_TOLERANCE_SECONDS,
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    decode_secret,
    secret_problem,
    sign,
    verify,
)
from django_kakaopay.exceptions import WebhookAuthenticationError

# The specification's published test vector, from the repository
# standard-webhooks/standard-webhooks: libraries/python/tests/test_webhooks.py
# (test_sign_function) and libraries/go/webhook_test.go (TestWebhookSign).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_BARE_SECRET = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
# The same files' "invalid signature" case: the vector's last character changed.
VECTOR_WRONG_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="
# The same files' multi-signature case: entries that match nothing around the real one.
VECTOR_DECOYS = (
    "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
    "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
)

OLD_SECRET = "whsec_" + base64.b64encode(b"the old secret, 24 bytes").decode()
NEW_SECRET = "whsec_" + base64.b64encode(b"the new secret, rotated in").decode()
NOW = 1_700_000_000
BODY = b'{"type":"Transaction.Paid","timestamp":"2024-01-01T00:00:00Z","data":{"paymentId":"p-1"}}'


def vector_headers(signature: str = VECTOR_SIGNATURE) -> dict[str, str]:
    return {
        ID_HEADER: VECTOR_ID,
        TIMESTAMP_HEADER: str(VECTOR_TIMESTAMP),
        SIGNATURE_HEADER: signature,
    }


def signed(
    secret: str = NEW_SECRET, msg_id: str = "msg_1", timestamp: int = NOW, body: bytes = BODY
) -> dict[str, str]:
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, msg_id, timestamp, body),
    }


def refusal(
    body: bytes,
    headers: dict[str, str],
    secrets: list[str] | tuple[str, ...],
    *,
    now: float = NOW,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> str:
    """The message of the refusal; any other exception fails the test."""
    with pytest.raises(WebhookAuthenticationError) as caught:
        verify(body, headers, secrets, tolerance=tolerance, now=now)
    return str(caught.value)


# The specification's vector


def test_sign_reproduces_the_published_signature() -> None:
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE
    assert sign(VECTOR_SECRET, VECTOR_ID, str(VECTOR_TIMESTAMP), VECTOR_BODY) == VECTOR_SIGNATURE


def test_the_published_vector_agrees_with_an_independent_hmac() -> None:
    key = base64.b64decode(VECTOR_BARE_SECRET)
    content = f"{VECTOR_ID}.{VECTOR_TIMESTAMP}.".encode() + VECTOR_BODY
    digest = hmac.new(key, content, hashlib.sha256).digest()
    assert "v1," + base64.b64encode(digest).decode() == VECTOR_SIGNATURE


@pytest.mark.parametrize("secret", [VECTOR_SECRET, VECTOR_BARE_SECRET])
def test_verify_accepts_the_published_vector_with_and_without_prefix(secret: str) -> None:
    assert sign(secret, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE
    assert verify(VECTOR_BODY, vector_headers(), [secret], now=VECTOR_TIMESTAMP) == VECTOR_ID


def test_verify_refuses_the_published_wrong_signature() -> None:
    message = refusal(
        VECTOR_BODY, vector_headers(VECTOR_WRONG_SIGNATURE), [VECTOR_SECRET], now=VECTOR_TIMESTAMP
    )
    assert message == "No webhook-signature matches any of WEBHOOK_SECRETS."


def test_the_published_multi_signature_header_is_accepted() -> None:
    entries = [*VECTOR_DECOYS, VECTOR_SIGNATURE, VECTOR_DECOYS[0]]
    headers = vector_headers(" ".join(entries))
    assert verify(VECTOR_BODY, headers, [VECTOR_SECRET], now=VECTOR_TIMESTAMP) == VECTOR_ID


def test_the_published_decoys_alone_are_refused() -> None:
    headers = vector_headers(" ".join(VECTOR_DECOYS))
    refusal(VECTOR_BODY, headers, [VECTOR_SECRET], now=VECTOR_TIMESTAMP)


# Signature lists and versions


def test_other_versions_are_ignored_not_errors() -> None:
    genuine = signed()[SIGNATURE_HEADER]
    encoded = genuine.removeprefix("v1,")
    headers = signed()
    headers[SIGNATURE_HEADER] = f"v1a,{encoded} v2,{encoded} v1a,!!notbase64!! {genuine}"
    assert verify(BODY, headers, [NEW_SECRET], now=NOW) == "msg_1"


def test_the_right_signature_under_another_version_does_not_count() -> None:
    headers = signed()
    headers[SIGNATURE_HEADER] = headers[SIGNATURE_HEADER].replace("v1,", "v1a,")
    message = refusal(BODY, headers, [NEW_SECRET])
    assert message == "The webhook-signature header holds no v1 signature."


def test_several_v1_signatures_where_only_one_matches() -> None:
    genuine = signed()[SIGNATURE_HEADER]
    others = [sign(OLD_SECRET, "msg_1", NOW, BODY), sign(NEW_SECRET, "msg_2", NOW, BODY)]
    headers = signed()
    headers[SIGNATURE_HEADER] = " ".join([others[0], genuine, others[1]])
    assert verify(BODY, headers, [NEW_SECRET], now=NOW) == "msg_1"
    headers[SIGNATURE_HEADER] = "  ".join(others)
    refusal(BODY, headers, [NEW_SECRET])


def test_only_the_first_ten_entries_are_tried() -> None:
    genuine = signed()[SIGNATURE_HEADER]
    decoys = [VECTOR_DECOYS[0]] * 9
    headers = signed()
    headers[SIGNATURE_HEADER] = " ".join([*decoys, genuine])
    assert verify(BODY, headers, [NEW_SECRET], now=NOW) == "msg_1"
    headers[SIGNATURE_HEADER] = " ".join([*decoys, VECTOR_DECOYS[0], genuine])
    refusal(BODY, headers, [NEW_SECRET])


# Rotation


@pytest.mark.parametrize("signer", [OLD_SECRET, NEW_SECRET])
def test_rotation_accepts_either_secret(signer: str) -> None:
    headers = signed(secret=signer)
    assert verify(BODY, headers, [OLD_SECRET, NEW_SECRET], now=NOW) == "msg_1"
    assert verify(BODY, headers, (NEW_SECRET, OLD_SECRET), now=NOW) == "msg_1"


def test_rotation_refuses_a_third_secret() -> None:
    headers = signed(secret=VECTOR_SECRET)
    refusal(BODY, headers, [OLD_SECRET, NEW_SECRET])


def test_a_delivery_signed_with_both_secrets_is_accepted_once() -> None:
    headers = signed(secret=OLD_SECRET)
    headers[SIGNATURE_HEADER] += " " + signed(secret=NEW_SECRET)[SIGNATURE_HEADER]
    assert verify(BODY, headers, [OLD_SECRET, NEW_SECRET], now=NOW) == "msg_1"


def test_an_undecodable_secret_is_skipped_when_another_works() -> None:
    assert verify(BODY, signed(), ["not base64!", NEW_SECRET], now=NOW) == "msg_1"


def test_one_string_where_a_list_was_meant_is_one_secret() -> None:
    assert verify(BODY, signed(), NEW_SECRET, now=NOW) == "msg_1"


@pytest.mark.parametrize("secrets", [[], (), ["not base64!"], ["", "   ", "whsec_"], ["whsec_é"]])
def test_no_usable_secret_refuses_everything(secrets: list[str]) -> None:
    message = refusal(BODY, signed(), secrets)
    assert message == "No WEBHOOK_SECRETS are configured, so no notification can be verified."


def test_a_secret_that_is_not_a_string_is_skipped() -> None:
    # str(None) would be "None", which decodes as base64 to a three-byte key.
    none_key = sign("None", "msg_1", NOW, BODY)
    headers = {**signed(), SIGNATURE_HEADER: none_key}
    assert refusal(BODY, headers, [None, 42]).startswith("No WEBHOOK_SECRETS")  # type: ignore[list-item]
    assert verify(BODY, signed(), [None, NEW_SECRET], now=NOW) == "msg_1"  # type: ignore[list-item]


def test_secrets_are_stripped_like_the_options() -> None:
    assert verify(BODY, signed(), [f"  {NEW_SECRET}\n"], now=NOW) == "msg_1"


# Time


@pytest.mark.parametrize("offset", [-DEFAULT_TOLERANCE_SECONDS - 1, DEFAULT_TOLERANCE_SECONDS + 1])
def test_outside_the_tolerance_is_refused_both_ways(offset: int) -> None:
    headers = signed(timestamp=NOW + offset)
    message = refusal(BODY, headers, [NEW_SECRET])
    assert message == (
        "The webhook-timestamp is more than 300 seconds away from now; "
        "the notification may be replayed."
    )


@pytest.mark.parametrize("offset", [-DEFAULT_TOLERANCE_SECONDS, 0, DEFAULT_TOLERANCE_SECONDS])
def test_at_the_tolerance_edge_is_accepted(offset: int) -> None:
    assert verify(BODY, signed(timestamp=NOW + offset), [NEW_SECRET], now=NOW) == "msg_1"


def test_a_fraction_of_a_second_past_the_edge_is_refused() -> None:
    refusal(BODY, signed(timestamp=NOW - 300), [NEW_SECRET], now=NOW + 0.5)


def test_the_tolerance_is_configurable() -> None:
    headers = signed(timestamp=NOW - 100)
    assert verify(BODY, headers, [NEW_SECRET], tolerance=100, now=NOW) == "msg_1"
    message = refusal(BODY, headers, [NEW_SECRET], tolerance=99)
    assert "99 seconds" in message


def test_the_clock_is_read_when_now_is_not_given() -> None:
    import time

    current = int(time.time())
    headers = signed(timestamp=current)
    assert verify(BODY, headers, [NEW_SECRET]) == "msg_1"
    with pytest.raises(WebhookAuthenticationError):
        verify(BODY, signed(timestamp=current - 3600), [NEW_SECRET])


# Tampering


def test_a_tampered_body_is_refused() -> None:
    refusal(BODY + b" ", signed(), [NEW_SECRET])
    refusal(BODY.replace(b"p-1", b"p-2"), signed(), [NEW_SECRET])


def test_a_re_serialised_body_is_refused() -> None:
    # The body must be the bytes received: json.dumps(json.loads(body)) differs.
    refusal(BODY.replace(b":", b": "), signed(), [NEW_SECRET])


def test_a_tampered_id_is_refused() -> None:
    headers = signed()
    headers[ID_HEADER] = "msg_2"
    refusal(BODY, headers, [NEW_SECRET])


def test_a_tampered_timestamp_is_refused() -> None:
    headers = signed()
    headers[TIMESTAMP_HEADER] = str(NOW + 1)
    refusal(BODY, headers, [NEW_SECRET])


# Missing and garbage headers


@pytest.mark.parametrize("missing", [ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER])
def test_each_missing_header_is_refused(missing: str) -> None:
    headers = signed()
    del headers[missing]
    message = refusal(BODY, headers, [NEW_SECRET])
    assert message == ("The webhook-id, webhook-timestamp or webhook-signature header is missing.")
    headers[missing] = ""
    assert refusal(BODY, headers, [NEW_SECRET]) == message
    headers[missing] = "   "
    refusal(BODY, headers, [NEW_SECRET])


@pytest.mark.parametrize(
    "timestamp",
    [
        "hello",
        "1700000000.0",
        "1.7e9",
        "-1700000000",
        "+1700000000",
        "1_700_000_000",
        "0x6553f100",
        "\u0661\u0667\u0660\u0660",  # Arabic-Indic digits, which int() takes
        "1" * 21,
        "9" * 5000,
        "1700000000 1700000000",
    ],
)
def test_a_timestamp_that_is_not_whole_seconds_is_refused(timestamp: str) -> None:
    headers = signed()
    headers[TIMESTAMP_HEADER] = timestamp
    message = refusal(BODY, headers, [NEW_SECRET])
    assert message in {
        "The webhook-timestamp header is not a whole number of seconds.",
        "The webhook-id, webhook-timestamp or webhook-signature header is too long.",
    }


@pytest.mark.parametrize(
    "signature",
    ["v1,!!!!", "v1,", "v1", ",", "v1,g0hM9SsE", "v1,é", "\x00", "v1,AAAA v1,=", "garbage"],
)
def test_a_signature_that_is_not_base64_is_refused(signature: str) -> None:
    headers = signed()
    headers[SIGNATURE_HEADER] = signature
    refusal(BODY, headers, [NEW_SECRET])


@pytest.mark.parametrize("name", [ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER])
def test_a_huge_header_is_refused(name: str) -> None:
    headers = signed()
    headers[name] = headers[name] + " " + "A" * 5000
    message = refusal(BODY, headers, [NEW_SECRET])
    assert message != "No webhook-signature matches any of WEBHOOK_SECRETS."


def test_a_thousand_signatures_are_refused_even_with_the_genuine_one() -> None:
    headers = signed()
    genuine = headers[SIGNATURE_HEADER]
    headers[SIGNATURE_HEADER] = " ".join([genuine] + [VECTOR_DECOYS[0]] * 999)
    message = refusal(BODY, headers, [NEW_SECRET])
    assert message == "The webhook-id, webhook-timestamp or webhook-signature header is too long."


@pytest.mark.parametrize(
    "msg_id", ["msg\x00", "msg\n1", "msg\r", "\x7fmsg", "msg\u200b", "msgé", "m" * 256]
)
def test_an_unprintable_or_long_id_is_refused_even_when_signed(msg_id: str) -> None:
    headers = signed(msg_id=msg_id)
    message = refusal(BODY, headers, [NEW_SECRET])
    assert message == (
        "The webhook-id header is too long or holds characters that cannot be printed."
    )


def test_a_long_printable_id_is_accepted() -> None:
    msg_id = string.printable[:95] + "x" * 160
    assert len(msg_id) == 255
    assert verify(BODY, signed(msg_id=msg_id), [NEW_SECRET], now=NOW) == msg_id


def test_an_empty_body_can_be_signed() -> None:
    assert verify(b"", signed(body=b""), [NEW_SECRET], now=NOW) == "msg_1"


# Header names


def test_header_names_are_read_in_any_case() -> None:
    headers = {name.upper(): value for name, value in signed().items()}
    assert verify(BODY, headers, [NEW_SECRET], now=NOW) == "msg_1"
    headers = {name.title(): value for name, value in signed().items()}
    assert verify(BODY, headers, [NEW_SECRET], now=NOW) == "msg_1"


def test_djangos_request_headers_are_read() -> None:
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in signed().items()}
    headers = HttpHeaders(meta)
    assert verify(BODY, headers, [NEW_SECRET], now=NOW) == "msg_1"


# Secrets


def test_decode_secret_with_and_without_prefix() -> None:
    key = base64.b64decode(VECTOR_BARE_SECRET)
    assert decode_secret(VECTOR_SECRET) == key
    assert decode_secret(VECTOR_BARE_SECRET) == key
    assert decode_secret(OLD_SECRET) == b"the old secret, 24 bytes"


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "whsec_",
        "not base64!",
        "whsec_not base64!",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",  # a character short: bad padding
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-w",  # URL-safe alphabet
        "whsec_é",
        "whsec_whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ],
)
def test_decode_secret_refuses_what_is_not_standard_base64(secret: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the contract is just ValueError
        decode_secret(secret)


@pytest.mark.parametrize("secret", [VECTOR_SECRET, VECTOR_BARE_SECRET, f" {NEW_SECRET} "])
def test_secret_problem_accepts_a_usable_secret(secret: str) -> None:
    assert secret_problem(secret, name="WEBHOOK_SECRETS[1]") == ""


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        (None, "WEBHOOK_SECRETS[1] must be a string"),
        (b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "WEBHOOK_SECRETS[1] must be a string"),
        (12345, "WEBHOOK_SECRETS[1] must be a string"),
        ("", "WEBHOOK_SECRETS[1] is empty"),
        ("  ", "WEBHOOK_SECRETS[1] is empty"),
        ("whsec_s3cr3t-value!", "WEBHOOK_SECRETS[1] is not base64"),
        ("whsec_", "WEBHOOK_SECRETS[1] is empty"),
    ],
)
def test_secret_problem_names_the_option_not_the_secret(secret: object, expected: str) -> None:
    problem = secret_problem(secret, name="WEBHOOK_SECRETS[1]")
    assert problem.startswith(expected)
    if isinstance(secret, str) and secret.strip().removeprefix("whsec_"):
        assert secret.strip() not in problem
        assert secret.strip().removeprefix("whsec_") not in problem


def test_secret_problem_names_the_first_secret_by_default() -> None:
    assert secret_problem("!").startswith("WEBHOOK_SECRETS[0] ")


# Messages


def forgeries() -> list[tuple[bytes, dict[str, str], list[str]]]:
    good = signed()
    cases: list[tuple[bytes, dict[str, str], list[str]]] = [
        (BODY + b"x", good, [NEW_SECRET]),
        (BODY, {**good, ID_HEADER: "msg_9"}, [NEW_SECRET]),
        (BODY, {**good, TIMESTAMP_HEADER: str(NOW - 1)}, [NEW_SECRET]),
        (BODY, {**good, TIMESTAMP_HEADER: "x"}, [NEW_SECRET]),
        (BODY, signed(timestamp=NOW - 3600), [NEW_SECRET]),
        (BODY, {**good, SIGNATURE_HEADER: "v1a,xyz"}, [NEW_SECRET]),
        (BODY, {ID_HEADER: "msg_1"}, [NEW_SECRET]),
        (BODY, good, [OLD_SECRET]),
        (BODY, good, ["not base64"]),
        (BODY, {**good, ID_HEADER: "\x00"}, [NEW_SECRET]),
        (BODY, {**good, SIGNATURE_HEADER: "v1," + "A" * 5000}, [NEW_SECRET]),
    ]
    return cases


def test_no_message_contains_a_secret_or_the_expected_signature() -> None:
    expected = signed()[SIGNATURE_HEADER].removeprefix("v1,")
    forbidden = [
        NEW_SECRET,
        NEW_SECRET.removeprefix("whsec_"),
        OLD_SECRET.removeprefix("whsec_"),
        expected,
        expected[:16],
        sign(OLD_SECRET, "msg_1", NOW, BODY).removeprefix("v1,")[:16],
        decode_secret(NEW_SECRET).decode(),
        decode_secret(NEW_SECRET).hex()[:16],
    ]
    messages = {refusal(body, headers, secrets) for body, headers, secrets in forgeries()}
    assert len(messages) >= 7, messages
    for message in messages:
        for secret in forbidden:
            assert secret not in message


# Generated deliveries


def random_text(rng: random.Random, alphabet: str, longest: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, longest)))


def random_case(rng: random.Random, name: str) -> str:
    return "".join(ch.upper() if rng.random() < 0.5 else ch for ch in name)


def mutations(rng: random.Random) -> list[Callable[[bytes, dict[str, str]], bytes]]:
    def flip_body(body: bytes, headers: dict[str, str]) -> bytes:
        if not body:
            return b"\x00"
        index = rng.randrange(len(body))
        return body[:index] + bytes([body[index] ^ (1 << rng.randrange(8))]) + body[index + 1 :]

    def other_id(body: bytes, headers: dict[str, str]) -> bytes:
        headers[ID_HEADER] += rng.choice(string.ascii_letters)
        return body

    def other_time(body: bytes, headers: dict[str, str]) -> bytes:
        headers[TIMESTAMP_HEADER] = str(int(headers[TIMESTAMP_HEADER]) + rng.choice([-2, -1, 1, 2]))
        return body

    def other_secret(body: bytes, headers: dict[str, str]) -> bytes:
        key = "whsec_" + base64.b64encode(rng.randbytes(24)).decode()
        headers[SIGNATURE_HEADER] = sign(key, headers[ID_HEADER], headers[TIMESTAMP_HEADER], body)
        return body

    def random_signature(body: bytes, headers: dict[str, str]) -> bytes:
        headers[SIGNATURE_HEADER] = "v1," + base64.b64encode(rng.randbytes(32)).decode()
        return body

    def garbage_header(body: bytes, headers: dict[str, str]) -> bytes:
        name = rng.choice([ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER])
        headers[name] = rng.randbytes(rng.randint(0, 6000)).decode("latin-1")
        return body

    def drop_header(body: bytes, headers: dict[str, str]) -> bytes:
        del headers[rng.choice([ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER])]
        return body

    return [
        flip_body,
        other_id,
        other_time,
        other_secret,
        random_signature,
        garbage_header,
        drop_header,
    ]


def test_generated_deliveries_verify_and_forgeries_only_ever_raise_the_refusal() -> None:
    rng = random.Random(20240601)
    id_alphabet = string.ascii_letters + string.digits + "_-:."
    changes = mutations(rng)
    for _case in range(400):
        body = rng.randbytes(rng.randint(0, 2000))
        msg_id = random_text(rng, id_alphabet, 64)
        timestamp = NOW + rng.randint(-DEFAULT_TOLERANCE_SECONDS, DEFAULT_TOLERANCE_SECONDS)
        secrets = [OLD_SECRET, NEW_SECRET]
        headers = signed(rng.choice(secrets), msg_id, timestamp, body)
        cased = {random_case(rng, name): value for name, value in headers.items()}
        assert verify(body, cased, secrets, now=NOW) == msg_id

        forged_headers = dict(headers)
        forged_body = rng.choice(changes)(body, forged_headers)
        cased = {random_case(rng, name): value for name, value in forged_headers.items()}
        with pytest.raises(WebhookAuthenticationError):
            verify(forged_body, cased, secrets, now=NOW)
