"""Schemas of the accounts area: auth, profile, terms, networks, subscriptions, payments."""
from marshmallow import Schema, fields, validate

from gateway.schemas.common import DeletedOut, Email, PageQuery, PaymentSummaryOut, Text

NAME = validate.Length(min=1, max=100)
COUNTRY = validate.Regexp(r"^[A-Za-z]{2}$", error="Expected an ISO 3166 alpha-2 code")


class LoginIn(Schema):
    email = Email(required=True)
    password = Text(required=True, validate=validate.Length(min=1, max=256))


class UserRef(Schema):
    id = Text()
    role = Text()
    network_id = Text(allow_none=True)


class LoginOut(Schema):
    """A token answer, or, for an account with a second factor, ``mfa_required`` and the
    challenge to send with a code to ``/api/auth/login/mfa``."""
    token = Text()
    expires_at = Text()
    user = fields.Nested(UserRef)
    mfa_required = fields.Boolean()
    challenge = Text()
    #: a staff or compliance account without a factor: it may only enrol one
    mfa_enrolment_required = fields.Boolean()
    #: why an account that needs a factor goes without (dev only: "dev bootstrap")
    mfa_exempt = Text()


class LoginMfaIn(Schema):
    challenge = Text(required=True, validate=validate.Length(min=10, max=200))
    code = Text(required=True, validate=validate.Length(min=1, max=40))


class TotpEnrolmentOut(Schema):
    secret = Text()
    otpauth_uri = Text()
    qr_svg = Text()


class TotpConfirmIn(Schema):
    code = Text(required=True, validate=validate.Length(min=1, max=40))


class TotpConfirmOut(Schema):
    active = fields.Boolean()
    confirmed_at = Text()
    recovery_codes = fields.List(Text())


class TotpRemoveIn(Schema):
    """What removing one's own factor asks again: the password and a code of the factor."""
    current_password = Text(required=True, validate=validate.Length(min=1, max=256))
    code = Text(required=True, validate=validate.Length(min=1, max=40))


class TotpRemovedOut(Schema):
    active = fields.Boolean()
    removed_at = Text()


class RecoveryCodesIn(Schema):
    code = Text(required=True, validate=validate.Length(min=1, max=40))


class RecoveryCodesOut(Schema):
    recovery_codes = fields.List(Text())
    generated_at = Text()


class SetPasswordIn(Schema):
    token = Text(required=True, validate=validate.Length(min=10, max=200))
    password = Text(required=True, validate=validate.Length(min=1, max=256))


class PasswordResetIn(Schema):
    email = Email(required=True)


class AddressIn(Schema):
    line1 = Text(validate=validate.Length(max=200))
    line2 = Text(allow_none=True, validate=validate.Length(max=200))
    postal_code = Text(validate=validate.Length(max=20))
    city = Text(validate=validate.Length(max=100))
    country = Text(validate=COUNTRY)


class TermsStatus(Schema):
    current_version = Text(allow_none=True)
    accepted = fields.Bool()


class Privacy(Schema):
    admin_access = fields.Bool(required=True)


class MeOut(Schema):
    id = Text()
    email = Text()
    first_name = Text(allow_none=True)
    last_name = Text(allow_none=True)
    phone = Text(allow_none=True)
    address = fields.Dict(allow_none=True)
    role = Text()
    network_id = Text(allow_none=True)
    terms = fields.Nested(TermsStatus)
    subscription = fields.Dict(allow_none=True)
    privacy = fields.Nested(Privacy)
    mfa = fields.Dict(metadata={"description": "{active}: whether a second factor is active"})
    contract_concluded_at = Text(allow_none=True)
    access_level = fields.Dict(allow_none=True)


class MePatchIn(Schema):
    first_name = Text(validate=NAME)
    last_name = Text(validate=NAME)
    phone = Text(allow_none=True, validate=validate.Length(max=40))
    address = fields.Nested(AddressIn, allow_none=True)
    email = Email()
    current_password = Text(validate=validate.Length(max=256))


class TermsOut(Schema):
    version = Text()
    text = Text()
    published_at = Text()


class TermsAcceptIn(Schema):
    version = Text(required=True, validate=validate.Length(min=1, max=50))


class TermsAcceptOut(Schema):
    version = Text()
    accepted_at = Text()


class TermsPublishIn(Schema):
    version = Text(required=True, validate=validate.Length(min=1, max=50))
    text = Text(required=True, multiline=True, validate=validate.Length(min=1, max=500_000))


class PersonIn(Schema):
    email = Email(required=True)
    first_name = Text(required=True, validate=NAME)
    last_name = Text(required=True, validate=NAME)


class MemberOut(Schema):
    id = Text()
    email = Text()
    first_name = Text(allow_none=True)
    last_name = Text(allow_none=True)
    role = Text()
    status = Text()
    invited_at = Text(allow_none=True)
    contract_concluded_at = Text(allow_none=True)
    access_level_id = Text(allow_none=True)
    subscription_active = fields.Bool()


