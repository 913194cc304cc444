"""The second factor's rules (domain.totp): RFC 6238 codes, the replay refusal, recovery
codes, and who must have a factor."""
import base64
from datetime import UTC, datetime, timedelta

import pyotp

from accounts.domain import totp

NOW = datetime(2026, 3, 2, 12, 0, 10, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def app_code(at: datetime, secret: str = SECRET) -> str:
    """What an authenticator app shows at ``at``."""
    return pyotp.TOTP(secret).at(at)


def test_rfc_6238_vector() -> None:
    # RFC 6238 appendix B, SHA-1, T = 59 s, 8 digits truncated to our 6
    rfc_secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp.code_at(rfc_secret, 59 // 30) == "287082"


def test_the_current_code_and_its_neighbours_match_with_their_step() -> None:
    step = totp.time_step(NOW)
    assert totp.matching_step(SECRET, app_code(NOW), NOW, None) == step
    assert totp.matching_step(SECRET, app_code(NOW - timedelta(seconds=30)), NOW, None) == step - 1
    assert totp.matching_step(SECRET, app_code(NOW + timedelta(seconds=30)), NOW, None) == step + 1
    assert totp.matching_step(SECRET, app_code(NOW - timedelta(seconds=60)), NOW, None) is None
    assert totp.matching_step(SECRET, app_code(NOW + timedelta(seconds=60)), NOW, None) is None


def test_a_used_step_and_every_older_one_are_refused() -> None:
    step = totp.time_step(NOW)
    code = app_code(NOW)
    assert totp.matching_step(SECRET, code, NOW, step) is None  # replay inside the window
    assert totp.matching_step(SECRET, code, NOW + timedelta(seconds=20), step) is None
    older = app_code(NOW - timedelta(seconds=30))
    assert totp.matching_step(SECRET, older, NOW, step) is None
    newer = app_code(NOW + timedelta(seconds=30))
    assert totp.matching_step(SECRET, newer, NOW, step) == step + 1


def test_malformed_and_wrong_codes_do_not_match() -> None:
    good = app_code(NOW)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    for code in (wrong, "", "12345", "1234567", "abcdef", None, 123456, "١٢٣٤٥٦"):
        assert totp.matching_step(SECRET, code, NOW, None) is None
    assert totp.matching_step(SECRET, f"{good[:3]} {good[3:]}", NOW, None) is not None
    assert totp.matching_step("KRUGKIDROVUWG2ZAMJZG653OEBTG66BA", good, NOW, None) is None


def test_secrets_are_random_base32_and_the_uri_names_the_issuer() -> None:
    first, second = totp.new_secret(), totp.new_secret()
    assert first != second and len(first) == 32
    uri = totp.provisioning_uri(first, "staff@suivi.test")
    assert uri.startswith("otpauth://totp/Suivi:staff%40suivi.test?")
    assert f"secret={first}" in uri and "issuer=Suivi" in uri


def test_recovery_codes_are_distinct_and_read_back_whatever_the_typing() -> None:
    codes = totp.new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    for code in codes:
        assert totp.normalise_recovery_code(code) == code
        assert totp.normalise_recovery_code(code.upper().replace("-", " ")) == code
    assert totp.normalise_recovery_code("123456") is None
    assert totp.normalise_recovery_code("abcde-fghi0") is None  # 0 is not in the alphabet
    assert totp.normalise_recovery_code(None) is None


def test_staff_and_compliance_need_a_factor_admins_and_users_may_have_one() -> None:
    assert totp.enrolment_required("staff", False, False)
    assert totp.enrolment_required("compliance", False, False)
    assert not totp.enrolment_required("staff", True, False)
    assert not totp.enrolment_required("admin", False, False)
    assert not totp.enrolment_required("user", False, False)
    assert not totp.enrolment_required("staff", False, True)


def test_only_the_dev_bootstrap_staff_is_exempt_and_only_in_dev() -> None:
    boot = "staff@suivi.test"
    assert totp.exemption("staff", "dev", boot, boot) == "dev bootstrap"
    assert totp.exemption("staff", "test", boot, boot) is None
    assert totp.exemption("staff", "", boot, boot) is None  # production
    assert totp.exemption("staff", "prod", boot, boot) is None
    assert totp.exemption("staff", "dev", "other@suivi.test", boot) is None
    assert totp.exemption("compliance", "dev", "c@suivi.test", None) is None
    assert totp.exemption("user", "dev", boot, boot) is None
