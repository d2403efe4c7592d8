"""`/auth`: OTP and password login, registration, signup, password reset, first admin."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import AfterValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from interfaces.http.deps import AppContainer
from interfaces.http.envelope import ERROR_RESPONSES, Envelope, ok
from interfaces.http.fields import Body, Currency, Email, FullName, Mobile, StrongPassword, rule
from interfaces.http.money import AmountNumber, ExactJsonRoute

router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES, route_class=ExactJsonRoute)

OtpCode = Annotated[
    str,
    rule(lambda v: v != "", "OTP is required"),
    rule(lambda v: len(v) == 6, "OTP must be 6 digits"),
    rule(lambda v: v.isdigit(), "OTP must contain only numbers"),
]
AnyRole = Literal["Client", "Consultant", "Admin", "Employee"]


def _role_message(message: str, allowed: tuple[str, ...]) -> Any:
    def check(value: Any) -> Any:
        if value is not None and value not in allowed:
            raise PydanticCustomError("any_of", message)
        return value

    return field_validator("role", mode="before")(check)


def _category_ref(value: Any) -> Any:
    """A category title or id (at most 100 characters), or an object whose `name`/`title` is: the
    name is kept in a 200-character read-model column, so a longer one would jam the projection."""
    named = [value] if isinstance(value, str) else [value.get(key) for key in ("name", "title")]
    if any(isinstance(name, str) and len(name) > 100 for name in named):
        raise PydanticCustomError("too_long", "category names must be at most 100 characters")
    return value


CategoryRef = Annotated[str | dict[str, Any], AfterValidator(_category_ref)]


class SendOtpBody(Body):
    mobile: Mobile


class VerifyOtpBody(Body):
    nullable = frozenset({"role"})
    mobile: Mobile
    otp: OtpCode
    role: str | None = None
    _role = _role_message(
        "Role must be Client, Consultant, Admin, or Employee", ("Client", "Consultant", "Admin", "Employee")
    )


class LoginBody(Body):
    nullable = frozenset({"role"})
    email: Email
    password: Annotated[str, rule(lambda v: v != "", "Password is required")]
    role: str | None = None


class CategoryEntry(Body):
    nullable = frozenset({"categoryName", "subcategoryId", "subcategoryName"})
    categoryId: (
        Annotated[str, Field(max_length=100), rule(lambda v: v != "", '"categoryId" is not allowed to be empty')] | None
    ) = None
    categoryName: Annotated[str, Field(max_length=100)] | None = None
    subcategoryId: Annotated[str, Field(max_length=100)] | None = None
    subcategoryName: Annotated[str, Field(max_length=100)] | None = None


class RegistrationFields(Body):
    # the handler drops nulls (`exclude_none`): null means "not given" on the optional fields
    nullable = frozenset({"category", "subcategory", "categories", "currency", "password", "fees"})
    fullName: FullName
    email: Email
    role: str
    category: CategoryRef | None = None
    subcategory: CategoryRef | None = None
    categories: list[CategoryEntry] | None = None
    fees: AmountNumber | None = None
    currency: Currency | None = None
    password: Annotated[str, rule(lambda v: len(v) >= 6, "Password must be at least 6 characters long")] | None = None
    _role = _role_message("Role must be either Client or Consultant", ("Client", "Consultant"))


class RegisterBody(RegistrationFields):
    registrationToken: Annotated[str, rule(lambda v: v != "", '"registrationToken" is not allowed to be empty')]


class SignupBody(RegistrationFields):
    mobile: Mobile


class ForgotPasswordBody(Body):
    nullable = frozenset({"role"})
    email: Email
    role: AnyRole | None = None


class ResetPasswordBody(Body):
    password: StrongPassword


class CreateAdminBody(Body):
    fullName: Annotated[FullName, rule(lambda v: len(v.strip()) >= 2, "Full name must be at least 2 characters long")]
    email: Email
    password: StrongPassword
    mobile: Annotated[str, rule(lambda v: v.isdigit() and 10 <= len(v) <= 15, "Mobile must be 10-15 digits")]


def _registration(body: RegistrationFields) -> dict[str, Any]:
    data = body.model_dump(exclude_none=True)
    if body.fees is not None and float(body.fees).is_integer():
        data["fees"] = int(body.fees)
    return data


@router.post("/send-otp", response_model=Envelope[dict[str, str]])
def send_otp(body: SendOtpBody, app: AppContainer) -> Any:
    code = app.identity.send_otp(body.mobile)
    data = {"otp": code} if app.settings.otp_echo_enabled else None
    return ok("OTP sent successfully", data)


@router.post("/verify-otp", response_model=Envelope[dict[str, Any]])
def verify_otp(body: VerifyOtpBody, app: AppContainer) -> Any:
    data = app.identity.verify_otp(body.mobile, body.otp, body.role)
    message = "OTP verified. Please complete registration." if data["isNewUser"] else "Login successful"
    return ok(message, data)


@router.post("/login", response_model=Envelope[dict[str, Any]])
def login(body: LoginBody, app: AppContainer) -> Any:
    return ok("Login successful", app.identity.login(body.email, body.password, body.role))


@router.post("/register", status_code=201, response_model=Envelope[dict[str, Any]])
def register(body: RegisterBody, app: AppContainer) -> Any:
    data = app.identity.register(body.registrationToken, _registration(body))
    return ok("User created successfully", data, 201)


@router.post("/signup", status_code=201, response_model=Envelope[dict[str, Any]])
def signup(body: SignupBody, app: AppContainer) -> Any:
    return ok("User created successfully", app.identity.signup(_registration(body)), 201)


@router.post("/forgot-password", response_model=Envelope[None])
def forgot_password(body: ForgotPasswordBody, app: AppContainer) -> Any:
    app.identity.forgot_password(body.email, body.role)
    return ok("If an account exists with that email, you will receive a reset link.")


@router.put("/reset-password/{resettoken}", response_model=Envelope[dict[str, str]])
def reset_password(resettoken: Annotated[str, Path(max_length=200)], body: ResetPasswordBody, app: AppContainer) -> Any:
    token = app.identity.reset_password(resettoken, body.password)
    return ok("Password updated", {"token": token})


@router.post("/create-admin", status_code=201, response_model=Envelope[dict[str, str]])
def create_admin(body: CreateAdminBody, app: AppContainer) -> Any:
    data = app.identity.create_first_admin(body.fullName, body.email, body.password, body.mobile)
    return ok("Admin created successfully", data, 201)