class NetworkCreateIn(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=120))
    admin = fields.Nested(PersonIn, required=True)


class NetworkCreatedOut(Schema):
    id = Text()
    name = Text()
    admin = fields.Nested(MemberOut)


class NetworkOut(Schema):
    id = Text()
    name = Text()
    announcement = Text(allow_none=True)
    open_countries = fields.List(Text())


class NetworkSettingsIn(Schema):
    open_countries = fields.List(Text(validate=COUNTRY), validate=validate.Length(max=250))
    announcement = Text(allow_none=True, multiline=True, validate=validate.Length(max=5000))


class AccessLevelIn(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=80))
    permissions = fields.List(Text(validate=validate.Length(max=80)), required=True)


class AccessLevelOut(Schema):
    id = Text()
    name = Text()
    permissions = fields.List(Text())
    is_default = fields.Bool()


class AccessLevelDeleteQuery(Schema):
    replacement_id = Text(validate=validate.Length(max=80))


class AccessLevelDeletedOut(DeletedOut):
    members_moved = fields.Int()
    replacement_id = Text(allow_none=True)


class AccessLevelAssignIn(Schema):
    access_level_id = Text(required=True, allow_none=True)


class PaymentOut(PaymentSummaryOut):
    order_type = Text()
    order_id = Text()
    user_id = Text()
    created_at = Text()
    validated_at = Text(allow_none=True)
    refund_status = Text(allow_none=True)
    refund_amount_cents = fields.Int(allow_none=True)
    refunded_at = Text(allow_none=True)
    refund_reference = Text(allow_none=True)


class RefundMadeIn(Schema):
    reference = Text(required=True, validate=validate.Length(min=1, max=100))


class SubscriptionIn(Schema):
    period = Text(required=True, validate=validate.OneOf(["monthly", "quarterly", "annual"]))
    payment_method = Text(required=True, validate=validate.Length(min=1, max=30))
    # the office kinds it covers (issue 13 §1), each at its price; absent: construction
    kind = Text(load_default="construction",
                validate=validate.OneOf(["distribution", "construction", "both"]))


class SubscriptionOut(Schema):
    id = Text()
    status = Text()
    period = Text()
    kind = Text(metadata={"enum": ["distribution", "construction", "both"]})
    amount_cents = fields.Int()
    starts_on = Text(allow_none=True)
    ends_on = Text(allow_none=True)
    created_at = Text()
    payment = fields.Nested(PaymentOut, allow_none=True)


class PaymentsQuery(PageQuery):
    # "refunded": the payments whose money was given back (as refund_status=refunded)
    status = Text(validate=validate.OneOf(["pending", "validated", "failed", "cancelled",
                                           "refunded"]))
    refund_status = Text(validate=validate.OneOf(["due", "refunded"]))


class StaffUserIn(Schema):
    email = Email(required=True)
    password = Text(required=True, validate=validate.Length(min=1, max=256))
    role = Text(required=True, validate=validate.OneOf(["staff", "compliance"]))


class StaffUserOut(Schema):
    id = Text()
    email = Text()
    role = Text()


class UserSearchQuery(Schema):
    q = Text(required=True, validate=validate.Length(min=1, max=320),
             metadata={"description": "An exact email (no partial match: emails are stored "
                                      "encrypted) or an account id"})


class UserFoundOut(Schema):
    id = Text()
    role = Text()
    network_id = Text(allow_none=True)
    status = Text()
    email = Text()
    first_name = Text(allow_none=True)
    last_name = Text(allow_none=True)
    created_at = Text()
    status_changed_at = Text(allow_none=True)


class TermsQuery(Schema):
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))


class TermsVersionOut(Schema):
    version = Text()
    published_at = Text()
    characters = fields.Int()
    current = fields.Bool()


class UserStatusOut(Schema):
    id = Text()
    status = Text()


class FactorResetIn(Schema):
    """The acting staff member's own proofs, asked again (``domain.factor_reset``)."""
    current_password = Text(required=True, validate=validate.Length(min=1, max=256))
    code = Text(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))


class FactorResetOut(Schema):
    user_id = Text()
    reset_at = Text()
    revoked_sessions = fields.Int()
    enrolment_required = fields.Bool()


class NetworkSummaryOut(Schema):
    id = Text()
    name = Text()
    open_countries = fields.List(Text())
    created_at = Text()
    members = fields.Int()


class WithdrawOut(Schema):
    id = Text()
    status = Text()
    refund_status = Text(allow_none=True)


class MemberOfficeOut(Schema):
    member = fields.Nested(MemberOut)
    phone = Text(allow_none=True)
    address = fields.Dict(allow_none=True)
    subscription = fields.Dict(allow_none=True)
