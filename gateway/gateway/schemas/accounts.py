"""Schemas of the accounts area: auth, profile, terms, networks, subscriptions, payments."""
from marshmallow import Schema, fields, validate

NAME = validate.Length(min=1, max=100)
COUNTRY = validate.Regexp(r"^[A-Za-z]{2}$", error="Expected an ISO 3166 alpha-2 code")


class LoginIn(Schema):
    email = fields.Email(required=True)
    password = fields.Str(required=True, validate=validate.Length(min=1, max=256))


class UserRef(Schema):
    id = fields.Str()
    role = fields.Str()
    network_id = fields.Str(allow_none=True)


class LoginOut(Schema):
    token = fields.Str()
    expires_at = fields.Str()
    user = fields.Nested(UserRef)


class SetPasswordIn(Schema):
    token = fields.Str(required=True, validate=validate.Length(min=10, max=200))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=256))


class PasswordResetIn(Schema):
    email = fields.Email(required=True)


class AddressIn(Schema):
    line1 = fields.Str(validate=validate.Length(max=200))
    line2 = fields.Str(allow_none=True, validate=validate.Length(max=200))
    postal_code = fields.Str(validate=validate.Length(max=20))
    city = fields.Str(validate=validate.Length(max=100))
    country = fields.Str(validate=COUNTRY)


class TermsStatus(Schema):
    current_version = fields.Str(allow_none=True)
    accepted = fields.Bool()


class Privacy(Schema):
    admin_access = fields.Bool(required=True)


class MeOut(Schema):
    id = fields.Str()
    email = fields.Str()
    first_name = fields.Str(allow_none=True)
    last_name = fields.Str(allow_none=True)
    phone = fields.Str(allow_none=True)
    address = fields.Dict(allow_none=True)
    role = fields.Str()
    network_id = fields.Str(allow_none=True)
    terms = fields.Nested(TermsStatus)
    subscription = fields.Dict(allow_none=True)
    privacy = fields.Nested(Privacy)
    contract_concluded_at = fields.Str(allow_none=True)
    access_level = fields.Dict(allow_none=True)


class MePatchIn(Schema):
    first_name = fields.Str(validate=NAME)
    last_name = fields.Str(validate=NAME)
    phone = fields.Str(allow_none=True, validate=validate.Length(max=40))
    address = fields.Nested(AddressIn, allow_none=True)
    email = fields.Email()
    current_password = fields.Str(validate=validate.Length(max=256))


class TermsOut(Schema):
    version = fields.Str()
    text = fields.Str()
    published_at = fields.Str()


class TermsAcceptIn(Schema):
    version = fields.Str(required=True, validate=validate.Length(min=1, max=50))


class TermsAcceptOut(Schema):
    version = fields.Str()
    accepted_at = fields.Str()


class TermsPublishIn(Schema):
    version = fields.Str(required=True, validate=validate.Length(min=1, max=50))
    text = fields.Str(required=True, validate=validate.Length(min=1, max=500_000))


class PersonIn(Schema):
    email = fields.Email(required=True)
    first_name = fields.Str(required=True, validate=NAME)
    last_name = fields.Str(required=True, validate=NAME)


class MemberOut(Schema):
    id = fields.Str()
    email = fields.Str()
    first_name = fields.Str(allow_none=True)
    last_name = fields.Str(allow_none=True)
    role = fields.Str()
    status = fields.Str()
    invited_at = fields.Str(allow_none=True)
    contract_concluded_at = fields.Str(allow_none=True)
    access_level_id = fields.Str(allow_none=True)
    subscription_active = fields.Bool()


class NetworkCreateIn(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    admin = fields.Nested(PersonIn, required=True)


class NetworkCreatedOut(Schema):
    id = fields.Str()
    name = fields.Str()
    admin = fields.Nested(MemberOut)


class NetworkOut(Schema):
    id = fields.Str()
    name = fields.Str()
    announcement = fields.Str(allow_none=True)
    open_countries = fields.List(fields.Str())


class NetworkSettingsIn(Schema):
    open_countries = fields.List(fields.Str(validate=COUNTRY), validate=validate.Length(max=250))
    announcement = fields.Str(allow_none=True, validate=validate.Length(max=5000))


class AccessLevelIn(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=80))
    permissions = fields.List(fields.Str(validate=validate.Length(max=80)), required=True)


class AccessLevelOut(Schema):
    id = fields.Str()
    name = fields.Str()
    permissions = fields.List(fields.Str())


class AccessLevelAssignIn(Schema):
    access_level_id = fields.Str(required=True, allow_none=True)


class PaymentOut(Schema):
    id = fields.Str()
    method = fields.Str()
    status = fields.Str()
    amount_cents = fields.Int()
    redirect_url = fields.Str(allow_none=True)
    order_type = fields.Str()
    order_id = fields.Str()
    user_id = fields.Str()
    created_at = fields.Str()
    validated_at = fields.Str(allow_none=True)
    refund_status = fields.Str(allow_none=True)


class SubscriptionIn(Schema):
    period = fields.Str(required=True, validate=validate.OneOf(["monthly", "quarterly", "annual"]))
    payment_method = fields.Str(required=True, validate=validate.Length(min=1, max=30))


class SubscriptionOut(Schema):
    id = fields.Str()
    status = fields.Str()
    period = fields.Str()
    amount_cents = fields.Int()
    starts_on = fields.Str(allow_none=True)
    ends_on = fields.Str(allow_none=True)
    created_at = fields.Str()
    payment = fields.Nested(PaymentOut, allow_none=True)


class PaymentsQuery(Schema):
    status = fields.Str(validate=validate.OneOf(["pending", "validated", "failed", "refunded"]))
    cursor = fields.Str(validate=validate.Length(max=200))
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=500))


class StaffUserIn(Schema):
    email = fields.Email(required=True)
    password = fields.Str(required=True, validate=validate.Length(min=1, max=256))
    role = fields.Str(required=True, validate=validate.OneOf(["staff", "compliance"]))


class StaffUserOut(Schema):
    id = fields.Str()
    email = fields.Str()
    role = fields.Str()


class UserStatusOut(Schema):
    id = fields.Str()
    status = fields.Str()


class NetworkSummaryOut(Schema):
    id = fields.Str()
    name = fields.Str()
    open_countries = fields.List(fields.Str())
    created_at = fields.Str()
    members = fields.Int()


class WithdrawOut(Schema):
    id = fields.Str()
    status = fields.Str()
    refund_status = fields.Str(allow_none=True)


class MemberOfficeOut(Schema):
    member = fields.Nested(MemberOut)
    phone = fields.Str(allow_none=True)
    address = fields.Dict(allow_none=True)
    subscription = fields.Dict(allow_none=True)
